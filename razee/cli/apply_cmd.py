"""`razee apply`: make a spoke's cluster and infrastructure match the fleet repo."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.progress import Progress

from razee.cli.kube_options import cluster_options, target_and_options, trusted_keys
from razee.cli.options import repo_options
from razee.errors import EXIT_SERVICE, EXIT_USER_ERROR
from razee.infra.report import print_infra_plan
from razee.kube.applier import ApplyResult
from razee.kube.health import Health
from razee.objects import ObjectKey
from razee.output import Lines, error, note
from razee.pipeline import fleet_tree
from razee.plan.format import print_plan
from razee.plan.model import Change
from razee.reconcile import KubePass, plan_spoke
from razee.render.cache import DiskRenderCache


@click.command("apply")
@repo_options
@cluster_options
@click.option("--wait", is_flag=True, help="Wait until workloads roll out, CRDs are Established and custom "
              "resources are Ready; exit 1 naming what is not healthy.")
@click.option("--timeout", type=click.FloatRange(1), default=300, show_default=True, help="Seconds --wait waits.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary, not the diff.")
def apply_cmd(repo: str | None, rev: str | None, wait: bool, timeout: float, quiet: bool, **kw: Any) -> None:
    """Apply a spoke's desired state: Kubernetes objects by server-side apply (field manager `razee`) in
    dependency order, then infrastructure changes wave by wave.

    Conflicts with other field managers stop the apply before anything changes, unless the object is annotated
    razee.io/force: "true" or --force-conflicts is given. An object another spoke declares and owns is held
    back and the rest applies. Pruning runs last, only when everything else applied, deletes only objects still
    labelled for this spoke, and is done when they are gone.

    Exit 0 when all applied (and, with --wait, became healthy); 1 when a prune was refused or is still
    terminating, or something is not healthy; 2 for input errors and conflicts (nothing applied) or objects held
    back; 4 when the cluster or provider failed a request.
    """
    keys = trusted_keys(kw)
    target, options = target_and_options(kw)
    with fleet_tree(repo, rev, keys) as root:
        run = plan_spoke(root, target, options, DiskRenderCache.default())
    failed = False
    refused = False
    held = False
    unhealthy: dict[ObjectKey, Health] = {}
    try:
        if not quiet:
            lines = Lines()
            if run.kube:
                print_plan(run.kube.plan, lines)
            if run.infra:
                print_infra_plan(run.infra.plan, lines)
        if run.kube:
            result = _apply_kube(run.kube)
            for key, message in result.failed:
                error(f"{key}: {message}")
            for key, message in result.held:
                error(f"{key}: held back: {message}")
            for key, message in result.terminating:
                error(f"{key}: not done: {message}")
            note(f"kubernetes: applied {len(result.applied)}, pruned {len(result.pruned)}, "
                 f"failed {len(result.failed)}"
                 + (f", held {len(result.held)}" if result.held else "")
                 + (f", terminating {len(result.terminating)}" if result.terminating else "")
                 + (f", let go of {len(result.released)}" if result.released else "")
                 + f" ({run.kube.plan.requests + result.requests} API requests, the plan's included)")
            if run.kube.plan.prune_refused:
                error(f"prune refused: {run.kube.plan.prune_refused}")
            failed |= not result.ok
            held |= bool(result.held)
            refused |= bool(run.kube.plan.prune_refused) or bool(result.terminating)
        if run.infra and not failed:
            infra = run.infra.apply()
            for change, message in infra.failed:
                error(f"infrastructure: {change.describe()}: {message}")
            note(f"infrastructure: {len(infra.done)} done, {len(infra.failed)} failed, {infra.retries} retried"
                 + (f"; {infra.stopped}" if infra.stopped else ""))
            if run.infra.plan.refused:
                error(f"infrastructure deletion refused: {run.infra.plan.refused}")
            failed |= bool(infra.failed)
            refused |= bool(run.infra.plan.refused) or bool(infra.stopped and not infra.failed)
        if wait and run.kube and not failed:
            unhealthy = run.kube.wait(timeout)
    finally:
        run.close()
    for key, health in sorted(unhealthy.items()):
        error(f"{key}: {health.status.value}: {health.reason}")
    if failed:
        raise click.exceptions.Exit(EXIT_SERVICE)
    if held:
        raise click.exceptions.Exit(EXIT_USER_ERROR)
    if refused or unhealthy:
        raise click.exceptions.Exit(1)


def _apply_kube(kube: KubePass) -> ApplyResult:
    total = sum(1 for c in kube.plan.changes if c.changes_cluster)
    if not (sys.stderr.isatty() and total):
        return kube.apply()
    with Progress(transient=True) as bar:
        task = bar.add_task("applying", total=total)

        def tick(change: Change, failure: str | None) -> None:
            bar.advance(task)

        return kube.apply(tick)
