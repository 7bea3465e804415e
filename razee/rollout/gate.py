"""Whether a spoke's wave may take a revision: a pure decision over what the revision declares and the hub knows.

The members of a wave are the spokes the revision itself declares in it, never the ones that happen to report:
silence is "not yet", never "done". All earlier waves must have applied the revision, be healthy, and have baked.
A wave's `progressDeadline` turns a member that has not applied and become healthy in time into a failure; more
failures than a wave allows halt the rollout for every later wave. A paused rollout, or a wave that needs approval
and has none, waits. An urgent revision skips bake times, never failure limits. A newer revision starts its own
rollout, which is how a fix-forward gets past a halted one. Every reason names the spokes it waits for.

Metric checks (docs/rollout.md): a spoke of a wave with checks is done only when every check's latest result for
the revision passed; one failed result fails the spoke for that revision for good (named with the check and its
value), and a check without a result (Prometheus unreachable, not evaluated yet) keeps it waiting, which the
progress deadline turns into a failure. A wave may start a revision only inside a maintenance window of its region
(or the fleet's), on the hub's clock; once one of its spokes in that region took it, the rest follow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from razee.fleet.model import Wave, parse_duration
from razee.fleet.windows import WindowSpec, window_reason
from razee.wire import OK_RESULTS, PassOutcome

BAD_RESULTS = (PassOutcome.FAILED, PassOutcome.REJECTED)
"""Outcomes that count against a wave's failure limit."""
NAMES_SHOWN = 8


@dataclass(frozen=True)
class SpokeRollout:
    """One spoke as the hub reports it."""

    spoke: str
    wave: str
    revision: str
    result: str
    applied_at: float | None  # when the spoke first applied its current revision (the hub's clock)
    unhealthy: int  # objects not healthy yet (rolling out): wait for them
    degraded: int = 0  # objects failed or stuck (a rollout past its deadline, a failed Job): a failure
    tried: bool = False  # it reported this revision at least once (applied, failed or rejected)
    tried_result: str = ""
    check_failed: str = ""  # a check failed for this revision (sticky): "check error-rate = 0.93 (max 0.5)"
    checks_waiting: str = ""  # applied, but a check has no passing result yet: why


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    halted: bool = False
    waiting_for: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class WaveState:
    """Where one wave of a revision stands, as the hub's rollout view shows it."""

    name: str
    members: tuple[str, ...]
    applied: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    timed_out: tuple[str, ...] = ()
    waiting: dict[str, str] = field(default_factory=dict)  # spoke -> why (never reported, not applied, not healthy)
    bake_left: float = 0.0
    why_failed: dict[str, str] = field(default_factory=dict)  # spoke -> the failed check, where one is known

    def over_limit(self, wave: Wave) -> bool:
        return len(self.failed) + len(self.timed_out) > allowed_failures(wave, len(self.members))


def allowed_failures(wave: Wave, size: int) -> int:
    limit = wave.max_failures
    if isinstance(limit, str):  # a share such as "10%"
        return math.floor(size * int(limit.rstrip("%")) / 100)
    return int(limit)


def names(spokes: Sequence[str]) -> str:
    shown = ", ".join(sorted(spokes)[:NAMES_SHOWN])
    return shown + (f" and {len(spokes) - NAMES_SHOWN} more" if len(spokes) > NAMES_SHOWN else "")


def wave_states(
    revision: str,
    waves: Sequence[Wave],
    declared: Mapping[str, str],
    spokes: Sequence[SpokeRollout],
    now: float,
    started: float | None,
    urgent: bool = False,
) -> list[WaveState]:
    """Every wave's members (as the revision declares them) and their state, in rollout order.

    `started` is when the revision became known (the hub's clock): the first wave's progress deadline counts from
    it; a later wave's counts from when the wave before it finished (applied, healthy, baked).
    """
    known = {s.spoke: _as_enforced(s) for s in spokes}
    out: list[WaveState] = []
    eligible = started
    for wave in waves:
        members = tuple(sorted(s for s, w in declared.items() if w == wave.name))
        applied, failed, waiting, why = [], [], {}, {}
        for m in members:
            s = known.get(m)
            if s is None:
                waiting[m] = "never reported"
            elif _failed(s, revision):
                failed.append(m)
                if s.check_failed:
                    why[m] = s.check_failed
            elif _done(s, revision) and wave.checks and s.checks_waiting:
                waiting[m] = s.checks_waiting
            elif _done(s, revision):
                applied.append(m)
            elif s.revision == revision and s.result in OK_RESULTS:
                waiting[m] = f"{s.unhealthy} object(s) not healthy yet"
            elif s.result == PassOutcome.WAITING:
                waiting[m] = f"held by the gate (runs {s.revision[:12] or 'nothing yet'})"
            else:
                waiting[m] = f"not applied ({s.result or 'no result'} at {s.revision[:12] or '?'})"
        timed_out: list[str] = []
        if (
            wave.progress_deadline
            and eligible is not None
            and waiting
            and now >= eligible + parse_duration(wave.progress_deadline)
        ):
            timed_out, waiting = sorted(waiting), {}
        bake = 0.0 if urgent else float(parse_duration(wave.bake_time))
        times = [known[m].applied_at or 0.0 for m in applied]
        finished = max(times) + bake if times else (eligible or now)
        if timed_out and eligible is not None and wave.progress_deadline:
            finished = max(finished, eligible + parse_duration(wave.progress_deadline))
        bake_left = max(0.0, max(times) + bake - now) if times and not waiting else 0.0
        out.append(
            WaveState(wave.name, members, tuple(applied), tuple(failed), tuple(timed_out), waiting, bake_left, why)
        )
        eligible = finished if eligible is not None or times else None
    return out


@dataclass(frozen=True)
class Windows:
    """The maintenance windows that hold a spoke's wave, and the hub's calendar clock to judge them by."""

    windows: Sequence[WindowSpec] = ()
    clock: float = 0.0
    peers: frozenset[str] | None = None
    """The spokes of the same wave and region: once one took the revision, the wave has started there."""
    label: str = ""  # the region, for the reason


def halt_decision(wave: Wave, state: WaveState) -> Decision | None:
    """The halt a wave's failures cause, naming each failed spoke and, for a failed check, the check and value."""
    if not state.over_limit(wave):
        return None
    failed = [*state.failed, *state.timed_out]
    limit = allowed_failures(wave, len(state.members))
    late = f"; no progress within {wave.progress_deadline}: {names(state.timed_out)}" if state.timed_out else ""
    checks = "".join(f"; {s}: {w}" for s, w in sorted(state.why_failed.items())[:NAMES_SHOWN])
    return Decision(
        False,
        f"halted: wave {wave.name} has {len(failed)} failed spoke(s) ({names(failed)}){checks}"
        f"{late}; it allows {limit}",
        halted=True,
        failed=tuple(sorted(failed)),
    )


def revision_halt(waves: Sequence[Wave], states: Sequence[WaveState]) -> Decision | None:
    """The first wave over its failure limit halts the revision (the last wave too: rollback needs to know)."""
    for wave, state in zip(waves, states, strict=False):
        halt = halt_decision(wave, state)
        if halt is not None:
            return halt
    return None


def decide(
    revision: str,
    wave: str,
    waves: Sequence[Wave],
    declared: Mapping[str, str],
    spokes: Sequence[SpokeRollout],
    now: float,
    paused: bool = False,
    approved: frozenset[str] = frozenset(),
    urgent: bool = False,
    started: float | None = None,
    windows: Windows | None = None,
) -> Decision:
    """May a spoke of `wave` take `revision`? `declared` maps each spoke the revision declares to its wave."""
    order = [w.name for w in waves]
    if wave not in order:
        return Decision(False, f"wave {wave} is not in the rollout of {revision[:12]}")
    if paused:
        return Decision(False, "the rollout is paused")
    states = wave_states(revision, waves, declared, spokes, now, started, urgent)
    for earlier, state in zip(waves[: order.index(wave)], states, strict=False):
        halt = halt_decision(earlier, state)
        if halt is not None:
            return halt
        if state.waiting:
            why = "; ".join(f"{s}: {r}" for s, r in sorted(state.waiting.items())[:NAMES_SHOWN])
            return Decision(
                False,
                f"wave {earlier.name}: waiting for {len(state.waiting)} of {len(state.members)} "
                f"spoke(s) to apply {revision[:12]} and be healthy ({why})",
                waiting_for=tuple(sorted(state.waiting)),
            )
        if state.bake_left > 0:
            return Decision(False, f"wave {earlier.name} is baking: {state.bake_left:.0f}s left of {earlier.bake_time}")
    current = waves[order.index(wave)]
    if current.require_approval and wave not in approved:
        return Decision(
            False,
            f"wave {wave} needs approval for {revision[:12]} (razee rollout approve --revision {revision[:12]} {wave})",
        )
    held = _window_hold(revision, wave, declared, spokes, urgent, windows)
    if held:
        return Decision(False, held)
    return Decision(True, "earlier waves applied it, are healthy and have baked")


def _window_hold(
    revision: str,
    wave: str,
    declared: Mapping[str, str],
    spokes: Sequence[SpokeRollout],
    urgent: bool,
    windows: Windows | None,
) -> str:
    """Why the wave may not start now (outside every window), or ''; urgent revisions and started waves go on."""
    if urgent or windows is None or not windows.windows:
        return ""
    peers = windows.peers if windows.peers is not None else {s for s, w in declared.items() if w == wave}
    if any(s.spoke in peers and (s.tried or s.revision == revision) for s in spokes):
        return ""
    reason = window_reason(windows.windows, windows.clock)
    where = f" in {windows.label}" if windows.label else ""
    return f"wave {wave}{where} waits for a maintenance window: {reason}" if reason else ""


def _as_enforced(s: SpokeRollout) -> SpokeRollout:
    """A spoke that refused a newer revision reports `rejected` under the revision it keeps enforcing, the last good
    one, which it applied (`applied_at`). That refusal is the newer revision's failure, not this one's: for the
    revision it enforces, the spoke is as its pass found it (counting it failed halted a good, completed revision
    whenever a bad commit arrived, and onFailure: rollback then sent the spoke back to an older one). A spoke that
    never applied anything reports `rejected` under the refused revision itself, which stays a failure."""
    if s.result == PassOutcome.REJECTED and s.applied_at is not None:
        return replace(s, result=PassOutcome.IN_SYNC)
    return s


def _done(s: SpokeRollout, revision: str) -> bool:
    return s.revision == revision and s.result in OK_RESULTS and s.unhealthy == 0


def _failed(s: SpokeRollout, revision: str) -> bool:
    if s.check_failed:
        return True
    if s.revision == revision and (s.result in BAD_RESULTS or s.degraded > 0):
        return True
    return s.tried and s.tried_result in BAD_RESULTS and s.revision != revision
