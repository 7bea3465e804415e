"""The report an agent posts, validated strictly: only identities, statuses and paths, never object contents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Result = Literal["applied", "in-sync", "drifted", "healed", "rejected", "failed", "standby", "waiting"]
Status = Literal["synced", "created", "updated", "drifted", "drifted-healed", "pruned", "failed", "kept", "pending"]
Short = Field(max_length=253)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ObjectIn(Strict):
    group: str = Field(max_length=253)
    kind: str = Field(max_length=64)
    namespace: str = Field(max_length=64)
    name: str = Field(max_length=253)
    status: Status
    paths: list[str] = Field(default_factory=list, max_length=100)
    message: str = Field(default="", max_length=1000)
    template: str = Field(default="", max_length=300)


class ReportIn(Strict):
    schema_: int = Field(alias="schema", ge=1, le=1)
    id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    time: float
    spoke: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    region: str = Field(max_length=64)
    agent: str = Field(max_length=128)
    result: Result
    source: dict[str, str] = Field(default_factory=dict)
    objects: list[ObjectIn] = Field(default_factory=list, max_length=50_000)
    counts: dict[str, int] = Field(default_factory=dict)
    infrastructure: dict[str, object] = Field(default_factory=dict)
    unhealthy: list[dict[str, str]] = Field(default_factory=list, max_length=1000)
    findings: list[str] = Field(default_factory=list, max_length=200)
    error: str | None = Field(default=None, max_length=4000)
    durations: dict[str, float] = Field(default_factory=dict)
    apiRequests: int = 0
    wave: str = Field(default="", max_length=64)
    rollout: dict[str, str] = Field(default_factory=dict)  # the revision it waits for, and why

    @model_validator(mode="after")
    def _objects_are_unique(self) -> ReportIn:
        seen: set[tuple[str, str, str, str]] = set()
        for o in self.objects:
            key = (o.group, o.kind, o.namespace, o.name)
            if key in seen:
                raise ValueError(f"object {o.kind} {o.namespace}/{o.name} appears twice in the report")
            seen.add(key)
        return self
