"""Whether a spoke's wave may take a revision: a pure decision over what the hub knows.

Every agent decides for itself, from the hub's view of the fleet and the rollout rules of the revision it wants to
apply: all earlier waves must have applied the revision, be healthy, and have baked; more failures than a wave
allows halt the rollout for every later wave. A paused rollout, or a wave that needs approval and has none, waits.
An urgent revision skips bake times, never failure limits. A newer revision starts its own rollout, which is how
a fix-forward gets past a halted one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from razee.fleet.model import Wave, parse_duration

OK_RESULTS = ("applied", "in-sync", "healed", "drifted")
BAD_RESULTS = ("failed", "rejected")


@dataclass(frozen=True)
class SpokeRollout:
    """One spoke as the hub reports it."""

    spoke: str
    wave: str
    revision: str
    result: str
    applied_at: float | None  # when the spoke first applied its current revision
    unhealthy: int  # objects not healthy yet (rolling out): wait for them
    degraded: int = 0  # objects failed or stuck (a rollout past its deadline, a failed Job): a failure
    tried: bool = False  # it reported this revision at least once (applied, failed or rejected)
    tried_result: str = ""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    halted: bool = False


def allowed_failures(wave: Wave, size: int) -> int:
    limit = wave.max_failures
    if isinstance(limit, str):  # a share such as "10%"
        return math.floor(size * int(limit.rstrip("%")) / 100)
    return int(limit)


def decide(revision: str, wave: str, waves: Sequence[Wave], spokes: Sequence[SpokeRollout], now: float,
           paused: bool = False, approved: frozenset[str] = frozenset(), urgent: bool = False) -> Decision:
    names = [w.name for w in waves]
    if wave not in names:
        return Decision(False, f"wave {wave} is not in the rollout of {revision[:12]}")
    if paused:
        return Decision(False, "the rollout is paused")
    for earlier in waves[:names.index(wave)]:
        members = [s for s in spokes if s.wave == earlier.name]
        failed = [s.spoke for s in members if _failed(s, revision)]
        limit = allowed_failures(earlier, len(members))
        if len(failed) > limit:
            return Decision(False, f"halted: wave {earlier.name} has {len(failed)} failed spoke(s) "
                                   f"({', '.join(sorted(failed))}); it allows {limit}", halted=True)
        waiting = [s.spoke for s in members if not _done(s, revision) and s.spoke not in failed]
        if waiting:
            return Decision(False, f"wave {earlier.name}: {len(waiting)} of {len(members)} spoke(s) have not applied "
                                   f"{revision[:12]} or are not healthy yet")
        if not urgent:
            bake = parse_duration(earlier.bake_time)
            applied = [s.applied_at for s in members if _done(s, revision) and s.applied_at is not None]
            if applied and now - max(applied) < bake:
                left = bake - (now - max(applied))
                return Decision(False, f"wave {earlier.name} is baking: {left:.0f}s left of {earlier.bake_time}")
    current = waves[names.index(wave)]
    if current.require_approval and wave not in approved:
        return Decision(False, f"wave {wave} needs approval for {revision[:12]} (razee rollout approve {wave})")
    return Decision(True, "earlier waves applied it, are healthy and have baked")


def _done(s: SpokeRollout, revision: str) -> bool:
    return s.revision == revision and s.result in OK_RESULTS and s.unhealthy == 0


def _failed(s: SpokeRollout, revision: str) -> bool:
    if s.revision == revision and (s.result in BAD_RESULTS or s.degraded > 0):
        return True
    return s.tried and s.tried_result in BAD_RESULTS and s.revision != revision
