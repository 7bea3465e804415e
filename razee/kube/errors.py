"""Kubernetes API errors as named classes, with the server's message trimmed for logs and users.

Each class says by its bases what kind of failure it is: the server refusing the object (`Invalid`, a
`RefusedError`: exit 2) or the service failing (the others, `ServiceError`s: exit 4). No caller maps one to the
other.
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

from razee.errors import EXIT_SERVICE, RazeeError, RefusedError, ServiceError

MAX_MESSAGE = 500


class KubeError(RazeeError):
    """An API request failed; `status` is the HTTP status (0 when the server could not be reached)."""

    exit_code = EXIT_SERVICE  # a failure on the server's side unless the class says otherwise

    def __init__(self, message: str, status: int = 0, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.details = details or {}


class NotFound(KubeError, ServiceError):
    pass


class Conflict(KubeError, ServiceError):
    """409: an apply conflict with another field manager, or an object that already exists."""


class Forbidden(KubeError, ServiceError):
    pass


class Invalid(RefusedError, KubeError):
    """422 or 400: the server refused the object as invalid; an input error (exit 2)."""


class Unavailable(KubeError, ServiceError):
    """The server could not be reached, timed out, or answered 5xx/429."""


_INVALID_VALUE = re.compile(r"Invalid value: .*?: ((?:field is immutable|[a-z][^:{}]*))$", re.S)
_IMMUTABLE = re.compile(
    r"field is immutable|updates to \S+ spec for fields other than .* are forbidden|"
    r"may not be changed|may not change once set|is immutable",
    re.S,
)


def _trim(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "…"


def _short_cause(cause: dict[str, Any]) -> str:
    """`field: what is wrong`, without the Go struct dump the server puts in front of some messages."""
    message = str(cause.get("message") or cause.get("reason") or "")
    m = _INVALID_VALUE.search(message)
    if m and len(message) > 200:
        message = f"Invalid value: {m.group(1)}"
    field = str(cause.get("field") or "")
    return _trim(f"{field}: {message}" if field else message)


def describe(message: str, details: dict[str, Any]) -> str:
    """The server's message; when that is too long and carries per-field causes, `what: cause; cause` in full."""
    causes = [c for c in details.get("causes") or [] if isinstance(c, dict)]
    if not causes or len(message) <= MAX_MESSAGE:
        return _trim(message)
    head = message.split(":", 1)[0]  # `Job.batch "x" is invalid`
    more = f"; and {len(causes) - 10} more" if len(causes) > 10 else ""
    return f"{head}: " + "; ".join(_short_cause(c) for c in causes[:10]) + more


def immutable_fields(error: KubeError) -> list[str]:
    """Fields the server refused to change because they are immutable (empty for any other error)."""
    if not isinstance(error, Invalid):
        return []
    causes = [c for c in error.details.get("causes") or [] if isinstance(c, dict)]
    fields = [str(c.get("field") or "?") for c in causes if _IMMUTABLE.search(str(c.get("message") or ""))]
    if not fields and _IMMUTABLE.search(error.message):
        fields = ["?"]
    return fields


def from_response(status: int, body: bytes, what: str) -> KubeError:
    message, details = "", cast(dict[str, Any], {})
    try:
        parsed = json.loads(body)
        message = str(parsed.get("message", ""))
        details = parsed.get("details") or {}
    except (ValueError, AttributeError):
        message = body.decode("utf-8", "replace").strip()
    text = f"{what}: {describe(message, details) or f'HTTP {status}'}"
    cls: type[KubeError]
    if status == 404:
        cls = NotFound
    elif status == 409:
        cls = Conflict
    elif status in (401, 403):
        cls = Forbidden
    elif status in (400, 422):
        cls = Invalid
    else:
        cls = Unavailable
    return cls(text, status, details)
