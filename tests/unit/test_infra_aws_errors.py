"""How the aws provider sorts SDK failures: retry, stop the pass, or fail the one change; secrets scrubbed."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from razee.infra.aws.errors import Scrubber, call
from razee.infra.provider import FatalProviderError, ProviderError, TransientProviderError

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def fail(code: str, status: int, message: str = "no") -> Any:
    def fn() -> None:
        raise ClientError(
            {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
            "RunInstances",
        )

    return fn


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("RequestLimitExceeded", 503, TransientProviderError),
        ("Throttling", 400, TransientProviderError),
        ("SomethingNew", 502, TransientProviderError),
        ("InsufficientInstanceCapacity", 500, TransientProviderError),
        ("UnauthorizedOperation", 403, FatalProviderError),
        ("AuthFailure", 401, FatalProviderError),
        ("InvalidParameterValue", 400, FatalProviderError),
        ("InvalidAMIID.NotFound", 400, FatalProviderError),
        ("InvalidInstanceID.NotFound", 400, ProviderError),
    ],
)
def test_errors_are_sorted_by_what_a_retry_can_do(code: str, status: int, kind: type[ProviderError]) -> None:
    with pytest.raises(ProviderError) as e:
        call(Scrubber([]), "run instance", fail(code, status))
    assert type(e.value) is kind
    assert f"aws: run instance: {code}: no" in e.value.message


def test_connection_failures_retry_and_missing_credentials_stop() -> None:
    def unreachable() -> None:
        raise EndpointConnectionError(endpoint_url="https://ec2.us-east-1.amazonaws.com/")

    def anonymous() -> None:
        raise NoCredentialsError()

    with pytest.raises(TransientProviderError):
        call(Scrubber([]), "describe", unreachable)
    with pytest.raises(FatalProviderError, match="standard chain"):
        call(Scrubber([]), "describe", anonymous)


def test_secrets_are_scrubbed_from_messages() -> None:
    with pytest.raises(ProviderError) as e:
        call(Scrubber([SECRET, None, "short"]), "x", fail("Weird", 400, f"echo {SECRET} back"))
    assert SECRET not in e.value.message and "echo *** back" in e.value.message
