"""What the root command reads once and every subcommand uses: verbosity, the render cache, render settings.

Set by `razee` itself from its options (each also an environment variable, read by click), handed to the
subcommands as the click context object, and passed from there into the library: no library module reads the
environment for these.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from razee.render.cache import DiskRenderCache
from razee.render.settings import RenderSettings


@dataclass(frozen=True)
class CliState:
    verbosity: int = 0
    """-v count (or RAZEE_VERBOSE): 1 shows tracebacks and info logs, 2 debug logs."""
    cache_dir: Path | None = None
    """The render cache's folder (--cache-dir, RAZEE_CACHE_DIR); None when the cache is off (--no-cache)."""
    render: RenderSettings = field(default_factory=RenderSettings)
    """The age identity (--age-identity, RAZEE_AGE_IDENTITY) and worker processes (--processes, RAZEE_PROCESSES)."""

    def render_cache(self) -> DiskRenderCache | None:
        """The CLI's render cache (razee.render.cache), or None when it is off."""
        return DiskRenderCache(self.cache_dir) if self.cache_dir is not None else None


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/razee/render`, else `~/.cache/razee/render`."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "razee" / "render"
