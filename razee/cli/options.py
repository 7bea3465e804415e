"""Options shared by several commands, so they are spelled and documented the same everywhere."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

STATE_DIR_ENV = "RAZEE_STATE_DIR"


def default_state_dir() -> Path:
    """`$XDG_STATE_HOME/razee`, else `~/.local/state/razee`: one place for the agent and the CLI alike."""
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "razee"


def state_dir_option(help_text: str) -> Callable[[F], F]:
    """`--state-dir`, spelled and defaulted the same for `razee agent`, `razee diff` and `razee apply`, so the
    local provider's simulated cloud an agent pass changed is the one the next diff reads."""
    return click.option(
        "--state-dir",
        envvar=STATE_DIR_ENV,
        default=None,
        type=click.Path(path_type=Path),
        help=help_text + " Default: $RAZEE_STATE_DIR, else $XDG_STATE_HOME/razee, else ~/.local/state/razee.",
    )


def repo_options(f: F) -> F:
    f = click.option(
        "--rev",
        default=None,
        metavar="REV",
        help="Use this git revision of the repo (the working tree is not touched).",
    )(f)
    f = click.option(
        "--repo",
        default=None,
        metavar="PATH",
        help="Fleet repo. Default: the current directory if it is one, else the built-in example.",
    )(f)
    return f


def selection_options(f: F) -> F:
    f = click.option("--region", default=None, metavar="NAME", help="Only the spokes of this region.")(f)
    f = click.option("--spoke", default=None, metavar="NAME", help="Only this spoke.")(f)
    return f
