"""Which of a spoke's rendered objects are the agent's own, and how the agent reads its credentials.

The agent's own objects are its namespace and everything in it, plus the cluster-scoped objects named after it
(its ClusterRole and ClusterRoleBinding). Bootstrap applies these alone; the agent then applies everything else,
these included, itself. The workload is the Deployment or StatefulSet in that namespace whose container runs
`razee agent`; the Secret it reads (a volume, or an env secretKeyRef) is where bootstrap writes credentials.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from razee.errors import UsageError
from razee.objects import Manifest

NAMESPACE = "razee-system"
AGENT = "razee-agent"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


@dataclass(frozen=True)
class AgentWorkload:
    manifest: Manifest
    secret: str
    args: tuple[str, ...]

    def arg(self, option: str) -> str | None:
        """The value the agent's command line gives `option` (`--hub`, `--repo`), if any."""
        args = list(self.args)
        for i, a in enumerate(args):
            if a == option and i + 1 < len(args):
                return args[i + 1]
            if a.startswith(option + "="):
                return a.split("=", 1)[1]
        return None


def agent_objects(manifests: Iterable[Manifest]) -> tuple[Manifest, ...]:
    return tuple(
        m
        for m in manifests
        if m.namespace == NAMESPACE
        or (m.kind == "Namespace" and m.name == NAMESPACE)
        or (not m.namespace and m.name == AGENT)
    )


def _secret_names(pod_spec: dict[str, Any]) -> set[str]:
    names = {
        str(v["secret"]["secretName"])
        for v in pod_spec.get("volumes") or []
        if (v.get("secret") or {}).get("secretName")
    }
    for c in pod_spec.get("containers") or []:
        for env in c.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
            if ref.get("name"):
                names.add(str(ref["name"]))
    return names


def find_workload(objects: Sequence[Manifest], spoke: str) -> AgentWorkload:
    """The agent's workload and its credentials Secret; a fleet without them cannot be bootstrapped."""
    for m in objects:
        if m.kind not in WORKLOAD_KINDS or m.namespace != NAMESPACE:
            continue
        pod = ((m.obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        for c in pod.get("containers") or []:
            args = tuple(str(a) for a in [*(c.get("command") or []), *(c.get("args") or [])])
            if "agent" not in args:
                continue
            secrets = _secret_names(pod)
            if len(secrets) != 1:
                found = ", ".join(sorted(secrets)) or "none"
                raise UsageError(
                    f"{m.source.template}: the agent's {m.kind} {m.name} must read its credentials "
                    f"from exactly one Secret (volume or env secretKeyRef); it reads {found}"
                )
            return AgentWorkload(m, secrets.pop(), args)
    raise UsageError(
        f"spoke {spoke} renders no razee agent: no Deployment or StatefulSet in {NAMESPACE} runs "
        "`razee agent` (templates/spoke/razee-agent.yaml.j2 in the example fleet does)"
    )
