"""Check: run fusion (when available) and evaluate every provision; store the findings.

Only findings that are new or changed are appended to the record, and an ``incident`` entry
only when the incident set changed, so re-running a check on the same data adds nothing, and
the record shows every change of a finding's status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from truceline.core.disputes import apply_outcomes, upheld_outcomes
from truceline.core.evidence import gather
from truceline.core.findings import Finding
from truceline.core.fusion import FusionParams, fuse_columns
from truceline.core.fusion.day_state import DayState
from truceline.core.incidents import Incident
from truceline.core.observations import Observation
from truceline.core.rules import ByDay, check
from truceline.errors import StoreError
from truceline.services.check_days import (
    days_input,
    fingerprint,
    fuse_days,
    per_day,
    reporting_days,
    write_days,
)
from truceline.services.check_output import (
    WRITE_CHUNK,
    CheckResult,
    derive_coverage,
    finding_rows,
    incident_bytes,
    incident_entries,
    withdrawn_entry,
)
from truceline.services.check_read import CheckInput, list_input, store_input
from truceline.services.check_rules import (
    RULES_META,
    by_owner,
    keep_rules,
    kept_rules,
    owners,
    rules_fingerprint,
)
from truceline.services.context import (
    AgreementContext,
    keep_compiled,
    load_context,
    pack_compiled,
)
from truceline.services.kept_digest import stored_kept_digest
from truceline.services.memory import collecting, give_back
from truceline.services.ports import CHECKED_META, FUSION_DAYS_META, Store
from truceline.services.sources import store_source_estimates
from truceline.services.verify_rows import IncidentsDigest

if TYPE_CHECKING:
    from truceline.services.check_parts import Parts


def derive_incidents(ctx: AgreementContext, observations: list[Observation]) -> list[Incident]:
    """The incidents the checks run on: fire reports fused into one incident per real event.

    Fusion groups, locates (with a 95 % ellipse) and attributes; a report it cannot group or
    locate stays a singleton (located if the source gave a location, else unlocated but
    counted once). A resubmitted copy (:mod:`truceline.core.resubmissions`) is left out, so
    whoever fuses a set of observations (check, report, a rebuilt mirror) counts it once.
    """
    return _fuse(ctx, list_input(observations))[0]


def derive_incidents_and_sources(ctx: AgreementContext, observations: list[Observation]
                                 ) -> tuple[list[Incident], list[dict[str, Any]]]:
    """:func:`derive_incidents` and the per-source estimates of the same fusion (what a
    rebuilt mirror stores, as the check that recorded them did)."""
    return _fuse(ctx, list_input(observations))


def _fuse(ctx: AgreementContext, inp: CheckInput, params: FusionParams | None = None
          ) -> tuple[list[Incident], list[dict[str, Any]]]:
    with collecting():  # fusion's reference cycles hold arrays: not left to the end
        return fuse_columns(inp.fire, ctx.geometry, [p.id for p in ctx.agreement.parties],
                            inp.fire_reports, params=reporting_days(params or FusionParams(), ctx),
                            fused=give_back,
                            settle=give_back)


def derive_findings(
    ctx: AgreementContext, observations: list[Observation],
    upheld: Mapping[str, dict[str, Any]] | None = None,
) -> tuple[list[Incident], list[Finding]]:
    """Pure derivation from an agreement and observations: what replay re-runs and compares.

    A resubmitted copy (:mod:`truceline.core.resubmissions`) is counted once: the copies are
    left out here, by a rule of the observations alone, so a replay leaves out the same.
    ``upheld``: the upheld disputes' outcomes by finding id
    (:func:`~truceline.core.disputes.upheld_outcomes`), applied after the rules.
    """
    incidents, findings, _ = _derive(ctx, list_input(observations), upheld or {})
    return incidents, findings


def _derive(ctx: AgreementContext, inp: CheckInput, upheld: Mapping[str, dict[str, Any]],
            params: FusionParams | None = None
            ) -> tuple[list[Incident], list[Finding], list[dict[str, Any]]]:
    """:func:`derive_findings` of a read input (:mod:`~truceline.services.check_read`), and
    what the shared events say about each source
    (:func:`~truceline.core.fusion.fuse_with_sources`)."""
    incidents, sources = _fuse(ctx, inp, params)
    return incidents, _rules(ctx, inp, incidents, upheld), sources


def _rules(ctx: AgreementContext, inp: CheckInput, incidents: list[Incident],
           upheld: Mapping[str, dict[str, Any]], by_day: ByDay | None = None
           ) -> list[Finding]:
    """Every provision's findings from the incidents and ``inp``'s other observations, the
    incidents taken in order of id: an incremental check holds the kept and new ones by id,
    a full one and a replay in fusion's order, and a finding's text lists them in the order
    given (a compliance finding's open findings: tests/record_service/test_check_race.py).
    ``by_day``: the incidents judged are its groups' (:class:`~truceline.core.rules.ByDay`)."""
    inp.fire = {}  # fusion's alone (the rules read ``reported``): ~0.15 GB at 907k reports
    give_back()  # the incidents' making
    incidents = sorted(incidents, key=lambda i: i.id)
    ev = gather(ctx.geometry, inp.others, incidents,
                derive_coverage(ctx, inp.others, inp.as_of), inp.reported)
    return apply_outcomes(check(ctx.agreement, ctx.geometry, ev, by_day), upheld)


def run_check(store: Store, params: FusionParams | None = None, *,
              part_days: int | None = None) -> CheckResult:
    """Derive the incidents and findings from the stored observations and store them, with
    the entries of what changed, in one transaction.

    ``params``: fusion's (default: :class:`~truceline.core.fusion.FusionParams`'). Where
    they make fusion a function of each day and the days before it
    (:func:`~truceline.services.check_days.per_day`) and the agreement has a geography,
    only the days new reports touch are fused again (:mod:`~truceline.services.check_days`);
    the result is the one a check of every day gives.

    Each incident's and finding's record is encoded once (canonical JSON): the same bytes
    are the row's text, the incident set's digest and the finding's entry (whose fields the
    store commits without parsing it again:
    :class:`~truceline.core.record.canonical.PreparedEntry`); they are encoded and written
    :data:`WRITE_CHUNK` at a time, inside the one transaction.

    Where every day is fused and ``part_days`` is given, it is fused, judged and written
    that many days at a time (:mod:`~truceline.services.check_parts`; 0: all at once; by
    default a day at a time where the store holds
    :data:`~truceline.services.check_parts.PARTS_FROM` counted fire reports or more, all at
    once below). Parts of any size give the check at once's result (docs/partitions.md);
    on the 907k month a day at a time peaks at 0.99 GB, all at once at 1.67 GB."""
    # (large blocks are not mapped apart: each of fusion's arrays then faulted its pages in
    # anew, +11.6 s of system time on the 907k store for 54 MB of peak; BENCHMARKS.md)
    version = store.agreement_version()
    ctx = load_context(store, version=version)
    packed = pack_compiled(ctx)  # before any use: what compiling gives (record verify's)
    give_back()  # what compiling freed (~0.15 GB on march2025), before the read

    def read() -> None:  # the read done and its pages given back: far under fusion's peak
        keep_compiled(store, ctx, packed)  # for the reports after the check
        give_back()  # the geometry's pickle and the read's pages, texts and copies

    return _run(store, ctx, version, params, part_days, read)


def _run(store: Store, ctx: AgreementContext, version: int | None,
         params: FusionParams | None, part_days: int | None, read: Callable[[], None]
         ) -> CheckResult:
    """:func:`run_check` of ``ctx``, the store's agreement (``version``); ``read``: called
    once the store is read (keeps the compiled geometry, gives the read's pages back)."""
    upheld = upheld_outcomes(b for d in store.disputes() for b in d.get("history", []))
    if per_day(fp := reporting_days(params or FusionParams(), ctx)) and ctx.geometry is not None:
        checked = store.get_meta(CHECKED_META)  # before the kept states are read
        inp, kept = days_input(store, ctx, fp)
        read()  # 907k month: ~0.14 GB of the read's pages were held through part 0
        parts = _parts(inp, fp, part_days) if not kept else None
        if parts is not None:
            from truceline.services.check_parts import check_by_parts
            res = check_by_parts(store, ctx, inp, upheld, fp, version, checked, parts)
        else:
            res = _check_days(store, ctx, inp, upheld, fp, version, kept, checked)
        # None: another check stored its results meanwhile; this one's kept states are stale
        return res if res is not None else run_check(store, params, part_days=part_days)
    inp = store_input(store)
    read()  # the pages read, their text and columns
    n = inp.read
    incidents, findings, sources = _derive(ctx, inp, upheld, params)
    del inp  # the columns and facts of every report; writing needs only the count
    give_back()  # the rules' evidence
    with store.atomic():
        recorded = _write_incidents(store, incidents, n, sources, version)
        changed, stored = _write_findings(store, findings)
        store_source_estimates(store, sources)
        store.set_meta(CHECKED_META, str(n))
        if store.get_meta(FUSION_DAYS_META) is not None:  # another fusion made these
            store.delete_meta(FUSION_DAYS_META)
            store.put_fusion_days(None, [])
        if store.get_meta(RULES_META) is not None:
            store.delete_meta(RULES_META)
    return CheckResult(findings, len(incidents), changed + len(recorded), stored=stored,
                       judged=len(incidents))


def _parts(inp: CheckInput, params: FusionParams, size: int | None,
           large: int | None = None) -> Parts | None:
    """The parts a check fusing every day fuses, judges and writes in, ``size`` days each
    (:func:`~truceline.services.check_parts.parts_of`; None: :data:`PART_DAYS` where
    ``inp`` holds ``large`` counted fire reports or more, default
    :data:`~truceline.services.check_parts.PARTS_FROM`); None: all at once (``size`` 0, a
    smaller store by default, or the days make one part)."""
    from truceline.services.check_parts import PART_DAYS, PARTS_FROM, parts_of

    large = PARTS_FROM if large is None else large

    if size is None:  # by default: parts where the store is large, all at once below
        size = PART_DAYS if len(inp.fire["id"]) >= large else 0
    if size < 1:
        return None
    parts = parts_of(inp, params, size)
    return parts if len(parts.parts) > 1 else None


def _check_days(store: Store, ctx: AgreementContext, inp: CheckInput,
                upheld: Mapping[str, dict[str, Any]], params: FusionParams,
                version: int | None, kept: dict[int, DayState], checked: str | None
                ) -> CheckResult | None:
    """:func:`run_check` fusing only the days new reports touch
    (:func:`~truceline.services.check_days.fuse_days`) and judging only their incidents
    where the last check's rules are kept (:mod:`~truceline.services.check_rules`).
    ``checked``: meta ``checked_observations`` before ``kept`` was read. None (nothing
    written): another check committed since then (two plain checks at once, a POST /check
    and a scheduled one): what this one derived is relative to states no longer kept, and
    its writes would meet the other's incidents as "already stored"."""
    made = rules_fingerprint(fingerprint(params, ctx), inp.others, upheld)
    rules = kept_rules(store, made, checked) if kept else None  # read with the states
    if rules is not None:  # only the fused days judged: the kept days' facts are not read
        inp.kept_facts = None
    days = fuse_days(store, ctx, inp, params, incident_bytes, kept, parse=rules is None)
    if not days.trusted:  # the kept days' stored incidents were edited: carry none of them
        del days
        inp, kept, rules = store_input(store), {}, None
        made = rules_fingerprint(fingerprint(params, ctx), inp.others, upheld)
        days = fuse_days(store, ctx, inp, params, incident_bytes, kept)
    read = inp.read
    before = {d: st for d, st in kept.items() if days.start is None or d < days.start}
    # the kept days' owners only where their incidents are judged too (none kept by the rules)
    owner = owners([*([] if days.every or rules is not None else before.values()),
                    *days.states])
    groups = by_owner(days.incidents, owner)
    if rules is not None and groups is None:  # not an assert: -O would judge new ones alone
        raise StoreError("an incident fused again has no owning day, so the kept rules "
                         "cannot be combined with it; nothing was written", field="fusion_days")
    by_day = None if groups is None else ByDay(
        groups, rules.before(days.start) if rules is not None else {})
    inp.read_kept_facts()  # every incident judged: the reports' facts before the read too
    findings = _rules(ctx, inp, days.incidents, upheld, by_day)
    del inp
    give_back()
    scope = rules.judged_again(days.start) if rules is not None else None
    # an incident fused again alike gives its findings as stored: not encoded nor written
    alike = {f.id for f in findings if f.incident_id in days.same} if scope is not None \
        else set()
    with store.atomic():  # the store's one writer from here (SQLite: BEGIN IMMEDIATE)
        if store.get_meta(CHECKED_META) != checked:
            return None
        n, digest = write_days(store, days, incident_bytes, read, WRITE_CHUNK)
        keep_rules(store, made, read, by_day, findings, owner, rules, days.start,
                   [*before, *(s.day for s in days.states)])
        store_source_estimates(store, days.sources)  # kept too: before the digest
        # what is kept, as written, bound to the entry: the next check trusts only that
        recorded = incident_entries(store, n, digest, read, days.sources, version,
                                    stored_kept_digest(store))
        store.append_entries(recorded)
        changed, stored = _write_findings(
            store, [f for f in findings if f.id not in alike], scope, alike)
        store.set_meta(CHECKED_META, str(read))
    return CheckResult(findings, n, changed + len(recorded),
                       None if days.every else days.fused_days, complete=scope is None,
                       stored=stored, judged=len(days.incidents))


def _write_incidents(store: Store, incidents: list[Incident], read: int,
                     sources: list[dict[str, Any]], version: int | None
                     ) -> list[tuple[str, bytes]]:
    """Replace the stored incidents, a chunk at a time in id order (the order the set's
    digest hashes them in, as they are encoded), then append the set's entry if it changed."""
    order = sorted(range(len(incidents)), key=lambda k: str(incidents[k].id))
    store.replace_incidents([])
    digest = IncidentsDigest()
    for at in range(0, len(order), WRITE_CHUNK):
        part = [incidents[k] for k in order[at : at + WRITE_CHUNK]]
        encoded = [incident_bytes(i) for i in part]
        digest.update(encoded)
        store.add_incidents(part, [b.decode("utf-8") for b in encoded])
    recorded = incident_entries(store, len(incidents), digest.hexdigest(), read, sources,
                                version)
    store.append_entries(recorded)
    return recorded


def _write_findings(store: Store, findings: list[Finding], scope: set[str] | None = None,
                    alike: set[str] | frozenset[str] = frozenset()) -> tuple[int, int]:
    """Store the findings a chunk at a time, each chunk with the entries of the findings in
    it that are new or changed, then withdraw those no longer found; how many entries, and
    how many findings are stored. ``scope``: the stored findings ``findings`` would give
    again (None: every stored finding); the others stay as stored. ``alike``: the ids of
    findings given again as stored (not in ``findings``, not withdrawn)."""
    have = store.finding_ids()
    ids = {f.id for f in findings} | alike
    gone = (have if scope is None else have & scope) - ids
    n = 0
    for at in range(0, len(findings), WRITE_CHUNK):
        part = findings[at : at + WRITE_CHUNK]
        prepared, texts, due, put = finding_rows(store, part)
        entries: list[tuple[str, bytes]] = [
            ("finding", p) for p, d in zip(prepared, due, strict=True) if d]
        if put or entries:
            store.put_findings([part[k] for k in put], entries, [texts[k] for k in put])
        n += len(entries)
    withdrawn = [("status_change", withdrawn_entry(fid)) for fid in sorted(gone)]
    store.drop_findings(sorted(gone))
    store.append_entries(withdrawn)
    return n + len(withdrawn), len((have - gone) | ids)
