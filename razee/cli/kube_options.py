"""Options of the commands that reconcile a spoke (its Kubernetes cluster and its infrastructure)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from razee.errors import UsageError
from razee.reconcile import PassOptions, Target

F = TypeVar("F", bound=Callable[..., Any])


def cluster_options(f: F) -> F:
    options = [
        click.option("--spoke", default=None, metavar="NAME", help="The spoke whose desired state to reconcile."),
        click.option("--kubeconfig", default=None, metavar="FILE",
                     help="kubeconfig file. Default: in-cluster config, else $KUBECONFIG or ~/.kube/config."),
        click.option("--context", default=None, metavar="NAME", help="kubeconfig context to use."),
        click.option("--kube/--no-kube", "with_kube", default=True, show_default=True,
                     help="Include the spoke's Kubernetes objects."),
        click.option("--infra/--no-infra", "with_infra", default=True, show_default=True,
                     help="Include the spoke's infrastructure (customer clusters and workers)."),
        click.option("--infra-db", default=None, metavar="FILE",
                     help="State file of the `local` provider (a simulated cloud). Default: "
                          "$RAZEE_LOCAL_CLOUD_DB, else ~/.local/state/razee/local-cloud.sqlite."),
        click.option("--prune/--no-prune", default=True, show_default=True,
                     help="Delete what razee manages that left the fleet repo."),
        click.option("--allow-mass-prune", is_flag=True,
                     help="Allow deleting most of what razee manages (objects or clusters) in one pass."),
        click.option("--force-conflicts", is_flag=True,
                     help="Take over fields that another server-side-apply manager owns (each takeover is shown). "
                          "Without it, such a conflict stops the apply before anything changes."),
        click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True,
                     help="Parallel requests within an apply stage or wave."),
        click.option("--require-signed", is_flag=True,
                     help="Use only a commit signed by a trusted key (--rev, else HEAD of a clean tree)."),
        click.option("--trusted-keys", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     metavar="FILE", help="SSH allowed-signers file or armored GPG public keys (repeatable)."),
    ]
    for option in reversed(options):
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


def target_and_options(kw: dict[str, Any]) -> tuple[Target, PassOptions]:
    """Pop the shared options from a command's keyword arguments."""
    settings = {"db": kw.pop("infra_db")} if kw.get("infra_db") else {}
    kw.pop("infra_db", None)
    spoke = kw.pop("spoke")
    if not spoke:
        raise UsageError("name the spoke to reconcile with --spoke (or set RAZEE_SPOKE)")
    target = Target(spoke, kw.pop("kubeconfig"), kw.pop("context"), settings)
    options = PassOptions(kube=kw.pop("with_kube"), infra=kw.pop("with_infra"), prune=kw.pop("prune"),
                          allow_mass_prune=kw.pop("allow_mass_prune"), concurrency=kw.pop("concurrency"),
                          take_over_conflicts=kw.pop("force_conflicts"))
    return target, options
