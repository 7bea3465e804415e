"""`razee agent`: keep one spoke in sync with the fleet repo, unattended."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path
from types import FrameType

import click

from razee.agent.checks import DEFAULT_PROMETHEUS
from razee.agent.core import Agent, AgentSettings
from razee.agent.server import liveness, serve
from razee.cli.context import CliState
from razee.cli.kube_options import local_cloud_settings, trusted_keys
from razee.cli.options import default_state_dir, state_dir_option
from razee.errors import EXIT_CHANGES, UsageError
from razee.hubclient import parse_hubs
from razee.output import note, write
from razee.reconcile.plan import PassOptions
from razee.wire import PassOutcome


def _seconds(text: str) -> float:
    from razee.fleet.model import parse_duration

    try:
        return float(text) if text.replace(".", "", 1).isdigit() else float(parse_duration(text))
    except ValueError as e:
        raise UsageError(str(e)) from e


@click.command("agent")
@click.option("--spoke", required=True, metavar="NAME", help="The spoke this agent reconciles.")
@click.option(
    "--repo",
    required=True,
    metavar="URL|PATH",
    help="Fleet repo to follow: file://, http(s):// or ssh:// URL, or a local folder to watch.",
)
@click.option("--branch", default="main", show_default=True)
@click.option("--interval", default="60s", show_default=True, help="Full pass at least this often (drift checks).")
@click.option("--poll", default="5s", show_default=True, help="How often to look for a new revision.")
@click.option("--self-heal", is_flag=True, help="Correct drift; without it drift is only reported.")
@click.option("--once", is_flag=True, help="Run one pass, report it and exit (for cron-style scheduling).")
@click.option("--kubeconfig", default=None, metavar="FILE", help="Default: in-cluster config, else ~/.kube/config.")
@click.option("--context", default=None, metavar="NAME")
@state_dir_option(
    "Git cache, checkouts, report outbox and the local provider's simulated cloud (which `razee "
    "diff` and `razee apply` read at the same default)."
)
@click.option(
    "--infra-db",
    envvar="RAZEE_LOCAL_CLOUD_DB",
    default=None,
    metavar="FILE",
    help="State file of the `local` provider. Default: $RAZEE_LOCAL_CLOUD_DB, else local-cloud.sqlite in --state-dir.",
)
@click.option(
    "--hub",
    "hubs",
    multiple=True,
    metavar="URL[,URL...]",
    help="Hub to deliver reports to (they queue in the outbox). Repeatable or comma-separated: hubs in "
    "different places, tried in order; the agent stays on the one that works. Replicas behind one "
    "Service need one URL.",
)
@click.option(
    "--hub-token-file",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding this agent's hub token (or set RAZEE_HUB_TOKEN).",
)
@click.option("--listen", default="127.0.0.1:9464", show_default=True, help="Address for /healthz and /metrics.")
@click.option("--identity", default=None, help="Name of this replica in the leader Lease. Default: the host name.")
@click.option("--infra/--no-infra", "with_infra", default=True, show_default=True)
@click.option(
    "--prometheus",
    envvar="RAZEE_PROMETHEUS",
    default=DEFAULT_PROMETHEUS,
    show_default=True,
    metavar="URL",
    help="Prometheus that the wave's rollout checks query while it bakes (or RAZEE_PROMETHEUS).",
)
@click.option("--require-signed", is_flag=True, help="Apply only commits signed by a --trusted-keys key.")
@click.option(
    "--trusted-keys",
    "trusted_keys_",
    multiple=True,
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.pass_obj
def agent_cmd(
    state: CliState,
    /,
    spoke: str,
    repo: str,
    branch: str,
    interval: str,
    poll: str,
    self_heal: bool,
    once: bool,
    kubeconfig: str | None,
    context: str | None,
    state_dir: Path | None,
    infra_db: str | None,
    hubs: tuple[str, ...],
    hub_token_file: Path | None,
    listen: str,
    identity: str | None,
    with_infra: bool,
    require_signed: bool,
    trusted_keys_: tuple[Path, ...],
    prometheus: str,
) -> None:
    """Follow the fleet repo and reconcile SPOKE: render, policy gate, plan, apply, report, every pass.

    A revision that fails to render, breaks a policy or is not signed (with --require-signed) is reported and not
    applied; the agent keeps enforcing the last good one. Only the replica holding the Lease
    razee-system/razee-agent-<spoke> applies. SIGTERM finishes the current pass, then exits.
    """
    hub = parse_hubs(hubs) or None  # a malformed URL stops here, naming it, before anything starts
    keys = trusted_keys({"require_signed": require_signed, "trusted_keys": trusted_keys_})
    token = hub_token_file.read_text().strip() if hub_token_file else os.environ.get("RAZEE_HUB_TOKEN")
    state_dir = state_dir or default_state_dir()
    settings = AgentSettings(
        spoke=spoke,
        repo=repo,
        branch=branch,
        interval=_seconds(interval),
        poll=_seconds(poll),
        self_heal=self_heal,
        kubeconfig=kubeconfig,
        context=context,
        state_dir=state_dir,
        hub=hub,
        hub_token=token,
        identity=identity or socket.gethostname(),
        trusted_keys=tuple(keys) if keys is not None else None,
        provider_settings=local_cloud_settings(infra_db, state_dir),
        pass_options=PassOptions(infra=with_infra, age_identity=state.render.age_identity),
        prometheus=prometheus,
    )
    _run(Agent(settings), once=once, listen=listen)


def _run(agent: Agent, *, once: bool, listen: str) -> None:
    """Run the agent until SIGTERM (or one pass with --once, then print its report): kept apart from the option
    wiring so the command reads as "settings, then run", and so a signal only ever stops a whole pass."""

    def stop(signum: int, frame: FrameType | None) -> None:
        note(f"razee agent: signal {signum}, stopping after the current pass")
        agent.stop.set()

    signal.signal(signal.SIGTERM, stop)
    interval = agent.s.interval
    server = None if once else serve(listen, agent.metrics, liveness(lambda: agent.last_loop, interval))
    try:
        outcome = agent.run(once=once)
    finally:
        if server is not None:
            server.shutdown()
    if once and outcome is not None:
        write(json.dumps(outcome.to_report(), indent=2) + "\n")
        if outcome.result in (PassOutcome.FAILED, PassOutcome.REJECTED, PassOutcome.DRIFTED):
            raise click.exceptions.Exit(EXIT_CHANGES)
