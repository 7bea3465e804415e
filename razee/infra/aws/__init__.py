"""The `aws` infrastructure provider (EC2 through boto3), registered as the entry point `razee.providers:aws`."""

from __future__ import annotations

from razee.infra.aws.settings import AwsSettings
from razee.infra.provider import Provider, ProviderContext, ProviderPlugin


def _open(context: ProviderContext) -> Provider:
    from razee.infra.aws.cloud import AwsCloud  # boto3 loads only when the provider is used

    assert isinstance(context.settings, AwsSettings)
    return AwsCloud(context.settings, context)


PLUGIN = ProviderPlugin(
    "aws", "AWS EC2: one instance per worker, found by razee tags (boto3's credential chain)", AwsSettings, _open
)
