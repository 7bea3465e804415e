"""Mapping AWS SDK failures onto razee's provider errors, with credentials scrubbed from every message.

Throttling, 5xx and connection failures are transient: the executor retries them with its backoff, and the SDK's
own retries are switched off for writes so that the two do not multiply. Authentication, permission and
validation errors would meet every further request, so they are fatal: reported once, and the pass stops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from razee.infra.provider import FatalProviderError, ProviderError, TransientProviderError

T = TypeVar("T")

THROTTLING = {
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "RequestThrottled",
    "TooManyRequestsException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
    "InsufficientInstanceCapacity",
    "IncorrectInstanceState",
}
AUTH = {
    "AuthFailure",
    "UnauthorizedOperation",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "RequestExpired",
    "OptInRequired",
    "Blocked",
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
}
VALIDATION_PREFIXES = (
    "InvalidParameter",
    "MissingParameter",
    "InvalidAMIID",
    "InvalidSubnetID",
    "InvalidGroup",
    "InvalidBlockDeviceMapping",
    "InvalidInstanceType",
    "Unsupported",
    "InvalidZone",
    "InvalidKmsKey",
    "IdempotentParameterMismatch",
    "InvalidLaunchTemplateName.Malformed",
    "ValidationError",
)
_HINT = {
    "auth": "the credentials in use were refused or lack a permission (see the IAM policy in docs/providers.md)",
    "validation": "AWS refused the provider settings (providers.aws in the fleet repo)",
}


class Scrubber:
    """Removes the secret parts of the credentials in use from any text before it leaves the provider."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self.secrets = [s for s in secrets if s and len(s) >= 8]

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def error_code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def call(scrub: Scrubber, what: str, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run one SDK call; translate its failure into the right ProviderError."""
    try:
        return fn(**kwargs)
    except ClientError as e:
        raise classify(scrub, what, e) from None
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError) as e:
        raise TransientProviderError(scrub(f"aws: {what}: {type(e).__name__}: {e}")) from None
    except (NoCredentialsError, PartialCredentialsError) as e:
        raise FatalProviderError(
            f"aws: {what}: {e} (the standard chain: AWS_* environment variables, "
            "~/.aws files, SSO, or an instance or pod role)"
        ) from None
    except BotoCoreError as e:
        raise ProviderError(scrub(f"aws: {what}: {type(e).__name__}: {e}")) from None


def classify(scrub: Scrubber, what: str, e: ClientError) -> ProviderError:
    code = error_code(e)
    status = int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    message = scrub(str(e.response.get("Error", {}).get("Message", "")))[:300]
    text = f"aws: {what}: {code or status}: {message}"
    if code in THROTTLING or status >= 500 or status == 429:
        return TransientProviderError(text)
    if code in AUTH or status in (401, 403):
        return FatalProviderError(f"{text} ({_HINT['auth']})")
    if code.startswith(VALIDATION_PREFIXES):
        return FatalProviderError(f"{text} ({_HINT['validation']})")
    return ProviderError(text)
