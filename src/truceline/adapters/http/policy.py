"""Object-level authorization: which finding, observation and dispute each principal may see.

One place decides, so every endpoint (JSON and OGC) applies the same rules:

========== =========================================================================
analyst    everything, exact
party      findings about its own party, and published ones; its own submissions;
           the evidence of findings it may see (redacted; a party's declaration only
           through a finding about that party: :func:`observation_visible`); its own disputes
guarantor  findings on provisions it guarantees, and published ones; their evidence
           (redacted); disputes about findings on provisions it guarantees (those of
           other published findings as the public sees them)
monitor    its own submissions (exact); published findings (redacted)
public     published findings (redacted)
========== =========================================================================

Incidents (``/incidents``, the OGC ``incidents`` collection): analysts see every incident,
exact; everyone else only the incidents behind findings they may see (a finding's
``incident_id``), redacted like those findings. The public thus sees the incidents of published
findings only, never attribution probabilities of anything unpublished.

Record entries (``/record/proof/inclusion``): the proof and the entry in committed form are for
everyone; which committed fields a key may open (``/record/openings``) is
:mod:`truceline.adapters.http.disclosure`'s rule. An entry stored in plaintext by an older
version comes only to whoever may see its content exactly (:func:`entry_readable`).

Coverage (``/coverage``): everyone gets the shares and gaps; only analysts and monitors get the
mission's assets (ids and positions of posts, patrols, cameras and sensors) and windows other
than whole reporting periods that have ended (finer ones would trace the monitors' patrols).

An object a principal may not see is reported as not found, so its existence does not leak.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from truceline.adapters.http.auth import Principal, Role
from truceline.core.agreements import Agreement
from truceline.core.findings import Finding
from truceline.core.observations import Observation
from truceline.core.taxonomy import Kind


def sees_exact(who: Principal) -> bool:
    """Only the mission's analysts see identities and exact positions of everything."""
    return who.role is Role.ANALYST


def sees_assets(who: Principal) -> bool:
    """The mission's own monitoring assets (ids, positions, hours) are for its monitors and
    analysts; everyone else gets coverage as shares and gaps along the line."""
    return who.role in (Role.ANALYST, Role.MONITOR)


def guarantees(agreement: Agreement, guarantor: str | None, provision_id: str) -> bool:
    return any(g.id == guarantor for g in agreement.guarantors_of(provision_id))


def finding_visible(who: Principal, f: Finding, agreement: Agreement,
                    published: frozenset[str]) -> bool:
    if who.role is Role.ANALYST or f.id in published:
        return True
    if who.role is Role.PARTY:
        return f.party is not None and f.party == who.bound
    if who.role is Role.GUARANTOR:
        return guarantees(agreement, who.bound, f.provision_id)
    return False


def visible_findings(who: Principal, findings: Iterable[Finding], agreement: Agreement,
                     published: frozenset[str]) -> list[Finding]:
    return [f for f in findings if finding_visible(who, f, agreement, published)]


def own_submission(who: Principal, source_id: str) -> bool:
    """A monitor's or a party's own submission (its key is bound to the source id)."""
    return who.role in (Role.MONITOR, Role.PARTY) and who.bound == source_id


def observation_visible(who: Principal, source_id: str, obs_id: str,
                        seen: Iterable[Finding] = (), declarer: str | None = None) -> bool:
    """Its source and analysts see an observation; a party or a guarantor the evidence of the
    findings it may see (``seen``), but a declaration (``declarer``: the party whose
    declaration it is) only through a finding about that party.

    A declaration is a party's statement of its own holdings. Another party's "declaration
    not provided" finding cites it only to show that the round took place, which its
    explanation says; through it the late party would read the figures the other declared
    (and may have withheld from it, as the United States did from Russia in 2023).
    """
    if who.role is Role.ANALYST or own_submission(who, source_id):
        return True
    return who.role in (Role.PARTY, Role.GUARANTOR) and any(
        obs_id in f.evidence and declarer in (None, f.party) for f in seen)


def declarer(o: Observation) -> str | None:
    """The party whose declaration ``o`` is (None: not a declaration)."""
    return o.party if o.kind is Kind.DECLARATION else None


def dispute_visible(who: Principal, dispute: dict[str, Any], guaranteed: frozenset[str]) -> bool:
    """Whether ``who`` reads a dispute in full: analysts; its party; a guarantor of its
    finding's provision. ``guaranteed``: :func:`guaranteed_ids` (not every finding the
    guarantor may see: a published one's disputes it reads as the public does)."""
    if who.role is Role.ANALYST:
        return True
    if who.role is Role.PARTY:
        return bool(dispute.get("party") == who.bound)
    fid = dispute.get("finding_id")
    return who.role is Role.GUARANTOR and isinstance(fid, str) and fid in guaranteed


def guaranteed_ids(who: Principal, findings: Iterable[Finding], agreement: Agreement
                   ) -> frozenset[str]:
    """Ids of the findings on provisions a guarantor guarantees (none for other roles)."""
    if who.role is not Role.GUARANTOR:
        return frozenset()
    return frozenset(f.id for f in findings if guarantees(agreement, who.bound, f.provision_id))


def incidents_behind(seen: Iterable[Finding]) -> frozenset[str]:
    """Ids of the incidents behind these findings (the findings a principal may see)."""
    return frozenset(f.incident_id for f in seen if f.incident_id)


def entry_readable(who: Principal, entry_type: str, body: dict[str, Any],
                   guaranteed: Callable[[], frozenset[str]]) -> bool:
    """Whether ``who`` may read a record entry's bytes (its exact, unredacted content).

    ``guaranteed`` gives :func:`guaranteed_ids` (called only when needed).
    The agreement's commitment is public; an observation is its submitter's; a dispute and
    its steps (status changes about it, which name its party and finding) are read by
    whoever may see the dispute; a key registration by its owner; findings (exact
    locations and fusion details) and status changes (who published) by analysts only, like
    every entry of a type not named here.
    """
    if who.role is Role.ANALYST or entry_type == "agreement_version":
        return True
    if entry_type == "observation":
        return own_submission(who, str(body.get("source_id")))
    if entry_type == "key_registration":
        return own_submission(who, str(body.get("owner")))
    steps = entry_type == "status_change" and body.get("subject") == "dispute"
    if (entry_type == "dispute" or steps) and who.role in (Role.PARTY, Role.GUARANTOR):
        return dispute_visible(who, body, guaranteed())
    return False


def notification_visible(who: Principal, n: dict[str, Any]) -> bool:
    """A guarantee notification (docs/guarantees.md): analysts all; a guarantor or a party
    those it is a recipient of; no one else. The recipients are the clause's ``notify`` (or
    ``escalate_to``), which the agreement names: a guarantor named there reads over the API
    what its webhook delivers, even on a provision it does not guarantee."""
    if who.role not in (Role.GUARANTOR, Role.PARTY):
        return who.role is Role.ANALYST
    return who.bound is not None and who.bound in n.get("recipients", ())


#: Force plans (``/plan``, issue 16) name where every post, camera and array would stand:
#: the mission's analysts only.
PLANNERS: tuple[Role, ...] = (Role.ANALYST,)
