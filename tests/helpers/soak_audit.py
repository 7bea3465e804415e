"""The soak's last word: nothing lost. Every commit applied everywhere, refused everywhere, or halted and rolled back
(by the hub's rollout history, which must stay true after the fleet moved on), and every report an agent
delivered stored by the hub, no more and no fewer.
"""

from __future__ import annotations

import time
from typing import Any

from tests.helpers.soak_hub import outbox_count, results_by_revision, stored_reports
from tests.helpers.soak_run import OK_RESULTS, Soak

DRAIN_SECONDS = 180.0


def commits_accounted(soak: Soak) -> list[str]:
    """Each commit's fate, from the hub's API and its stored reports, against what the soak expected of it."""
    assert soak.hub is not None
    problems = []
    spokes = set(soak.spokes)
    for c in soak.commits:
        view = soak.hub_view().rollout(c.revision)
        ran = {s for s, results in results_by_revision(soak.hub.db, c.revision).items() if results & set(OK_RESULTS)}
        if c.outcome != c.expect:
            problems.append(f"{c.revision[:12]} ({c.step}): expected {c.expect}, it was {c.outcome or 'not seen'}")
        elif c.expect == "applied" and not set(view["applied"]) >= spokes:
            problems.append(
                f"{c.revision[:12]} ({c.step}): the hub's history says applied by "
                f"{sorted(view['applied'])}, not all {len(spokes)} (failed: {view['failed']})"
            )
        elif c.expect == "refused" and ran:
            problems.append(f"{c.revision[:12]} ({c.step}): refused, yet reported as run by {sorted(ran)}")
        elif c.expect == "rolled-back":
            back = {r["spoke"] for r in view["rollbacks"]}
            mains = ran - set(soak.canaries)
            if mains or not back or not back <= set(soak.canaries):
                problems.append(
                    f"{c.revision[:12]} ({c.step}): rolled back on {sorted(back)}, run by main-wave "
                    f"spokes {sorted(mains)}"
                )
    return problems


def reports_accounted(soak: Soak) -> tuple[dict[str, Any], list[str]]:
    """Stops the agents once their outboxes are empty, then compares each agent's delivered count with the hub's
    rows for its spoke."""
    assert soak.hub is not None
    end = time.monotonic() + DRAIN_SECONDS
    while any(outbox_count(a.outbox).pending for a in soak.agents.values()) and time.monotonic() < end:
        time.sleep(1)
    for agent in soak.agents.values():  # all at once: each finishes its current pass first
        agent.send()
    for agent in soak.agents.values():
        agent.stop()
    stored = stored_reports(soak.hub.db)
    per: dict[str, dict[str, int]] = {}
    problems = []
    for spoke, agent in soak.agents.items():
        count = outbox_count(agent.outbox)
        per[spoke] = {
            "put": count.put,
            "delivered": count.delivered,
            "pending": count.pending,
            "refusedByHub": count.refused,
            "stored": stored.get(spoke, 0),
        }
        if count.delivered != stored.get(spoke, 0):
            problems.append(
                f"{spoke}: the agent delivered {count.delivered} report(s), the hub stored {stored.get(spoke, 0)}"
            )
        if count.refused:
            problems.append(f"{spoke}: the hub refused {count.refused} report(s)")
    total = {k: sum(p[k] for p in per.values()) for k in ("put", "delivered", "pending", "refusedByHub", "stored")}
    return {"total": total, "perSpoke": per}, problems
