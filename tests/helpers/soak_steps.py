"""The soak's steps: each makes a change a fleet sees in real life, and checks its effect on the clusters and in
the hub. A step is a function of the running Soak; STEPS names them in the order the long form runs them.
"""

from __future__ import annotations

import importlib.util
import subprocess
import time
from collections.abc import Callable
from typing import Any

from tests.helpers.soak_fleet import Commit
from tests.helpers.soak_hub import results_by_revision, spokes_with_result
from tests.helpers.soak_run import BAD_ERROR_RATE, GOOD_ERROR_RATE, OK_RESULTS, Soak, SoakFailure

INTRUDER = "templates/spoke/soak-intruder.yaml.j2"
INTRUDER_TEMPLATE = """\
{# A commit the policy gate must refuse: cluster-admin for a group the fleet does not allow it. #}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: soak-intruders-cluster-admin
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
  - {kind: Group, name: soak-intruders, apiGroup: rbac.authorization.k8s.io}
"""
NEW_CLUSTER_SPOKE = "jp-tok-spoke-2"


def revert_intruder(soak: Soak) -> None:
    """A commit after a refused one carries the fix: the offending template is gone."""
    (soak.fleet.root / INTRUDER).unlink(missing_ok=True)


def template_change(soak: Soak) -> Commit:
    """A change to a template every spoke renders (a new key in armada-spoke-info)."""
    n = soak.fleet.marker + 1
    soak.fleet.edit_text(
        "templates/spoke/armada-config.yaml.j2",
        lambda t: (
            "\n".join(line for line in t.splitlines() if "ARMADA_SOAK_REVISION" not in line)
            + f'\n  ARMADA_SOAK_REVISION: "template change {n}"\n'
        ),
    )
    revert_intruder(soak)
    commit = soak.commit("template", "template change: armada-spoke-info gains ARMADA_SOAK_REVISION")
    soak.converge(commit)
    return commit


def values_for_region(soak: Soak) -> Commit:
    """A values change for one region (eu-gb's log level): its spokes change, no other spoke does."""
    level = "warn" if soak.fleet.marker % 2 else "error"

    def change(region: dict[str, Any]) -> None:
        region.setdefault("values", {})["logLevel"] = level

    soak.fleet.edit_yaml("environments/regions/eu-gb.yaml", change)
    revert_intruder(soak)
    commit = soak.commit("values", f"values: eu-gb logs at {level}")
    soak.converge(commit)
    gb = [s for s in soak.spokes if s.startswith("eu-gb-")]
    for spoke, cluster in soak.clusters.items():
        got = (cluster.get("/api/v1/namespaces/armada/configmaps/armada-spoke-info") or {}).get("data", {})
        level_there = got.get("ARMADA_LOG_LEVEL")
        if (spoke in gb) != (level_there == level):
            raise SoakFailure(f"{spoke}: ARMADA_LOG_LEVEL is {level_there!r} after eu-gb's change to {level!r}")
    return commit


def clusters_added_and_removed(soak: Soak) -> Commit:
    """A customer cluster added (on jp-tok-spoke-2) and one removed (from eu-gb): its master namespace appears on
    its spoke, the removed one's is pruned everywhere."""
    name = f"soak-c{soak.fleet.marker + 1}"
    removed: list[str] = []

    def add(region: dict[str, Any]) -> None:
        gone = [c["name"] for c in region["clusters"] if c["name"].startswith("soak-c")]
        removed.extend(gone)
        region["clusters"] = [c for c in region["clusters"] if c["name"] not in gone]
        region["clusters"].append(
            {
                "name": name,
                "spoke": NEW_CLUSTER_SPOKE,
                "workerPools": [
                    {"name": "default", "flavor": "b3c.4x16", "sizePerZone": 1, "zones": [region["zones"][0]]}
                ],
            }
        )

    def remove(region: dict[str, Any]) -> None:
        removed.extend(c["name"] for c in region["clusters"] if c["name"] == "hsbc-risk")
        region["clusters"] = [c for c in region["clusters"] if c["name"] != "hsbc-risk"]

    soak.fleet.edit_yaml("environments/regions/jp-tok.yaml", add)
    soak.fleet.edit_yaml("environments/regions/eu-gb.yaml", remove)
    revert_intruder(soak)
    commit = soak.commit("clusters", f"clusters: {name} added on {NEW_CLUSTER_SPOKE}; removed {removed or 'none'}")
    soak.converge(commit)
    if soak.clusters[NEW_CLUSTER_SPOKE].get(f"/api/v1/namespaces/master-{name}") is None:
        raise SoakFailure(f"{NEW_CLUSTER_SPOKE}: the new cluster's namespace master-{name} is missing")
    for spoke, cluster in soak.clusters.items():
        for gone in removed:
            if cluster.get(f"/api/v1/namespaces/master-{gone}") is not None:
                raise SoakFailure(f"{spoke}: namespace master-{gone} of a removed cluster is still there")
    return commit


def sources_available() -> bool:
    return importlib.util.find_spec("razee.sources.expand") is not None


def chart_bump(soak: Soak) -> Commit | None:
    """A chart version bump (a HelmChart source): waits for the sources work to be merged."""
    if not sources_available():
        soak.say("  chart version bump: not available: sources not merged")
        return None
    raise SoakFailure("chart version bump: razee.sources.expand exists; write this step")  # the lead enables it


def kustomization_change(soak: Soak) -> Commit | None:
    """A change to a Kustomization source's overlay: waits for the sources work to be merged."""
    if not sources_available():
        soak.say("  kustomization change: not available: sources not merged")
        return None
    raise SoakFailure("kustomization change: razee.sources.expand exists; write this step")


def bad_commit(soak: Soak) -> Commit:
    """A commit the policy gate refuses: every agent rejects it, and every cluster keeps the revision before."""
    before = soak.commits[-1]
    (soak.fleet.root / INTRUDER).write_text(INTRUDER_TEMPLATE)
    commit = soak.commit(
        "refused", "refused: cluster-admin for soak-intruders (the gate must refuse it)", expect="refused"
    )

    def refusing() -> list[str]:
        spokes = soak.hub_view().spokes()
        return [
            s
            for s in soak.spokes
            if spokes[s]["result"] != "rejected" or commit.revision[:12] not in (spokes[s]["error"] or "")
        ]

    soak.until_none(f"every agent to refuse {commit.revision[:12]}", refusing)
    commit.converged_s = round(time.monotonic() - commit.committed_at, 1)
    commit.outcome = "refused"
    soak.say(f"  refused by all {len(soak.spokes)} spokes in {commit.converged_s:.1f}s")
    soak.check_truth(before.revision)  # the previous revision, still enforced; no intruder binding anywhere
    if any(m != before.marker for m in soak.markers().values()):
        raise SoakFailure(f"a refused commit moved a cluster's marker: {soak.markers()}")
    return commit


def canary_check_fails(soak: Soak) -> Commit:
    """A commit whose canary check fails: the canaries roll back to the last completed revision, the main wave never
    takes it; then a fix (the error rate is good again) rolls through everywhere."""
    good = next(c for c in reversed(soak.commits) if c.outcome == "applied")
    canary = soak.canaries[0]
    soak.set_error_rate(canary, BAD_ERROR_RATE)
    revert_intruder(soak)
    commit = soak.commit(
        "canary-fails", f"canary check fails: {canary}'s error rate is {BAD_ERROR_RATE}", expect="rolled-back"
    )
    mains = [s for s in soak.spokes if s not in soak.canaries]
    took: set[str] = set()

    def rolled_back() -> bool:
        markers = soak.markers()
        took.update(s for s in soak.canaries if markers[s] == commit.marker)
        if any(markers[s] == commit.marker for s in mains):
            raise SoakFailure(f"a main-wave spoke applied {commit.revision[:12]} whose canary failed: {markers}")
        view = soak.hub_view().rollout(commit.revision)
        back = {r["spoke"] for r in view["rollbacks"] if r["to"] == good.revision}
        return (
            bool(view["halted"]) and back >= took and bool(took) and all(markers[s] == good.marker for s in soak.spokes)
        )

    soak.until(
        f"{commit.revision[:12]}'s canaries to roll back to {good.revision[:12]}",
        lambda: (rolled_back(), soak.markers()),
    )
    commit.converged_s = round(time.monotonic() - commit.committed_at, 1)
    commit.outcome = "rolled-back"
    soak.say(f"  halted and rolled back ({', '.join(sorted(took))}) in {commit.converged_s:.1f}s")
    soak.check_truth(good.revision)
    soak.set_error_rate(canary, GOOD_ERROR_RATE)
    fix = soak.commit("fix", f"fix: {canary}'s error rate is good again")
    soak.converge(fix)
    return commit


def kubectl_drift(soak: Soak) -> Commit | None:
    """Changes made with kubectl on two spokes (a field changed, an object deleted): each agent corrects its own
    within its interval, and the hub records the correction."""
    path = soak.clusters_env.tool_path()
    changed, deleted = soak.spokes[0], soak.spokes[-1]
    started, since = time.monotonic(), time.time()
    soak.sampler.enter("rollout")
    for spoke, args in (
        (
            changed,
            [
                "patch",
                "configmap",
                "armada-spoke-info",
                "-n",
                "armada",
                "--type",
                "merge",
                "-p",
                '{"data":{"ARMADA_LOG_LEVEL":"tampered-by-kubectl"}}',
            ],
        ),
        (deleted, ["delete", "configmap", "armada-spoke-info", "-n", "armada"]),
    ):
        proc = subprocess.run(
            ["kubectl", "--kubeconfig", soak.clusters[spoke].kubeconfig, *args],
            capture_output=True,
            text=True,
            env={"PATH": f"{path}:/usr/bin:/bin", "HOME": str(soak.opts.home)},
        )
        if proc.returncode != 0:
            raise SoakFailure(f"kubectl {' '.join(args[:2])} on {spoke} failed: {proc.stderr}")
    revision = soak.commits[-1].revision
    soak.check_truth(revision, [changed, deleted])
    took = time.monotonic() - started
    soak.say(f"  kubectl drift on {changed} (a field) and {deleted} (an object) corrected in {took:.1f}s")
    soak.until_true(
        "the hub to record both corrections",
        lambda: soak.hub_view().spokes()[changed]["state"] == "in-sync" and healed_since(soak, since),
    )
    soak.event("drift corrected", took)
    soak.sampler.enter("between")
    return None


def healed_since(soak: Soak, since: float) -> bool:
    """The hub's own record: both spokes reported a pass that healed, received after the drift was made."""
    assert soak.hub is not None
    return {soak.spokes[0], soak.spokes[-1]} <= spokes_with_result(soak.hub.db, "healed", since)


def restarts_mid_rollout(soak: Soak) -> Commit:
    """A template change, and while it rolls out: a canary's agent restarted, a main spoke's apiserver crashed
    and brought back, the hub restarted. The rollout still reaches every spoke, and nothing is lost."""
    assert soak.hub is not None
    agent_spoke = soak.canaries[0]
    crashed = next(s for s in soak.spokes if s not in soak.canaries)
    n = soak.fleet.marker + 1
    soak.fleet.edit_text(
        "templates/spoke/armada-config.yaml.j2",
        lambda t: (
            "\n".join(line for line in t.splitlines() if "ARMADA_SOAK_REVISION" not in line)
            + f'\n  ARMADA_SOAK_REVISION: "restarts {n}"\n'
        ),
    )
    revert_intruder(soak)
    commit = soak.commit("restarts", "template change, with an agent, an apiserver and the hub restarted meanwhile")
    time.sleep(3)
    soak.agents[agent_spoke].stop()
    soak.agents[agent_spoke].start()
    soak.clusters_env.crash(crashed)
    soak.hub.stop()
    soak.hub.start()
    time.sleep(5)
    soak.clusters_env.start([crashed])
    soak.say(f"  restarted: agent {agent_spoke}, the hub; apiserver of {crashed} crashed and resumed")
    soak.converge(commit)
    return commit


STEPS: dict[str, Callable[[Soak], Commit | None]] = {
    "template": template_change,
    "values": values_for_region,
    "clusters": clusters_added_and_removed,
    "chart": chart_bump,
    "kustomize": kustomization_change,
    "refused": bad_commit,
    "canary": canary_check_fails,
    "drift": kubectl_drift,
    "restarts": restarts_mid_rollout,
}
SHORT = ["restarts", "values", "refused", "canary", "drift"]
LONG = ["template", "values", "clusters", "chart", "kustomize", "refused", "canary", "drift", "restarts"]


def refused_everywhere(soak: Soak, commit: Commit) -> list[str]:
    """From the hub's stored reports: every spoke reported `commit` rejected, none ran it."""
    assert soak.hub is not None
    ran = results_by_revision(soak.hub.db, commit.revision)
    return [f"{s} ran refused {commit.revision[:12]}" for s in soak.spokes if set(ran.get(s, ())) & set(OK_RESULTS)]
