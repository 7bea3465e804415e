"""Kubernetes API errors as named classes, with the server's message trimmed for logs and users."""

from __future__ import annotations

import json
from typing import Any, cast

from razee.errors import ServiceError

MAX_MESSAGE = 500


class KubeError(ServiceError):
    """An API request failed; `status` is the HTTP status (0 when the server could not be reached)."""

    def __init__(self, message: str, status: int = 0, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.details = details or {}


class NotFound(KubeError):
    pass


class Conflict(KubeError):
    """409: an apply conflict with another field manager, or an object that already exists."""


class Forbidden(KubeError):
    pass


class Invalid(KubeError):
    """422 or 400: the server rejected the object."""


class Unavailable(KubeError):
    """The server could not be reached, timed out, or answered 5xx/429."""


def _trim(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + "…"


def from_response(status: int, body: bytes, what: str) -> KubeError:
    message, details = "", cast(dict[str, Any], {})
    try:
        parsed = json.loads(body)
        message = str(parsed.get("message", ""))
        details = parsed.get("details") or {}
    except (ValueError, AttributeError):
        message = body.decode("utf-8", "replace").strip()
    text = f"{what}: {_trim(message) or f'HTTP {status}'}"
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
