"""`razee secret`: age keys and encrypted secret files for the fleet repo."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pyrage

from razee.output import note, write
from razee.render.secrets import SECRETS_DIR, encrypt_secret_file


@click.group("secret")
def secret_group() -> None:
    """Encrypted secrets: environments/secrets/<name>.age, read by templates as secrets.<name>.<key>."""


@secret_group.command("keygen")
def keygen() -> None:
    """Print a new age identity on stdout (keep it secret); its public recipient goes to stderr."""
    identity = pyrage.x25519.Identity.generate()
    write(f"{identity}\n")
    note(f"recipient: {identity.to_public()}")


@secret_group.command("encrypt")
@click.option(
    "-r",
    "--recipient",
    "recipients",
    multiple=True,
    required=True,
    metavar="AGE1...",
    help="Public key that may decrypt (repeat for several: agents, operators).",
)
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("name")
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False, path_type=Path))
def encrypt(recipients: tuple[str, ...], source: Path, name: str, repo: Path) -> None:
    """Encrypt the YAML mapping in SOURCE into REPO/environments/secrets/NAME.age."""
    data = sys.stdin.buffer.read() if str(source) == "-" else source.read_bytes()
    target = repo / SECRETS_DIR / f"{name}.age"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(encrypt_secret_file(data, list(recipients)))
    note(f"wrote {target}; templates read it as secrets.{name}.<key>")
