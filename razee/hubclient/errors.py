"""What a hub's answer means as a razee error: one mapping from HTTP status to the error classes and exit codes
of razee/errors.py, for every client of the hub (CLI, bootstrap, agent).

- every hub failed (no answer, a timeout, 5xx, 408 or 429; razee/hubclient/client.py fails over on these first):
  `HubUnavailable`, a service error (exit 4) that keeps each hub's status and the longest Retry-After asked for;
- 401 or 403: `HubAuthError`, the token is wrong or lacks the role: the user's to fix (exit 2);
- 400, 413 or 422: `HubRefused`, the hub refused what was sent (invalid, too large): the input must change, so an
  input error by its class (exit 2), as the Kubernetes API server's 422 is (RefusedError);
- 404: `HubNotFound`, no such thing at the hub (or a hub without that API): a service error (exit 4);
- any other status: `HubError`, a service error (exit 4).

Messages carry the hub's own `detail` (trimmed, whitespace folded) and never the token: a hub that echoed it would
have it replaced by `***`.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from razee.errors import RazeeError, RefusedError, ServiceError, UsageError

DETAIL_CHARS = 300
"""The most of a hub's answer an error message quotes: enough for its reason, never a whole page."""
REDACT_FROM = 8
"""Characters a token must have to be replaced by *** in a quoted answer: hub tokens are far longer (rzh_ and 43
more), and replacing every "t" of a one-letter test token would garble the hub's reason."""


class HubUnavailable(ServiceError):
    """Every hub failed this request. `detail` names each hub (without credentials) and why; `statuses` holds each
    hub's HTTP status, None where it gave no answer (network error, timeout); `retry_after` is the longest
    Retry-After (seconds) any of them asked for, None if none did: an agent tells a hub that is down or busy from a
    report it cannot store by these (razee/agent/delivery.py)."""

    def __init__(self, detail: str, statuses: Sequence[int | None] = (), retry_after: float | None = None) -> None:
        wait = f"; retry after {retry_after:.0f}s" if retry_after is not None else ""
        who = "the hub" if len(statuses) <= 1 else f"all {len(statuses)} hubs"
        super().__init__(f"{who} failed ({detail}){wait}")
        self.detail = detail
        self.statuses = tuple(statuses)
        self.retry_after = retry_after


class HubError(ServiceError):
    """The hub answered with an error that says nothing against the token or the request's content."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HubNotFound(HubError):
    """404: what was asked for is not at the hub (an unknown revision, token id, or an API the hub lacks)."""


class HubAuthError(UsageError):
    """401 or 403: the hub refused the token (unknown, revoked, or without the role the request needs)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HubRefused(RefusedError):
    """400, 413 or 422: the hub refused what was sent; sending it again will not help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def answer_detail(resp: httpx.Response, secret: str | None = None, limit: int = DETAIL_CHARS) -> str:
    """The hub's reason in an answer: FastAPI's `detail` (a string, or a list of {loc, msg}), else the body's
    text; whitespace folded, at most `limit` characters, `secret` (the token sent) replaced by ***."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):
        text = "; ".join(_located(d) for d in detail)
    elif detail is not None:
        text = str(detail)
    else:
        text = resp.text
    if secret and len(secret) >= REDACT_FROM:
        text = text.replace(secret, "***")
    return " ".join(text.split())[:limit]


def _located(item: object) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc", []))
    return f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", ""))


def error_for(
    resp: httpx.Response, what: str, credential: str = "token", hint: str = "", secret: str | None = None
) -> RazeeError:
    """The razee error for an answer that is not a success. `what` names the request in the message (a path,
    or words), `credential` the token ("token", "admin token"), `hint` what to do about a refused token."""
    status = resp.status_code
    detail = answer_detail(resp, secret)
    said = f": {detail}" if detail else ""
    if status in (401, 403):
        advice = f"; {hint}" if hint else ""
        return HubAuthError(status, f"the hub refused the {credential} ({status}{said}){advice}")
    if status in (400, 413, 422):
        return HubRefused(status, f"the hub refused {what} ({status}{said})")
    if status == 404:
        return HubNotFound(status, f"the hub answered 404 for {what}{said}")
    return HubError(status, f"the hub answered {status} for {what}{said}")
