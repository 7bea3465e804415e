"""Options of the commands that reconcile a spoke (its Kubernetes cluster and its infrastructure)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from razee.cli.options import default_state_dir, state_dir_option
from razee.errors import UsageError
from razee.reconcile.plan import PassOptions, Target

F = TypeVar("F", bound=Callable[..., Any])

LOCAL_CLOUD_ENV = "RAZEE_LOCAL_CLOUD_"
"""Environment variables RAZEE_LOCAL_CLOUD_<NAME> set the `local` provider's setting <name> (razee.infra.local)."""
LOCAL_CLOUD_FILE = "local-cloud.sqlite"
"""The `local` provider's simulated cloud, in the state folder that `razee agent`, `diff` and `apply` share."""


_TARGET_OPTIONS = [
    click.option("--spoke", default=None, metavar="NAME", help="The spoke whose desired state to reconcile."),
    click.option(
        "--kubeconfig",
        default=None,
        metavar="FILE",
        help="kubeconfig file. Default: in-cluster config, else $KUBECONFIG or ~/.kube/config.",
    ),
    click.option("--context", default=None, metavar="NAME", help="kubeconfig context to use."),
    click.option(
        "--kube/--no-kube", "with_kube", default=True, show_default=True, help="Include the spoke's Kubernetes objects."
    ),
    click.option(
        "--infra/--no-infra",
        "with_infra",
        default=True,
        show_default=True,
        help="Include the spoke's infrastructure (customer clusters and workers).",
    ),
    click.option(
        "--infra-db",
        envvar="RAZEE_LOCAL_CLOUD_DB",
        default=None,
        metavar="FILE",
        help="State file of the `local` provider (a simulated cloud). Default: $RAZEE_LOCAL_CLOUD_DB, "
        "else local-cloud.sqlite in --state-dir, as `razee agent` uses it.",
    ),
    state_dir_option("Where the `local` provider keeps its simulated cloud (the agent's --state-dir)."),
]
"""Which spoke, cluster and cloud a command reconciles."""

_APPLY_OPTIONS = [
    click.option(
        "--prune/--no-prune",
        default=True,
        show_default=True,
        help="Delete what razee manages that left the fleet repo.",
    ),
    click.option(
        "--allow-mass-prune",
        is_flag=True,
        help="Allow deleting most of what razee manages (objects or clusters) in one pass.",
    ),
    click.option(
        "--force-conflicts",
        is_flag=True,
        help="Take over fields that another server-side-apply manager owns (each takeover is shown). "
        "Without it, such a conflict stops the apply before anything changes.",
    ),
    click.option(
        "--concurrency",
        type=click.IntRange(1, 64),
        default=8,
        show_default=True,
        help="Parallel requests within an apply stage or wave.",
    ),
    click.option(
        "--require-signed",
        is_flag=True,
        help="Use only a commit signed by a trusted key (--rev, else HEAD of a clean tree).",
    ),
    click.option(
        "--trusted-keys",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        metavar="FILE",
        help="SSH allowed-signers file or armored GPG public keys (repeatable).",
    ),
]
"""How far a pass may go: pruning, conflict takeover, parallelism and the signed-commit rule."""


def cluster_options(f: F) -> F:
    """Add the options shared by `razee diff` and `razee apply`, in the order `--help` lists them."""
    for option in reversed(_TARGET_OPTIONS + _APPLY_OPTIONS):
        f = option(f)
    return f


def trusted_keys(kw: dict[str, Any]) -> list[Path] | None:
    """The keys to verify the revision with, or None when signatures are not required."""
    keys = list(kw.pop("trusted_keys", ()) or ())
    if kw.pop("require_signed", False):
        if not keys:
            raise UsageError("--require-signed needs --trusted-keys FILE")
        return keys
    if keys:
        raise UsageError("--trusted-keys goes with --require-signed")
    return None


def local_cloud_settings(infra_db: str | None, state_dir: Path | None) -> dict[str, str]:
    """The `local` provider's settings from the command: RAZEE_LOCAL_CLOUD_<NAME> variables, and its state file
    (--infra-db, else local-cloud.sqlite in the state folder every command shares)."""
    prefix = LOCAL_CLOUD_ENV
    settings = {k[len(prefix) :].lower(): v for k, v in os.environ.items() if k.startswith(prefix) and v}
    settings["db"] = infra_db or str((state_dir or default_state_dir()) / LOCAL_CLOUD_FILE)
    return settings


def target_and_options(kw: dict[str, Any], age_identity: str | None = None) -> tuple[Target, PassOptions]:
    """Pop the shared options from a command's keyword arguments."""
    settings = local_cloud_settings(kw.pop("infra_db", None), kw.pop("state_dir", None))
    spoke = kw.pop("spoke")
    if not spoke:
        raise UsageError("name the spoke to reconcile with --spoke (or set RAZEE_SPOKE)")
    target = Target(spoke, kw.pop("kubeconfig"), kw.pop("context"), settings)
    options = PassOptions(
        kube=kw.pop("with_kube"),
        infra=kw.pop("with_infra"),
        prune=kw.pop("prune"),
        allow_mass_prune=kw.pop("allow_mass_prune"),
        concurrency=kw.pop("concurrency"),
        take_over_conflicts=kw.pop("force_conflicts"),
        age_identity=age_identity,
    )
    return target, options
