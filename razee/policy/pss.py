"""The Kubernetes Pod Security Standards, baseline and restricted, one rule per control (`pss-*`).

Each control checks the pod spec of every pod-bearing kind (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
Job, CronJob) and all of its containers, init containers and ephemeral containers. The level a pod is held to
comes from `policies.podSecurity` (namespace, then region, then fleet); a control applies from its own level up.
The checklist is the standard's own list of fields (kubernetes.io/docs/concepts/security/pod-security-standards).
"""

from __future__ import annotations

from razee.policy.pss_baseline import (
    AppArmor,
    Capabilities,
    HostNamespaces,
    HostPathVolumes,
    HostPorts,
    HostProcess,
    Privileged,
    ProcMount,
    Seccomp,
    SELinux,
    Sysctls,
)
from razee.policy.pss_pods import LEVELS, Control, Pod, effective_level, pods
from razee.policy.pss_restricted import PrivilegeEscalation, RunAsNonRoot, RunAsUser, VolumeTypes

__all__ = ["CONTROLS", "LEVELS", "Control", "Pod", "effective_level", "pods"]


CONTROLS: tuple[Control, ...] = (
    HostProcess(),
    HostNamespaces(),
    Privileged(),
    Capabilities(),
    HostPathVolumes(),
    HostPorts(),
    AppArmor(),
    SELinux(),
    ProcMount(),
    Seccomp(),
    Sysctls(),
    VolumeTypes(),
    PrivilegeEscalation(),
    RunAsNonRoot(),
    RunAsUser(),
)
