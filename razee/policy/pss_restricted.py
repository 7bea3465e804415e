"""The Pod Security Standards' controls that apply only at the restricted level: volume types, privilege
escalation and running as a non-root user.
"""

from __future__ import annotations

from collections.abc import Iterator

from razee.policy.base import Violation
from razee.policy.pss_pods import LEVELS, Control, Pod
from razee.policy.pss_pods import as_dict as _d
from razee.policy.pss_pods import as_list as _l

RESTRICTED_VOLUMES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)


class VolumeTypes(Control):
    name = "pss-volume-types"
    description = "restricted: only configMap, csi, downwardAPI, emptyDir, ephemeral, PVC, projected, secret volumes"
    level = LEVELS["restricted"]

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        for i, v in enumerate(_l(pod.spec.get("volumes"))):
            for source in sorted(set(_d(v)) - RESTRICTED_VOLUMES - {"name"}):
                yield self.violation(
                    pod,
                    f"{pod.base}.volumes[{i}].{source}",
                    f"volume {_d(v).get('name')!r} of type {source} is not allowed",
                )


class PrivilegeEscalation(Control):
    name = "pss-privilege-escalation"
    description = "restricted: allowPrivilegeEscalation: false on every container"
    level = LEVELS["restricted"]

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        if pod.windows:
            return
        for path, c, sc in pod.containers():
            if sc.get("allowPrivilegeEscalation") is not False:
                yield self.violation(
                    pod,
                    f"{path}.securityContext.allowPrivilegeEscalation",
                    f"container {c.get('name')!r} must set allowPrivilegeEscalation: false",
                )


class RunAsNonRoot(Control):
    name = "pss-run-as-non-root"
    description = "restricted: runAsNonRoot: true on the pod or every container, and false nowhere"
    level = LEVELS["restricted"]

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        pod_value = pod.security.get("runAsNonRoot")
        if pod_value is False:
            yield self.violation(pod, f"{pod.base}.securityContext.runAsNonRoot", "runAsNonRoot is false")
        for path, c, sc in pod.containers():
            value = sc.get("runAsNonRoot")
            if value is False:
                yield self.violation(
                    pod, f"{path}.securityContext.runAsNonRoot", f"container {c.get('name')!r} sets runAsNonRoot: false"
                )
            elif value is not True and pod_value not in (True, False):  # a pod-level false is reported above
                yield self.violation(
                    pod,
                    f"{path}.securityContext.runAsNonRoot",
                    f"container {c.get('name')!r} needs runAsNonRoot: true (on the container or the pod)",
                )


class RunAsUser(Control):
    name = "pss-run-as-user"
    description = "restricted: runAsUser is never 0"
    level = LEVELS["restricted"]

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        if pod.security.get("runAsUser") == 0:
            yield self.violation(pod, f"{pod.base}.securityContext.runAsUser", "runAsUser is 0 (root)")
        for path, c, sc in pod.containers():
            if sc.get("runAsUser") == 0:
                yield self.violation(
                    pod, f"{path}.securityContext.runAsUser", f"container {c.get('name')!r} runs as user 0 (root)"
                )
