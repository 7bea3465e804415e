"""The aws provider as a user runs it: `razee diff` and `razee apply --infra` in real processes, talking to an EC2
emulator (moto's server) over HTTP on loopback, through a proxy that injects what AWS does and moto does not."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.awsemu import CREDENTIALS, Fault, MotoServer, Proxy, live_instances, tags, worker_counts
from tests.conftest import run_razee
from tests.fleetrepo import write_repo
from tests.helpers.aws import AZ, Emulator, fleet_doc, region_doc, want


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    yield server
    server.close()


@pytest.fixture
def aws(moto: MotoServer) -> Iterator[Emulator]:
    moto.reset()
    proxy = Proxy(moto.url)
    url = proxy.start()
    yield Emulator(moto, proxy, url)
    proxy.close()


def razee(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command, rest = args[0], args[1:]
    return run_razee(
        command, "--repo", str(root), "--spoke", "spoke-a", "--no-kube", *rest, env={**CREDENTIALS, **(env or {})}
    )


def test_create_scale_up_and_down_from_empty(aws: Emulator, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet", fleet=fleet_doc(aws), regions=[region_doc(clusters=2, size=2)])
    first = razee(root, "diff")
    assert first.returncode == 1, first.stderr
    assert "infrastructure (aws): 2 create-cluster, 12 create-worker" in first.stdout
    assert aws.proxy.seen["RunInstances"] == 0  # a diff changes nothing

    applied = razee(root, "apply")
    assert applied.returncode == 0, applied.stderr
    assert worker_counts(aws.client) == want(2, 2)
    instances = live_instances(aws.client)
    for i in instances:
        t = tags(i)
        assert {k: t[f"razee:{k}"] for k in ("fleet", "spoke", "pool", "flavor", "version", "encrypted")} == {
            "fleet": "test-fleet",
            "spoke": "spoke-a",
            "pool": "default",
            "flavor": "b3c.4x16",
            "version": "1.20.2",
            "encrypted": "true",
        }
        assert t["Name"] == t["razee:worker"] and t["razee:worker"].startswith(
            f"{t['razee:cluster']}-default-{t['razee:zone']}-"
        )
        assert i["InstanceType"] == "m5.xlarge"
        assert i["Placement"]["AvailabilityZone"] == AZ[t["razee:zone"]]
        if t["razee:zone"] in aws.subnets:
            assert i["SubnetId"] == aws.subnets[t["razee:zone"]]
        assert [g["GroupId"] for g in i["SecurityGroups"]] == [aws.group]
        assert i["MetadataOptions"]["HttpTokens"] == "required"
    volumes = aws.client.describe_volumes(
        Filters=[{"Name": "attachment.instance-id", "Values": [i["InstanceId"] for i in instances]}]
    )["Volumes"]
    assert len(volumes) == 12 and all(v["Encrypted"] for v in volumes)  # encryptedDisks: true by default
    templates = aws.client.describe_launch_templates()["LaunchTemplates"]
    assert sorted(t["LaunchTemplateName"] for t in templates) == ["razee-test-fleet-c0", "razee-test-fleet-c1"]

    again = razee(root, "diff")
    assert again.returncode == 0 and "infrastructure (aws): no changes" in again.stdout, again.stdout + again.stderr
    assert aws.proxy.seen["DescribeInstances"] >= 3  # 12 workers in pages of 5: pagination really happened

    write_repo(root, fleet=fleet_doc(aws), regions=[region_doc(clusters=2, size=3)])
    up = razee(root, "apply")
    assert up.returncode == 0, up.stderr
    assert "6 create-worker" in up.stdout
    assert worker_counts(aws.client) == want(2, 3)

    write_repo(root, fleet=fleet_doc(aws), regions=[region_doc(clusters=2, size=1)])
    down = razee(root, "apply")
    assert down.returncode == 0, down.stderr
    assert "12 delete-worker" in down.stdout
    assert worker_counts(aws.client) == want(2, 1)
    assert razee(root, "diff").returncode == 0


def test_a_flavor_change_rolls_at_most_two_at_a_time(aws: Emulator, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet", fleet=fleet_doc(aws), regions=[region_doc(size=2)])
    assert razee(root, "apply").returncode == 0
    write_repo(root, fleet=fleet_doc(aws), regions=[region_doc(size=2, flavor="m3c.8x64")])
    plan = json.loads(razee(root, "diff", "-o", "json").stdout)["infrastructure"]
    per_wave = Counter((c["wave"], c["action"]) for c in plan["changes"])
    assert sum(n for (_, a), n in per_wave.items() if a == "create-worker") == 6
    assert max(n for (_, a), n in per_wave.items() if a == "create-worker") == 2  # max_replace

    live: list[int] = []
    stop = threading.Event()

    def watch() -> None:  # what exists while the roll goes on, read straight from the emulator
        while not stop.is_set():
            live.append(len(live_instances(aws.client)))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        applied = razee(root, "apply", "--concurrency", "8")
    finally:
        stop.set()
        watcher.join()
    assert applied.returncode == 0, applied.stderr
    assert min(live) >= 6, live  # capacity never dropped below the pool's size
    assert max(live) <= 6 + 2 * 2, live  # at most two replacements (and the two they replace) in flight
    types = Counter(i["InstanceType"] for i in live_instances(aws.client))
    assert types == {"m5.2xlarge": 6}
    assert razee(root, "diff").returncode == 0

    # a new instance type in the flavor map is a flavor change too: what runs no longer matches the fleet
    fleet = fleet_doc(aws)
    fleet["providers"]["aws"]["flavors"]["m3c.8x64"] = "m6i.2xlarge"
    write_repo(root, fleet=fleet, regions=[region_doc(size=2, flavor="m3c.8x64")])
    remap = razee(root, "diff")
    assert remap.returncode == 1 and "6 create-worker, 6 delete-worker" in remap.stdout
    assert "flavor m5.2xlarge -> m3c.8x64" in remap.stdout


def test_pending_workers_hold_the_next_wave_back(aws: Emulator, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet", fleet=fleet_doc(aws), regions=[region_doc(size=1)])
    assert razee(root, "apply").returncode == 0
    write_repo(root, fleet=fleet_doc(aws), regions=[region_doc(size=1, flavor="m3c.8x64")])
    aws.proxy.order.clear()
    aws.proxy.pending = 4  # the new instances stay `pending` (provisioning) for the next four looks
    applied = razee(root, "apply")
    assert applied.returncode == 0, applied.stderr
    order = aws.proxy.order
    first_terminate = order.index("TerminateInstances")
    last_pending = max(i for i, a in enumerate(order) if a == "DescribeInstances+pending")
    assert order.count("DescribeInstances+pending") == 4
    # wave 0: two replacements, then the wait; nothing more is created while they are pending. (Once they run, the
    # third replacement and the old workers' termination are sent side by side, in either order.)
    assert order[:last_pending].count("RunInstances") == 2
    assert last_pending < first_terminate  # old workers went only once their replacements were running
    assert Counter(i["InstanceType"] for i in live_instances(aws.client)) == {"m5.2xlarge": 3}


def test_a_zone_removed_deletes_only_its_workers(aws: Emulator, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet", fleet=fleet_doc(aws), regions=[region_doc(size=2)])
    assert razee(root, "apply").returncode == 0
    before = {i["InstanceId"] for i in live_instances(aws.client) if tags(i)["razee:zone"] != "dal13"}
    write_repo(root, fleet=fleet_doc(aws), regions=[region_doc(size=2, zones=("dal10", "dal12"))])
    applied = razee(root, "apply")
    assert applied.returncode == 0, applied.stderr
    assert "2 delete-worker" in applied.stdout and "create-worker" not in applied.stdout
    assert worker_counts(aws.client) == want(1, 2, ("dal10", "dal12"))
    assert {i["InstanceId"] for i in live_instances(aws.client)} == before  # the others were left alone


def test_removed_clusters_honour_the_mass_deletion_limit(aws: Emulator, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet", fleet=fleet_doc(aws), regions=[region_doc(clusters=3, size=1)])
    assert razee(root, "apply").returncode == 0
    region = region_doc(clusters=3, size=1)
    region["clusters"] = region["clusters"][:1]  # two of three clusters leave the repo
    write_repo(root, fleet=fleet_doc(aws), regions=[region])
    diff = razee(root, "diff")
    assert diff.returncode == 2 and "infrastructure deletion refused: would delete 2 of 3 clusters" in diff.stdout
    refused = razee(root, "apply")
    assert refused.returncode == 1 and "--allow-mass-prune" in refused.stderr
    assert aws.proxy.seen["TerminateInstances"] == 0 and aws.proxy.seen["DeleteLaunchTemplate"] == 0
    assert worker_counts(aws.client) == want(3, 1)

    allowed = razee(root, "apply", "--allow-mass-prune")
    assert allowed.returncode == 0, allowed.stderr
    assert worker_counts(aws.client) == want(1, 1)
    names = [t["LaunchTemplateName"] for t in aws.client.describe_launch_templates()["LaunchTemplates"]]
    assert names == ["razee-test-fleet-c0"]

    region = region_doc(clusters=3, size=1)
    write_repo(root, fleet=fleet_doc(aws), regions=[region])
    assert razee(root, "apply").returncode == 0
    region["clusters"] = region["clusters"][:2]  # one of three: within the limit
    write_repo(root, fleet=fleet_doc(aws), regions=[region])
    one = razee(root, "apply")
    assert one.returncode == 0, one.stderr
    assert worker_counts(aws.client) == want(2, 1)


def test_sigkill_mid_apply_then_convergence_without_duplicates(aws: Emulator, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet", fleet=fleet_doc(aws), regions=[region_doc(clusters=3, size=10)])
    args = [
        sys.executable,
        "-m",
        "razee",
        "apply",
        "-q",
        "--repo",
        str(root),
        "--spoke",
        "spoke-a",
        "--no-kube",
        "--concurrency",
        "2",
    ]
    env = {**os.environ, **CREDENTIALS}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and aws.proxy.seen["RunInstances"] < 10:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = sum(worker_counts(aws.client).values())
    assert 10 <= partial < 90, partial  # really interrupted midway

    second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert worker_counts(aws.client) == want(3, 10)
    assert len({tags(i)["razee:token"] for i in live_instances(aws.client)}) == 90
    third = razee(root, "diff")
    assert third.returncode == 0 and "infrastructure (aws): no changes" in third.stdout


CRASH = """
import os, signal, sys
from pathlib import Path
from razee.fleet.loader import load_fleet
from razee.infra.executor import apply_infra, ExecOptions
from razee.infra.model import DesiredCluster
from razee.infra.planner import plan_infra
from razee.infra.registry import open_provider

root, when = Path(sys.argv[1]), sys.argv[2]
fleet = load_fleet(root)
view = fleet.find_spoke("spoke-a")
cloud = open_provider("aws", {}, fleet, view, root)
desired = [DesiredCluster.from_fleet(c) for c in view.clusters]
plan = plan_infra("spoke-a", "aws", desired, cloud.observe([d.name for d in desired], "spoke-a"))
run_instances = cloud.write.run_instances
calls = []

def crashing(**kw):
    calls.append(1)
    if len(calls) == 3 and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)  # the describe found nothing; the create never goes out
    answer = run_instances(**kw)
    if len(calls) == 3 and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)  # the instance exists; its answer dies with the process
    return answer

cloud.write.run_instances = crashing
apply_infra(cloud, plan, ExecOptions(concurrency=1))
"""


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_crash_between_describe_and_create_leaves_no_duplicate(aws: Emulator, tmp_path: Path, when: str) -> None:
    root = write_repo(tmp_path / "fleet", fleet=fleet_doc(aws), regions=[region_doc(size=2)])
    crash = subprocess.run(
        [sys.executable, "-c", CRASH, str(root), when],
        env={**os.environ, **CREDENTIALS},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crash.returncode == -signal.SIGKILL, crash.stderr
    assert sum(worker_counts(aws.client).values()) == (2 if when == "before" else 3)
    applied = razee(root, "apply")
    assert applied.returncode == 0, applied.stderr
    assert f"{6 - (2 if when == 'before' else 3)} create-worker" in applied.stdout
    assert worker_counts(aws.client) == want(1, 2)


def test_lost_answers_and_throttling_are_retried_without_duplicates(aws: Emulator, tmp_path: Path) -> None:
    # The emulator ignores ClientToken: the same token twice makes two instances. Idempotency must not rely on it.
    twice = [
        aws.client.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, ClientToken="same") for _ in range(2)
    ]
    assert twice[0]["Instances"][0]["InstanceId"] != twice[1]["Instances"][0]["InstanceId"]
    aws.client.terminate_instances(InstanceIds=[t["Instances"][0]["InstanceId"] for t in twice])

    root = write_repo(tmp_path / "fleet", fleet=fleet_doc(aws), regions=[region_doc(clusters=2, size=2)])
    aws.proxy.faults += [
        Fault("RunInstances", 500, "InternalError", times=4, after=True),  # done, but the answer is lost
        Fault("RunInstances", 503, "RequestLimitExceeded", times=3),
        Fault("DescribeInstances", 500, "InternalError", times=2),  # reads: the SDK's own retries
    ]
    applied = razee(root, "apply")
    assert applied.returncode == 0, applied.stderr
    assert "infrastructure: 14 done, 0 failed, 7 retried" in applied.stderr
    assert worker_counts(aws.client) == want(2, 2)  # four lost answers, no duplicate
    assert all(f.times == 0 for f in aws.proxy.faults)

    write_repo(root, fleet=fleet_doc(aws), regions=[region_doc(clusters=2, size=1)])
    aws.proxy.faults = [
        Fault("TerminateInstances", 503, "Unavailable", times=2),
        Fault("TerminateInstances", 500, "InternalError", times=1, after=True),
    ]
    down = razee(root, "apply")
    assert down.returncode == 0, down.stderr
    assert "infrastructure: 6 done, 0 failed, 3 retried" in down.stderr
    assert worker_counts(aws.client) == want(2, 1)


def test_auth_and_validation_errors_are_reported_once_and_change_nothing(aws: Emulator, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet", fleet=fleet_doc(aws), regions=[region_doc(clusters=2, size=3)])
    aws.proxy.faults.append(Fault("RunInstances", 403, "UnauthorizedOperation", times=1000))
    denied = razee(root, "apply", "--concurrency", "1")
    assert denied.returncode == 4
    assert denied.stderr.count("UnauthorizedOperation") == 1, denied.stderr
    assert "IAM policy in docs/providers.md" in denied.stderr
    assert aws.proxy.seen["RunInstances"] == 1  # the first refusal stopped the pass
    assert worker_counts(aws.client) == Counter()

    # settings the fleet repo gets wrong are refused before any request, naming file, line and field
    fleet = fleet_doc(aws)
    fleet["providers"]["aws"]["securityGroup"] = "sg-1"
    fleet["providers"]["aws"]["image"] = "ubuntu"
    write_repo(root, fleet=fleet, regions=[region_doc()])
    aws.proxy.seen.clear()
    bad = razee(root, "diff")
    assert bad.returncode == 2
    assert "environments/fleet.yaml:" in bad.stderr and "providers.aws.securityGroup: Extra inputs" in bad.stderr
    assert "providers.aws.image: String should match pattern" in bad.stderr
    unmapped = fleet_doc(aws)
    del unmapped["providers"]["aws"]["zones"]["dal13"]
    region = region_doc(flavor="u3c.2x4")
    region["providers"] = {"aws": {"region": "us-east-1"}}
    write_repo(root, fleet=unmapped, regions=[region])
    gaps = razee(root, "apply")
    assert gaps.returncode == 2
    assert "providers.aws.flavors has no instance type for flavor 'u3c.2x4'" in gaps.stderr
    assert "neither subnets.dal13 nor zones.dal13" in gaps.stderr
    assert sum(aws.proxy.seen.values()) == 0

    write_repo(root, fleet=fleet_doc(aws), regions=[region_doc()])
    nothing = razee(
        root, "diff", env={"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "true"}
    )
    assert nothing.returncode == 4 and "Unable to locate credentials" in nothing.stderr, nothing.stderr
    assert "the standard chain" in nothing.stderr


def test_credentials_never_reach_output_or_logs(aws: Emulator, tmp_path: Path) -> None:
    canary = "razeeCANARYsecret" + "x" * 23
    env = {"AWS_SECRET_ACCESS_KEY": canary, "AWS_SESSION_TOKEN": "razeeCANARYtoken" + "y" * 20}
    root = write_repo(tmp_path / "fleet", fleet=fleet_doc(aws), regions=[region_doc(size=1)])
    aws.proxy.faults += [
        Fault("RunInstances", 503, "RequestLimitExceeded", times=2),
        Fault(
            "DeleteLaunchTemplate",
            403,
            "UnauthorizedOperation",
            times=1,
            message=f"a careless endpoint echoes the secret {canary}",
        ),
    ]
    cli = ["--repo", str(root), "--spoke", "spoke-a", "--no-kube"]
    outputs = [run_razee("-vv", "diff", *cli, env={**CREDENTIALS, **env}), razee(root, "diff", "-o", "json", env=env)]
    outputs.append(run_razee("-vv", "--log-format", "json", "apply", *cli, env={**CREDENTIALS, **env}))
    assert outputs[-1].returncode == 0, outputs[-1].stderr
    region = region_doc()
    region["clusters"] = []
    write_repo(root, fleet=fleet_doc(aws), regions=[region])
    outputs.append(razee(root, "apply", "--allow-mass-prune", env=env))  # refused by the injected 403
    assert outputs[-1].returncode == 4
    assert "a careless endpoint echoes the secret ***" in outputs[-1].stderr
    for out in outputs:
        assert "razeeCANARY" not in out.stdout + out.stderr
    logs = Path(os.environ["RAZEE_LOG_DIR"])
    assert not any("razeeCANARY" in p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file())
    assert not any("razeeCANARY" in body for body in aws.proxy.bodies)  # signed, never sent


def test_fleet_settings_layer_with_the_region_file(aws: Emulator, tmp_path: Path) -> None:
    fleet = fleet_doc(aws)
    del fleet["providers"]["aws"]["regions"]
    region = region_doc(size=1)
    region["providers"] = {"aws": {"region": "us-east-1", "flavors": {"b3c.4x16": "c5.large"}}}
    root = write_repo(tmp_path / "fleet", fleet=fleet, regions=[region])
    applied = razee(root, "apply")
    assert applied.returncode == 0, applied.stderr
    assert Counter(i["InstanceType"] for i in live_instances(aws.client)) == {"c5.large": 3}
    region["providers"]["aws"]["rootVolumeSize"] = "big"
    write_repo(root, fleet=fleet, regions=[region])
    bad = razee(root, "diff")
    assert bad.returncode == 2
    assert "environments/regions/us-south.yaml:" in bad.stderr and "providers.aws.rootVolumeSize" in bad.stderr


def test_the_same_fleet_runs_unchanged_on_the_local_provider(aws: Emulator, tmp_path: Path) -> None:
    fleet = fleet_doc(aws)
    fleet["provider"] = "local"
    root = write_repo(tmp_path / "fleet", fleet=copy.deepcopy(fleet), regions=[region_doc(size=1)])
    db = tmp_path / "cloud.sqlite"
    applied = razee(root, "apply", "--infra-db", str(db), env={"RAZEE_LOCAL_CLOUD_DELAY": "0"})
    assert applied.returncode == 0, applied.stderr
    assert sum(aws.proxy.seen.values()) == 0
