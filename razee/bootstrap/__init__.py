"""Put the first razee agent on a spoke and register it with the hub; after that the agent manages itself.

One run: render the spoke from the fleet repo the agent will follow; make sure the spoke has a live agent token at
the hub (reused when the one in the cluster still works, created otherwise or when rotating); apply the agent's
own objects with the engine (field manager `razee`, so the agent later finds them as its own, and no pruning);
write the token, and the git token if given, into the Secret the agent reads; and stamp the token's id on the
workload's pod template, so its pods restart exactly when the token changes. A rotated token's predecessor is
revoked last, once the new one is in place. Running it again changes nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from razee.bootstrap.agent_objects import NAMESPACE, AgentWorkload, agent_objects, find_workload
from razee.bootstrap.credentials import Credentials, apply_credentials, read_credentials, stamp_token
from razee.bootstrap.hub_tokens import AgentToken, HubTokens
from razee.errors import ServiceError, UsageError


@dataclass(frozen=True)
class BootstrapSettings:
    spoke: str
    hub: str
    repo: str
    admin_token: str
    branch: str = "main"
    git_token: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    rotate_token: bool = False
    age_identity: str | None = None  # decrypts the fleet's secrets for the render (the CLI's --age-identity)


@dataclass
class BootstrapResult:
    token_id: str = ""
    token: str = "unchanged"  # "created", "reused", "rotated" or "replaced" (the old one no longer worked)
    revoked: str | None = None
    applied: list[str] = field(default_factory=list)
    secret_changed: bool = False
    notes: list[str] = field(default_factory=list)


@contextmanager
def fleet_checkout(repo: str, branch: str) -> Iterator[Path]:
    """The fleet repo's tree: a local folder as it is, or the branch tip of a git URL (fetched into a temp dir)."""
    from razee.source.local import resolve_repo, revision_snapshot

    if "://" not in repo and not repo.startswith("git@"):
        yield resolve_repo(repo)
        return
    from razee.source.remote import GitSource

    with tempfile.TemporaryDirectory(prefix="razee-bootstrap-") as tmp:
        source = GitSource(repo, branch, Path(tmp) / "cache")
        try:
            commit = source.fetch()
        finally:
            source.close()
        with revision_snapshot(Path(tmp) / "cache", commit) as tree:
            yield tree


def bootstrap(settings: BootstrapSettings) -> BootstrapResult:
    from razee.plan.model import Action
    from razee.reconcile.load import render_spoke
    from razee.reconcile.plan import PassOptions, Target, plan_kube

    result = BootstrapResult()
    with fleet_checkout(settings.repo, settings.branch) as root:
        bundle = render_spoke(root, settings.spoke, age_identity=settings.age_identity)
    objects = agent_objects(bundle.manifests)
    workload = find_workload(objects, settings.spoke)
    _check_wiring(workload, settings, result)
    hub = HubTokens(settings.hub, settings.admin_token)

    hub.check_admin()  # a wrong admin token or hub fails here, before anything changes

    target = Target(settings.spoke, settings.kubeconfig, settings.context)
    run = plan_kube(objects, target, PassOptions(infra=False, prune=False, take_over_conflicts=True), bundle.engine)
    old_id: str | None = None
    try:
        if run.plan.has_errors:
            raise ServiceError(
                "the agent's objects cannot be applied:\n"
                + "\n".join(
                    f"  {c.key}: {c.reason}" for c in run.plan.changes if c.action in (Action.CONFLICT, Action.ERROR)
                )
            )
        current = read_credentials(run.kube, workload.secret)
        if settings.rotate_token and not current.hub_token:
            raise UsageError(
                f"--rotate-token: Secret {NAMESPACE}/{workload.secret} holds no hub token yet; "
                "run razee bootstrap without --rotate-token first"
            )
        applied = run.apply()
        if not applied.ok:
            raise ServiceError(
                "applying the agent's objects failed:\n" + "\n".join(f"  {key}: {why}" for key, why in applied.failed)
            )
        result.applied = [str(k) for k in applied.applied]
        new_token, old_id = _decide_token(hub, current, settings, result)
        wanted = Credentials(
            hub_token=new_token.token if new_token else current.hub_token,
            hub_token_id=new_token.id if new_token else current.hub_token_id,
            git_token=settings.git_token if settings.git_token is not None else current.git_token,
        )
        result.token_id = wanted.hub_token_id or ""
        result.secret_changed = apply_credentials(run.kube, workload.secret, settings.spoke, wanted)
        stamp_token(run.kube, run.discovery, workload.manifest, result.token_id)
    finally:
        run.kube.close()
    if old_id:
        result.revoked = old_id if hub.revoke(old_id) else None
    return result


def _check_wiring(workload: AgentWorkload, settings: BootstrapSettings, result: BootstrapResult) -> None:
    """What the rendered agent will do, compared with what bootstrap was told: a mismatch is worth a note."""
    if workload.arg("--hub") is None:
        result.notes.append(
            f"the agent's {workload.manifest.kind} has no --hub: it will not report to any hub "
            "(set values.agent.hub in the fleet repo)"
        )
    follows = workload.arg("--repo")
    if follows is not None and follows != settings.repo:
        result.notes.append(f"the agent will follow {follows} (values.fleetRepo), not {settings.repo}")


def _decide_token(
    hub: HubTokens, current: Credentials, settings: BootstrapSettings, result: BootstrapResult
) -> tuple[AgentToken | None, str | None]:
    """A new token to write (or None to keep the current one), and the id of the token to revoke afterwards."""
    if settings.rotate_token:
        result.token = "rotated"
        return hub.create_agent_token(settings.spoke), current.hub_token_id
    if current.hub_token and hub.agent_token_valid(current.hub_token, settings.spoke):
        result.token = "reused"
        return None, None
    result.token = "replaced" if current.hub_token else "created"
    return hub.create_agent_token(settings.spoke), None
