"""The HelmChart spec as a fleet writes it (issue #26's format: these names are the user-facing contract)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from razee.objects import Manifest
from razee.sources.specread import read_spec


class HelmSpec(BaseModel):
    """Either `repo` + `chart` + `version` (a pulled chart) or `path` (a chart in the fleet repo)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    repo: str | None = None
    chart: str | None = None
    version: str | None = None
    path: str | None = None
    digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    values: dict[str, Any] = Field(default_factory=dict)
    values_files: list[str] = Field(default_factory=list, alias="valuesFiles")
    depends_on: list[str] = Field(default_factory=list, alias="dependsOn")

    @model_validator(mode="after")
    def _one_origin(self) -> HelmSpec:
        pulled = [self.repo, self.chart, self.version]
        if self.path is not None:
            if any(p is not None for p in pulled):
                raise ValueError("give either path or repo/chart/version, not both")
        elif any(p is None for p in pulled):
            missing = [n for n, p in zip(("repo", "chart", "version"), pulled, strict=True) if p is None]
            raise ValueError(f"missing {', '.join(missing)} (or give path for a chart in the fleet repo)")
        elif not (self.repo or "").startswith(("http://", "https://", "oci://")):
            raise ValueError(f"repo must be an http(s):// chart repository or an oci:// registry, not {self.repo!r}")
        return self

    @property
    def address(self) -> str:
        """What `last_good` is remembered under: the chart's identity, whatever its digest."""
        return f"helm:{self.repo}|{self.chart}|{self.version}" if self.path is None else f"helm-path:{self.path}"


def parse_spec(decl: Manifest) -> HelmSpec:
    """The declaration's spec, or an InputError naming the declaring template's file, line and field."""
    return read_spec(decl, HelmSpec)
