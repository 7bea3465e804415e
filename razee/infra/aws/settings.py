"""`providers.aws` in fleet.yaml, layered with the region file's: where and how workers become EC2 instances.

Credentials are deliberately not a setting: boto3's standard chain finds them (environment, shared files, SSO,
an instance or pod role), so they never live in the fleet repo, in a plan or in a report.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from razee.errors import UsageError
from razee.infra.provider import ProviderContext

AwsId = str


class AwsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)

    region: str | None = Field(
        None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="AWS region of this razee region (in a region file)"
    )
    regions: dict[str, str] = Field(
        default_factory=dict, description="razee region -> AWS region (in fleet.yaml); `region` wins"
    )
    zones: dict[str, str] = Field(
        default_factory=dict, description="razee zone -> availability zone (needed for zones without a subnet)"
    )
    subnets: dict[str, AwsId] = Field(
        default_factory=dict, description="razee zone -> subnet id; workers of the zone launch in it"
    )
    flavors: dict[str, str] = Field(default_factory=dict, description="razee flavor -> EC2 instance type")
    image: str = Field(pattern=r"^ami-[0-9a-f]{8,17}$", description="AMI id the workers boot")
    security_groups: list[AwsId] = Field(default_factory=list, description="security group ids of every worker")
    root_device_name: str = Field("/dev/xvda", description="the AMI's root device, encrypted for encryptedDisks")
    root_volume_size: int = Field(50, ge=1, le=16384, description="root volume GiB when it is encrypted")
    kms_key_id: str | None = Field(None, description="KMS key for encrypted root volumes (default: the EBS key)")
    endpoint_url: str | None = Field(
        None, pattern=r"^https?://", description="EC2 endpoint (a VPC endpoint or an emulator); default: AWS's"
    )
    page_size: int = Field(1000, ge=5, le=1000, description="results per Describe* page")


def aws_region(settings: AwsSettings, context: ProviderContext) -> str:
    region = settings.region or settings.regions.get(context.region)
    if not region:
        raise UsageError(
            f"aws provider: no AWS region for razee region {context.region!r}: set providers.aws.region "
            f"in its region file or providers.aws.regions.{context.region} in fleet.yaml"
        )
    return region


def check_coverage(settings: AwsSettings, context: ProviderContext) -> None:
    """Every zone and flavor the spoke uses must map to AWS, before anything is observed or changed."""
    problems = [
        f"providers.aws.flavors has no instance type for flavor {f!r}"
        for f in context.flavors
        if f not in settings.flavors
    ]
    problems += [
        f"providers.aws has neither subnets.{z} nor zones.{z} (the availability zone of zone {z!r})"
        for z in context.zones
        if z not in settings.subnets and z not in settings.zones
    ]
    if problems:
        raise UsageError(f"aws provider settings for region {context.region}: " + "; ".join(problems))
