"""The options of every command that asks a hub, written once (click only: importing it loads no HTTP client)."""

from __future__ import annotations

import click
from click.decorators import FC


def hub_options(f: FC, token_help: str = "Hub token (or RAZEE_HUB_TOKEN).") -> FC:
    """`--hub` and `--token`, as every command that asks a hub takes them (and their environment variables)."""
    f = click.option("--token", envvar="RAZEE_HUB_TOKEN", default=None, help=token_help)(f)
    f = click.option(
        "--hub",
        envvar="RAZEE_HUB",
        default="http://127.0.0.1:8080",
        show_default=True,
        metavar="URL[,URL...]",
        help="The hub; several, comma-separated, are tried in order.",
    )(f)
    return f


def reader_options(f: FC) -> FC:
    """`--hub`, a reader `--token` and `-o table|json`: the options of every command that reads fleet views."""
    f = click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True)(f)
    return hub_options(f, "Reader token (or RAZEE_HUB_TOKEN).")
