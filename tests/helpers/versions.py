"""The versions scripts/versions pins (Kubernetes, helm, kustomize...), as the tests that check them read them."""

from __future__ import annotations

from tests.conftest import REPO


def tool_versions() -> dict[str, str]:
    """NAME -> version, from the `NAME=version` lines of scripts/versions (comments dropped)."""
    pairs = (
        line.split("#", 1)[0].strip().split("=", 1) for line in (REPO / "scripts" / "versions").read_text().splitlines()
    )
    return {p[0]: p[1] for p in pairs if len(p) == 2}
