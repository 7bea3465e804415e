"""State the root command hands to subcommands."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CliState:
    verbosity: int = 0
