"""Options shared by several commands, so they are spelled and documented the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def repo_options(f: F) -> F:
    f = click.option("--rev", default=None, metavar="REV",
                     help="Use this git revision of the repo (the working tree is not touched).")(f)
    f = click.option("--repo", default=None, metavar="PATH",
                     help="Fleet repo. Default: the current directory if it is one, else the built-in example.")(f)
    return f


def selection_options(f: F) -> F:
    f = click.option("--region", default=None, metavar="NAME", help="Only the spokes of this region.")(f)
    f = click.option("--spoke", default=None, metavar="NAME", help="Only this spoke.")(f)
    return f
