"""The report an agent posts, validated strictly: only identities, statuses and paths, never object contents.

Numbers are strict (a string is not a number), finite and bounded; free-form parts are bounded in depth and size.
What fails here is a 422 that changes nothing. The agent trims its reports to these limits (razee/agent/report.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Result = Literal["applied", "in-sync", "drifted", "healed", "rejected", "failed", "standby", "waiting"]
Status = Literal["synced", "created", "updated", "drifted", "drifted-healed", "pruned", "failed", "kept", "pending",
                 "missing", "recreated", "terminating"]
DRIFT_STATUSES = ("drifted", "missing")
MAX_PATHS = 100
MAX_PATH = 1000
MAX_MESSAGE = 1000
MAX_ERROR = 4000
MAX_FINDING = 2000
MAX_TAKEOVERS = 20
MAX_DEPTH = 4
EARLIEST = 946_684_800.0  # 2000-01-01: an agent's clock before this is broken, not data
LATEST = 4_102_444_800.0  # 2100-01-01
Count = Annotated[int, Field(strict=True, ge=0, le=10_000_000)]
Seconds = Annotated[float, Field(strict=True, ge=0, le=10_000_000)]
Text = Annotated[str, Field(max_length=MAX_MESSAGE)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TakeoverIn(Strict):
    path: str = Field(max_length=MAX_PATH)
    manager: str = Field(max_length=128)


class ObjectIn(Strict):
    group: str = Field(max_length=253)
    kind: str = Field(max_length=64)
    namespace: str = Field(max_length=64)
    name: str = Field(max_length=253)
    status: Status
    paths: list[Annotated[str, Field(max_length=MAX_PATH)]] = Field(default_factory=list, max_length=MAX_PATHS)
    message: str = Field(default="", max_length=MAX_MESSAGE)
    template: str = Field(default="", max_length=300)
    takeovers: list[TakeoverIn] = Field(default_factory=list, max_length=MAX_TAKEOVERS)


class CheckIn(Strict):
    """One wave check's latest result on the spoke (razee/agent/checks.py)."""

    check: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    result: Literal["pass", "fail", "unknown"]
    value: float | None = Field(default=None, ge=-1e300, le=1e300)
    threshold: str = Field(default="", max_length=100)
    at: float = Field(ge=0, le=LATEST)  # the agent's clock: shown, never used for order
    error: str = Field(default="", max_length=MAX_MESSAGE)


def _bounded(value: Any, depth: int = 0) -> None:
    """Free-form data (the infrastructure summary): shallow, small strings, short lists, finite numbers."""
    if depth > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if len(value) > 100:
            raise ValueError("more than 100 keys")
        for k, v in value.items():
            if len(k) > 64:
                raise ValueError("a key longer than 64 characters")
            _bounded(v, depth + 1)
    elif isinstance(value, list):
        if len(value) > 100:
            raise ValueError("a list longer than 100 items")
        for v in value:
            _bounded(v, depth + 1)
    elif isinstance(value, str):
        if len(value) > MAX_MESSAGE:
            raise ValueError(f"a string longer than {MAX_MESSAGE} characters")
    elif isinstance(value, bool) or value is None:
        pass
    elif isinstance(value, int):
        if abs(value) > 10**12:
            raise ValueError("a number out of range")
    elif isinstance(value, float):
        if value != value or abs(value) > 1e12:  # NaN or absurd
            raise ValueError("a number out of range")
    else:
        raise ValueError(f"unexpected {type(value).__name__}")


class ReportIn(Strict):
    schema_: int = Field(alias="schema", ge=1, le=1, strict=True)
    id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    time: float = Field(strict=True, ge=EARLIEST, le=LATEST)  # the agent's clock: shown, never used for order
    spoke: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    region: str = Field(max_length=64)
    agent: str = Field(max_length=128)
    result: Result
    source: dict[Annotated[str, Field(max_length=32)], Text] = Field(default_factory=dict, max_length=16)
    objects: list[ObjectIn] = Field(default_factory=list, max_length=50_000)
    counts: dict[Status, Count] = Field(default_factory=dict)
    infrastructure: dict[str, Any] = Field(default_factory=dict)
    unhealthy: list[dict[Annotated[str, Field(max_length=32)], Text]] = Field(default_factory=list, max_length=1000)
    findings: list[Annotated[str, Field(max_length=MAX_FINDING)]] = Field(default_factory=list, max_length=200)
    error: str | None = Field(default=None, max_length=MAX_ERROR)
    durations: dict[Annotated[str, Field(max_length=32)], Seconds] = Field(default_factory=dict, max_length=20)
    apiRequests: Count = 0
    wave: str = Field(default="", max_length=64)
    rollout: dict[Annotated[str, Field(max_length=32)], Annotated[str, Field(max_length=MAX_ERROR)]] = Field(
        default_factory=dict, max_length=8)  # the revision it waits for, and why
    checks: list[CheckIn] = Field(default_factory=list, max_length=20)  # of the revision in `source`

    @field_validator("infrastructure")
    @classmethod
    def _infrastructure_is_bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        _bounded(value)
        return value

    @model_validator(mode="after")
    def _objects_are_unique(self) -> ReportIn:
        seen: set[tuple[str, str, str, str]] = set()
        for o in self.objects:
            key = (o.group, o.kind, o.namespace, o.name)
            if key in seen:
                raise ValueError(f"object {o.kind} {o.namespace}/{o.name} appears twice in the report")
            seen.add(key)
        return self
