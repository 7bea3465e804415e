"""The IAM policy in docs/providers.md is enough for the aws provider's whole lifecycle, and a missing permission or
a bad key is reported once, clearly: moto's server with IAM enforcement on, the provider holding a user's keys whose
only policy holds the actions the docs print. moto's IAM checks actions only (it treats every request's resource
as "*" and ignores conditions), so each documented statement is given here with its actions and `Resource: "*"`;
the resource ARNs and tag conditions are AWS's to enforce and are not verified by these tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.awsemu import REGION, MotoServer, live_instances, worker_counts
from tests.conftest import REPO, run_razee
from tests.fleetrepo import fleet_copy, write_repo
from tests.helpers.aws import AZ, TYPES, region_doc, want

SETUP_CALLS = 6  # the requests below that moto serves before it starts enforcing IAM


def documented_policy() -> dict[str, Any]:
    text = (REPO / "docs" / "providers.md").read_text()
    section = text[text.index("### IAM") :]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block, "docs/providers.md lost its IAM policy"
    raw = block.group(1).replace("REGION", REGION).replace("ACCOUNT", "123456789012").replace("FLEET", "test-fleet")
    policy: dict[str, Any] = json.loads(raw)
    return policy


def as_moto_checks_it(policy: dict[str, Any]) -> dict[str, Any]:
    return {
        "Version": policy["Version"],
        "Statement": [{"Effect": s["Effect"], "Action": s["Action"], "Resource": "*"} for s in policy["Statement"]],
    }


def without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(policy))
    for statement in out["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a != action] or ["ec2:DescribeRegions"]
    return out


class Iam:
    def __init__(self, tmp: Path) -> None:
        self.server = MotoServer(tmp / "moto.log", env={"INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_CALLS)})
        iam = boto3.client(
            "iam",
            region_name=REGION,
            endpoint_url=self.server.url,
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )
        keys = {}
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        for user, policy in (("admin", everything), ("spoke-a", as_moto_checks_it(documented_policy()))):
            iam.create_user(UserName=user, Tags=[{"Key": "razee-spoke", "Value": user}])
            iam.put_user_policy(UserName=user, PolicyName="razee", PolicyDocument=json.dumps(policy))
            keys[user] = iam.create_access_key(UserName=user)["AccessKey"]  # 3 requests per user: SETUP_CALLS
        self.iam_admin = boto3.client(
            "iam",
            region_name=REGION,
            endpoint_url=self.server.url,
            aws_access_key_id=keys["admin"]["AccessKeyId"],
            aws_secret_access_key=keys["admin"]["SecretAccessKey"],
        )
        self.admin = boto3.client(
            "ec2",
            region_name=REGION,
            endpoint_url=self.server.url,
            aws_access_key_id=keys["admin"]["AccessKeyId"],
            aws_secret_access_key=keys["admin"]["SecretAccessKey"],
        )
        self.spoke_env = {
            "AWS_ACCESS_KEY_ID": keys["spoke-a"]["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": keys["spoke-a"]["SecretAccessKey"],
            "AWS_DEFAULT_REGION": REGION,
        }

    def fleet(self, kube_version: str = "1.20.2") -> dict[str, Any]:
        fleet = fleet_copy()
        fleet["clusterDefaults"] = {"kubeVersion": kube_version}
        fleet["provider"] = "aws"
        fleet["providers"] = {
            "aws": {
                "regions": {"us-south": REGION},
                "zones": dict(AZ),
                "flavors": dict(TYPES),
                "image": "ami-12c6146b",
                "endpointUrl": self.server.url,
            }
        }
        return fleet


@pytest.fixture
def iam(tmp_path: Path) -> Iterator[Iam]:
    emulator = Iam(tmp_path)
    yield emulator
    emulator.server.close()


def razee(iam: Iam, root: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return run_razee(
        args[0], "--repo", str(root), "--spoke", "spoke-a", "--no-kube", *args[1:], env={**iam.spoke_env, **(env or {})}
    )


def test_the_documented_policy_is_enough_for_the_whole_lifecycle(iam: Iam, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="AuthFailure"):  # enforcement is really on
        boto3.client(
            "ec2",
            region_name=REGION,
            endpoint_url=iam.server.url,
            aws_access_key_id="AKIANOBODY",
            aws_secret_access_key="nope",
        ).describe_instances()
    root = write_repo(tmp_path / "fleet", fleet=iam.fleet(), regions=[region_doc(clusters=2, size=1)])
    created = razee(iam, root, "apply")
    assert created.returncode == 0, created.stderr
    assert worker_counts(iam.admin) == want(2, 1)

    write_repo(root, fleet=iam.fleet("1.21.0"), regions=[region_doc(clusters=2, size=1, flavor="m3c.8x64")])
    rolled = razee(iam, root, "apply")  # master upgrades (CreateTags), replacements (Run/Terminate)
    assert rolled.returncode == 0, rolled.stderr
    assert {i["InstanceType"] for i in live_instances(iam.admin)} == {"m5.2xlarge"}
    assert razee(iam, root, "diff").returncode == 0

    write_repo(root, fleet=iam.fleet("1.22.0"), regions=[region_doc(clusters=2, size=1, flavor="m3c.8x64")])
    upgraded = razee(iam, root, "apply")  # in place: CreateTags of razee:version on templates and instances
    assert upgraded.returncode == 0, upgraded.stderr
    assert "2 upgrade-master, 6 upgrade-worker" in upgraded.stdout
    assert {t["Value"] for i in live_instances(iam.admin) for t in i["Tags"] if t["Key"] == "razee:version"} == {
        "1.22.0"
    }
    assert razee(iam, root, "diff").returncode == 0

    region = region_doc(clusters=2, size=1, flavor="m3c.8x64")
    region["clusters"] = region["clusters"][:1]
    write_repo(root, fleet=iam.fleet("1.22.0"), regions=[region])
    removed = razee(iam, root, "apply")  # TerminateInstances and DeleteLaunchTemplate
    assert removed.returncode == 0, removed.stderr
    assert worker_counts(iam.admin) == want(1, 1)


def test_a_missing_permission_and_a_bad_key_are_reported_once(iam: Iam, tmp_path: Path) -> None:
    iam.iam_admin.put_user_policy(
        UserName="spoke-a",
        PolicyName="razee",
        PolicyDocument=json.dumps(as_moto_checks_it(without(documented_policy(), "ec2:RunInstances"))),
    )
    root = write_repo(tmp_path / "fleet", fleet=iam.fleet(), regions=[region_doc(clusters=1, size=3)])
    denied = razee(iam, root, "apply")
    assert denied.returncode == 4
    assert denied.stderr.count("not authorized to perform: ec2:RunInstances") == 1, denied.stderr
    assert "IAM policy in docs/providers.md" in denied.stderr
    assert worker_counts(iam.admin) == {}

    bad = razee(iam, root, "diff", env={"AWS_ACCESS_KEY_ID": "AKIANOBODY", "AWS_SECRET_ACCESS_KEY": "wrong-key"})
    assert bad.returncode == 4
    assert bad.stderr.count("AuthFailure") == 1 and "wrong-key" not in bad.stderr
