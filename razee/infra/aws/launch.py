"""What the aws provider asks EC2 to make: a cluster's launch template and a worker's RunInstances request.

Pure (no AWS calls), so the shape of what the provider asks EC2 for can be read in one place, apart from the
idempotency checks around the call in razee/infra/aws/cloud.py.
"""

from __future__ import annotations

import hashlib
from typing import Any

from razee.infra.aws.settings import AwsSettings
from razee.infra.aws.tags import P, tag_list
from razee.infra.changes import InfraChange


def client_token(fleet: str, change: InfraChange) -> str:
    """The change's idempotency token for AWS: the same change in the same fleet sends the same one."""
    return hashlib.sha256(f"{fleet}:{change.token}".encode()).hexdigest()  # 64 characters, AWS's limit


def template_name(fleet: str, cluster: str) -> str:
    """The launch template that records a cluster: its name is how a cluster is found without a tag search."""
    return f"razee-{fleet}-{cluster}"


def template_request(s: AwsSettings, fleet: str, owner: str, change: InfraChange) -> dict[str, Any]:
    """CreateLaunchTemplate arguments for a new cluster, tagged with its fleet, spoke, cluster and master version."""
    tags = {f"{P}fleet": fleet, f"{P}spoke": owner, f"{P}cluster": change.cluster, f"{P}version": str(change.version)}
    return {
        "LaunchTemplateName": template_name(fleet, change.cluster),
        "ClientToken": client_token(fleet, change),
        "VersionDescription": f"razee cluster {change.cluster}",
        "LaunchTemplateData": {"ImageId": s.image},
        "TagSpecifications": [{"ResourceType": "launch-template", "Tags": tag_list(tags)}],
    }


def worker_tags(fleet: str, owner: str, change: InfraChange) -> dict[str, str]:
    """The new worker's tags: how observing finds it and reads it back, and the token that makes a retry find it.

    The name ends in a hash of the change's token, so a retried change names the same worker."""
    pool, zone = str(change.pool), str(change.zone)
    name = f"{change.cluster}-{pool}-{zone}-{hashlib.sha256(change.token.encode()).hexdigest()[:8]}"
    return {
        "Name": name,
        f"{P}fleet": fleet,
        f"{P}spoke": owner,
        f"{P}cluster": change.cluster,
        f"{P}pool": pool,
        f"{P}zone": zone,
        f"{P}worker": name,
        f"{P}flavor": str(change.flavor),
        f"{P}version": str(change.version),
        f"{P}encrypted": "true" if change.encrypted else "false",
        f"{P}token": change.token,
    }


def run_request(s: AwsSettings, fleet: str, change: InfraChange, tags: dict[str, str]) -> dict[str, Any]:
    """RunInstances arguments: the flavor's instance type, the zone's subnet (else its availability zone), the
    security groups, IMDSv2 only, and an encrypted gp3 root volume when the worker asks for disk encryption."""
    zone = str(change.zone)
    request: dict[str, Any] = {
        "ImageId": s.image,
        "InstanceType": s.flavors[str(change.flavor)],
        "MinCount": 1,
        "MaxCount": 1,
        "ClientToken": client_token(fleet, change),
        "MetadataOptions": {"HttpTokens": "required"},
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": tag_list(tags)},
            {"ResourceType": "volume", "Tags": tag_list(tags)},
        ],
    }
    subnet = s.subnets.get(zone)
    if subnet:
        request["SubnetId"] = subnet
    else:
        request["Placement"] = {"AvailabilityZone": s.zones[zone]}
    if s.security_groups:
        request["SecurityGroupIds"] = list(s.security_groups)
    if change.encrypted:
        ebs: dict[str, Any] = {
            "Encrypted": True,
            "DeleteOnTermination": True,
            "VolumeType": "gp3",
            "VolumeSize": s.root_volume_size,
        }
        if s.kms_key_id:
            ebs["KmsKeyId"] = s.kms_key_id
        request["BlockDeviceMappings"] = [{"DeviceName": s.root_device_name, "Ebs": ebs}]
    return request
