"""The aws provider's tests' emulator (moto behind the fault proxy) and the fleet and region documents they write."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from tests.awsemu import MotoServer, Proxy, ec2
from tests.fleetrepo import fleet_copy, region_copy

ZONES = ("dal10", "dal12", "dal13")
"""The test region's zones; AZ maps them to the emulator's availability zones, TYPES flavors to instance types."""
AZ = {"dal10": "us-east-1a", "dal12": "us-east-1b", "dal13": "us-east-1c"}
TYPES = {"b3c.4x16": "m5.xlarge", "m3c.8x64": "m5.2xlarge"}


class Emulator:
    """moto behind the fault proxy, plus a direct client to check what really exists."""

    def __init__(self, moto: MotoServer, proxy: Proxy, url: str) -> None:
        self.moto, self.proxy, self.url = moto, proxy, url
        self.client = ec2(moto.url)
        subnets = {
            s["AvailabilityZone"]: s["SubnetId"]
            for s in self.client.describe_subnets()["Subnets"]
            if s.get("DefaultForAz")
        }
        # dal10 and dal12 launch into subnets; dal13 only names its availability zone (the default VPC's)
        self.subnets = {"dal10": subnets[AZ["dal10"]], "dal12": subnets[AZ["dal12"]]}
        vpc = self.client.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        self.group = self.client.create_security_group(GroupName="workers", Description="razee workers", VpcId=vpc)[
            "GroupId"
        ]

    def settings(self) -> dict[str, Any]:
        return copy.deepcopy(
            {
                "regions": {"us-south": "us-east-1"},
                "zones": {"dal13": AZ["dal13"]},
                "subnets": self.subnets,
                "flavors": TYPES,
                "image": "ami-12c6146b",
                "securityGroups": [self.group],
                "endpointUrl": self.url,
                "pageSize": 5,
            }
        )


def fleet_doc(aws: Emulator) -> dict[str, Any]:
    fleet = fleet_copy()
    fleet["provider"] = "aws"
    fleet["providers"] = {"aws": aws.settings()}
    return fleet


def region_doc(
    clusters: int = 1, size: int = 2, zones: tuple[str, ...] = ZONES, flavor: str = "b3c.4x16"
) -> dict[str, Any]:
    region = region_copy()
    region["zones"] = list(ZONES)
    region["spokes"] = [{"name": "spoke-a", "wave": "canary", "capacity": 50}]
    region["clusters"] = [
        {
            "name": f"c{i}",
            "workerPools": [{"name": "default", "flavor": flavor, "sizePerZone": size, "zones": list(zones)}],
        }
        for i in range(clusters)
    ]
    return region


def want(clusters: int, size: int, zones: tuple[str, ...] = ZONES) -> Counter[tuple[str, str, str]]:
    return Counter({(f"c{i}", "default", z): size for i in range(clusters) for z in zones})
