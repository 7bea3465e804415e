"""User-facing output: the one place that writes results and messages for people.

Results go to stdout; messages (errors, progress, hints) go to stderr so that `razee render > out.yaml` stays clean.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported by the commands that print tables or diffs, not by every command
    from rich.console import Console


def stdout_console() -> Console:
    from rich.console import Console

    # piped output is for grep and logs: wide enough that table cells are never cut
    return Console(file=sys.stdout, highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 240)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def write(text: str) -> None:
    """Write raw result text (YAML, JSON) to stdout, byte for byte."""
    sys.stdout.write(text)
    sys.stdout.flush()


def error(message: str) -> None:
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()


def note(message: str) -> None:
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


class Lines:
    """Styled lines for stdout: coloured through rich on a terminal, plain text otherwise.

    A no-op `razee diff` in a pipe or CI then never imports rich (a tenth of its start-up).
    """

    def __init__(self) -> None:
        self._console = stdout_console() if sys.stdout.isatty() else None

    def line(self, text: str, style: str = "") -> None:
        if self._console is None:
            sys.stdout.write(text + "\n")
            return
        from rich.text import Text

        self._console.print(Text(text, style=style))
