"""Fusion: one incident per real event, located with an uncertainty ellipse, attributed to a side.

Three columnar stages over a :class:`FireBatch` (fire reports in one projected frame):
:func:`~truceline.core.fusion.grouping.group` links the reports of one event,
:func:`~truceline.core.fusion.locate.locate` estimates every group's origin or impact with a
covariance, and :func:`~truceline.core.fusion.attribution.attribute` integrates that
uncertainty over the parties' areas of control. :func:`fuse` wraps them for
:class:`~truceline.core.observations.Observation` lists and returns
:class:`~truceline.core.incidents.Incident` values; :func:`fuse_partitioned` runs the same
stages tile by tile and period by period (with a halo), so each partition can go to a worker.

Examples
--------
>>> from datetime import UTC, datetime
>>> from truceline.core.observations import Observation
>>> def report(i, lon, brg):
...     return Observation(id=f"r{i}", kind="fire", fire_type="explosion",
...                        explosion_type="outgoing", source_id=f"post{i}",
...                        time=datetime(2025, 3, 27, 20, 15, tzinfo=UTC),
...                        observer_lon=lon, observer_lat=48.0, bearing_deg=brg,
...                        bearing_sd_deg=2.0)
>>> [inc] = fuse([report(1, 37.9, 45.0), report(2, 38.1, 315.0)], None, ())
>>> inc.evidence, round(inc.origin.lat, 2), round(inc.origin.lon, 2)
(('r1', 'r2'), 48.07, 38.0)
"""

from truceline.core.fusion.attribution import AttributionParams
from truceline.core.fusion.batch import (
    FireBatch,
    GroupingParams,
    batch_from_observations,
    join_columns,
    report_columns,
)
from truceline.core.fusion.calibration import CalibrationParams, SourceCalibration
from truceline.core.fusion.heard import HeardParams
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import CHI2_95_2DOF, LocateParams
from truceline.core.fusion.partition import fuse_partitioned, partitions
from truceline.core.fusion.pipeline import FusionParams, FusionResult, fuse_batch
from truceline.core.fusion.pipeline import _locate_attribute as _locate_attribute  # bench
from truceline.core.fusion.to_incidents import (
    fuse,
    fuse_columns,
    fuse_with_sources,
    incidents_from,
    source_records,
)

#: The fusion code's revision: raised by every change that alters what fusion gives for the
#: same reports and parameters. It is part of the kept days' fingerprint, so a store whose
#: days older code fused fuses every day again once, rather than joining its kept days to
#: days the new code fuses (session 23: the pairs of a region and an untyped fix, ellipses
#: allowing a kept wild bearing; session 24: a group's wind and lone-bearing statistics of
#: its first report's day less ``day_stats.LAG_S``, the far side of one array's range stated
#: for three arrivals beside a bearing and for four or more, an origin one array placed
#: attributed by its region; session 25: the far mode of three arrivals whose far crossing
#: the noise carried past ``1/r = 0``, an array's region read in the group's pooled air and
#: wind, a region and an untyped fix ordered, and a launch region's cells weighed, by the
#: day's mix of weapon classes, a lone report whose gate reaches past the pair search
#: joined to the group it fits, :mod:`.far_reach`; session 26: a bearing read across its
#: ray at the range its fix is unsure of, :mod:`.wedge`; one shot's origin fixed twice
#: joined into one group, :mod:`.same_shot`; an exactly determined fix of three arrivals
#: left alone tried again as a vague group; a component too large for the compiled cut
#: cut by complete linkage from its gated edges, not in slices of ``max_component`` units
#: counted from its first, :func:`.split.split_edges`; session 27: an array's arrivals of
#: one shot's launch and burst in one group parted between its two parts, :mod:`.heard_split`;
#: a lone muzzle flash taken as the launch of a burst across the line, :mod:`.flash_launches`;
#: a lone impact's ellipse at the level that holds 95 % of its bearing's mixture,
#: :func:`.segment.mixture_sd`; a source with two samples that each show its bias flagged,
#: :attr:`.CalibrationParams.pair_z`; a lone flash whose ray crosses the line not taken as
#: the launch of a burst one bearing placed, :func:`.flash_launches.lone_burst`; an array's
#: lone group that heard the other sound of one unlinked, timed part joined to it,
#: :mod:`.heard_other`; the flashes read the arrays' launches as placed, :mod:`.arcs`;
#: session 28: an array's arrivals that fit only a part alone in its event and untimed, and
#: one arrival whose only event within hearing and window is an untimed part's, joined to
#: that event's incident at the end (no fix, ellipse or probability reads them),
#: :func:`.heard.join_untested`; undone where the arrivals could be another event's other
#: sound, :func:`.heard_other.other_sound_apart`; session 29: a report timed to the second
#: left alone tried again with a clock's minute against the arrays' fixes, :mod:`.late_clock`
#: (revision 10); an unlinked fix on one bearing and two arrivals of one array states the
#: covariance of either sound it could rest on, :mod:`.either_sound` (revision 11); session
#: 30: one arrival that heard the other sound of one unlinked, timed part joined to it,
#: :mod:`.heard_other`; one arrival that fits a timed part joined to it over parts it cannot
#: test where the timed part is 20x likelier, :attr:`.HeardParams.single_lr` (revision 12);
#: a bearing's distance band gated as a stretch of its ray (13, taken out again: grouping
#: 4x slower, 1.4x DBSCAN); one part fixed twice joined for impacts and untyped fixes too
#: (linked parts only where :attr:`.SameShotParams.linked`, off), and one event to the
#: arrivals' join, :mod:`.same_shot` (14 with the ray gate, 15 without)); session 31: a lone
#: report's fix 3-5 sd from the one sharp fix of its part joins it, and four arrivals' sharp
#: fix the one looser typed fix it agrees with, :mod:`.same_shot` (16); two parted groups of
#: one array refused only where one part would get a sensor twice, and a group parted between
#: two unlinked timed parts that could be one shot, :mod:`.heard_split` (17); session 32: a
#: linked part's fix joins the one sharp unlinked fix of its part, which takes the link (18);
#: arrivals the test places within one event only at the end (its part linked or timed after
#: the join ran) join its incident, :attr:`.HeardParams.late` (19); a split whose one side is
#: a lone arrival at an untimed part, tested by the flight, :mod:`.heard_split` (20); session
#: 33: an arrivals' fix typed by one report of the other part joins the linked part it sits
#: at, :func:`.same_shot.into_other_part` (21); an origin on neither side joins the sharper
#: origin fix its reports each fit (22); session 34: two linked pairs whose launches and
#: bursts agree are one shot's, :mod:`.same_pair` (23); a fix looser than ``max_sd_m``
#: holding a report joins the one sharp fix of its part its reports each fit,
#: :func:`.same_shot.loose_into_sharp` (24); an end join of two arrivals or more stands
#: against a part whose other sound may be the target's own event's, :mod:`.heard_other` (25);
#: such a loose fix linked to the other part hands the link to that sharp fix (26); two
#: arrays' groups that heard one part's other sound join it where they fit one point (27);
#: session 35: an unlocated group of bearings joins the one fix on its rays, :mod:`.on_ray` (28);
#: a lone bearing's fix joins the one linked part its report admits, wild tail allowed (29);
#: session 36: a vague arrival group left that fits a part of one linked pair joins it,
#: :mod:`.heard_linked` (30); a typed launch's one untyped burst linked,
#: :func:`.launch_bursts.pair_burst_to_launch` (31); a lone fix of several bearings joins the
#: one linked part its reports fit, one wild at most, :mod:`.lone_fix` (32); session 37: an
#: untyped fix on a side typed as the launch of a typed burst near the line,
#: :func:`.launch_bursts.pair_launch_to_burst` (33); a firing's group parted from another sound's
#: arrivals by its typed bearings, :mod:`.sound_split` (34); the mirror's rivals near the line
#: counted apart, :func:`.link.sides_apart` (35); an array's three arrivals or more that heard
#: a burst's launch place it, :mod:`.heard_launch` (36); an untyped fix whose burst an array
#: heard after it (and no sound before it), on a side, typed the launch, :mod:`.heard_after`
#: (37); session 38: the report's flags also by Benjamini-Hochberg at 5 % false flags over
#: the sources with three samples or more, :func:`.calibration.discoveries` (38);
#: heard_after's "before" test, no class named, by flights that do not outrun the launch's
#: sound (39); a batch whose arrivals gave no wind grouped again with the wind estimated
#: from them read as a sensor's, :func:`.wind.as_read` (40); a widened firing's group no
#: subset of whose arrivals fits located by its bearings alone, :mod:`.sound_split` (41);
#: session 39: a group of three arrivals keeps two that fit its bearings,
#: ``SoundSplitParams.small_kept`` (42); a group's ellipse scale read from the days up to
#: its first report's less ``day_stats.LAG_S``, :func:`.dispersion.stated_by_day` (43);
#: session 40: the per-source report's twin samples from crossed pairs, :mod:`.twin_samples`
#: (44); session 40, h8b: a twin sample that repeats a leave-one-out difference is left out, and
#: none is one of the pair rule's two, :func:`.twin_samples.repeated` and ``unpaired`` (45);
#: session 40, h8a: the pairings again after the end joins, on the fits' covariances,
#: :func:`.late_pairs.pair_again` (46); session 41: a lone flash and one array's arrivals
#: joined where the flash's time fits them, and such a fix grouped whole not stated for either
#: sound, :mod:`.flash_heard` (47); session 41, h9b: an untyped fix that is the only launch of
#: each of two bursts or more, and that nothing could have fired at, typed the launch,
#: unlinked, :func:`.launch_bursts.launches_of_bursts` (48); session 41, h10c: a camera whose
#: clock its flashes the arrays timed show off (at the median, beyond their windows) times
#: nothing, :func:`.flash_launches.clock_shown_off` (49); session 41: nor places a lone flash
#: on its ray by a burst's flight, :func:`.flash_launches.flash_launches` (50); session 41,
#: h10b: the launch two arrays heard (their arrivals joined one typed burst together) placed
#: by their union's region, :func:`.heard_launch.place_heard_launches` (51); session 41, h10a:
#: an arrival of a widened group that another timed part explains a flight later, taken out
#: before the ellipse is stated, :mod:`.heard_elsewhere` (52); session 42, h11b: arrivals too
#: late after another of their group's to be its launch's sound, taken out, :mod:`.sound_order`
#: (53); session 42, h11a: one array's arrivals whose fix is too loose for the link tried as a
#: launch region and a region pair, :func:`.arcs.loose_fixes` (54); session 43, h12c: an untyped
#: group mixing two arrays' sounds parted into its arrays, :mod:`.array_parts` (55); h12a: the
#: later sound also out of groups no report types, which the pairings type later (56).
FUSION_REVISION = 56

__all__ = [
    "CHI2_95_2DOF",
    "FUSION_REVISION",
    "AttributionParams",
    "CalibrationParams",
    "FireBatch",
    "FusionParams",
    "FusionResult",
    "GroupingParams",
    "HeardParams",
    "LinkParams",
    "LocateParams",
    "SourceCalibration",
    "batch_from_observations",
    "fuse",
    "fuse_batch",
    "fuse_columns",
    "fuse_partitioned",
    "fuse_with_sources",
    "incidents_from",
    "join_columns",
    "partitions",
    "report_columns",
    "source_records",
]
