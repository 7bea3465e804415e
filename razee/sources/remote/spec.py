"""The RemoteManifests spec as a fleet writes it (issue #26's format: these names are the user-facing contract).

The pin is required: an unpinned URL could serve anything tomorrow, and razee applies only what the fleet repo
fixes. Credentials never go in the URL (they would sit in the fleet repo, logs and reports); they come from the
agent's settings by host.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import ErrorDetails

from razee.objects import Manifest
from razee.sources.specread import read_spec

_HEX = re.compile(r"^[0-9a-f]{64}$")


class RemoteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    url: str
    sha256: str
    depends_on: list[str] = Field(default_factory=list, alias="dependsOn")

    @model_validator(mode="before")
    @classmethod
    def _pinned(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("sha256") in (None, ""):
            raise ValueError(
                "an unpinned URL is refused: give sha256, the file's SHA-256 (`sha256sum FILE`), so "
                "what is applied is what the fleet repo fixes"
            )
        return data

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url must be an http(s):// URL, not {value!r}")
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                "url must not carry credentials (they would end up in the fleet repo, logs and "
                "reports); the agent's settings give credentials by host"
            )
        return value

    @field_validator("sha256", mode="before")
    @classmethod
    def _hex(cls, value: Any) -> str:
        text = str(value).strip().lower().removeprefix("sha256:")
        if not _HEX.match(text):
            raise ValueError(f"sha256 must be 64 hex digits (`sha256sum FILE`), not {value!r}")
        return text

    @property
    def digest(self) -> str:
        return f"sha256:{self.sha256}"


def parse_spec(decl: Manifest) -> RemoteSpec:
    """The declaration's spec, or an InputError naming the declaring template's file, line and field."""
    return read_spec(decl, RemoteSpec, _unpinned)


def _unpinned(err: ErrorDetails) -> tuple[str, ...]:
    """A URL without its pin is refused by the model as a whole: the finding belongs at `spec.sha256`."""
    return ("sha256",) if "unpinned" in err["msg"] else ()
