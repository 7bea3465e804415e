"""The Kustomization spec as a fleet writes it (issue #26's format: these names are the user-facing contract)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from razee.objects import Manifest
from razee.sources.specread import read_spec


class KustomizeSpec(BaseModel):
    """`path`: a folder of the fleet repo holding a kustomization (kustomization.yaml, .yml or Kustomization)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    path: str
    depends_on: list[str] = Field(default_factory=list, alias="dependsOn")

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("path is empty: name a folder of the fleet repo")
        if value.startswith("/") or "://" in value:
            raise ValueError(f"path must be a folder of the fleet repo, relative to its root, not {value!r}")
        return value


def parse_spec(decl: Manifest) -> KustomizeSpec:
    """The declaration's spec, or an InputError naming the declaring template's file, line and field."""
    return read_spec(decl, KustomizeSpec)
