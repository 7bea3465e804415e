"""What the command line decides about rendering, passed down: no render module reads the environment itself."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderSettings:
    """Read by the CLI (its options, each also an environment variable) and handed to the render."""

    age_identity: str | None = None
    """The age identity file that decrypts the fleet's secrets (--age-identity, RAZEE_AGE_IDENTITY); without it
    encrypted values render as placeholders, and commands that apply refuse."""
    processes: int | None = None
    """Worker processes for whole-fleet work (--processes, RAZEE_PROCESSES); None: one per core, 1: no fork."""
