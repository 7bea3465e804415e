"""The Pod Security Standards' controls that apply from the baseline level: host access, privileges and the
kernel's security features (some, such as capabilities and seccomp, are stricter again at restricted).
"""

from __future__ import annotations

from collections.abc import Iterator

from razee.policy.base import Violation
from razee.policy.pss_pods import LEVELS, Control, Pod
from razee.policy.pss_pods import as_dict as _d
from razee.policy.pss_pods import as_list as _l

BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


class HostProcess(Control):
    name = "pss-host-process"
    description = "baseline: no Windows HostProcess pods or containers"

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        if _d(pod.security.get("windowsOptions")).get("hostProcess") is True:
            yield self.violation(
                pod, f"{pod.base}.securityContext.windowsOptions.hostProcess", "hostProcess is not allowed"
            )
        for path, c, sc in pod.containers():
            if _d(sc.get("windowsOptions")).get("hostProcess") is True:
                yield self.violation(
                    pod,
                    f"{path}.securityContext.windowsOptions.hostProcess",
                    f"container {c.get('name')!r} runs as a hostProcess",
                )


class HostNamespaces(Control):
    name = "pss-host-namespaces"
    description = "baseline: no hostNetwork, hostPID or hostIPC"

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.spec.get(flag) is True:
                yield self.violation(pod, f"{pod.base}.{flag}", f"{flag} is not allowed")


class Privileged(Control):
    name = "pss-privileged"
    description = "baseline: no privileged containers"

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        for path, c, sc in pod.containers():
            if sc.get("privileged") is True:
                yield self.violation(
                    pod, f"{path}.securityContext.privileged", f"container {c.get('name')!r} is privileged"
                )


class Capabilities(Control):
    name = "pss-capabilities"
    description = "baseline: add only the default capabilities; restricted: drop ALL and add at most NET_BIND_SERVICE"

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        restricted = pod.level >= LEVELS["restricted"] and not pod.windows
        allowed = frozenset({"NET_BIND_SERVICE"}) if restricted else BASELINE_CAPABILITIES
        for path, c, sc in pod.containers():
            caps = _d(sc.get("capabilities"))
            added = [str(a) for a in _l(caps.get("add")) if str(a) not in allowed]
            if added:
                yield self.violation(
                    pod,
                    f"{path}.securityContext.capabilities.add",
                    f"container {c.get('name')!r} adds {', '.join(added)}; allowed: {', '.join(sorted(allowed))}",
                )
            if restricted and "ALL" not in _l(caps.get("drop")):
                yield self.violation(
                    pod,
                    f"{path}.securityContext.capabilities.drop",
                    f"container {c.get('name')!r} must drop ALL capabilities",
                )


class HostPathVolumes(Control):
    name = "pss-host-path-volumes"
    description = "baseline: no hostPath volumes"

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        for i, v in enumerate(_l(pod.spec.get("volumes"))):
            if "hostPath" in _d(v):
                yield self.violation(
                    pod, f"{pod.base}.volumes[{i}].hostPath", f"hostPath volume {_d(v).get('name')!r} is not allowed"
                )


class HostPorts(Control):
    name = "pss-host-ports"
    description = "baseline: no host ports"

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        for path, c, _ in pod.containers():
            for j, port in enumerate(_l(c.get("ports"))):
                host_port = _d(port).get("hostPort")
                if host_port not in (None, 0):
                    yield self.violation(
                        pod, f"{path}.ports[{j}].hostPort", f"container {c.get('name')!r} uses host port {host_port}"
                    )


class AppArmor(Control):
    name = "pss-apparmor"
    description = "baseline: AppArmor profile RuntimeDefault or Localhost only (field and annotation)"

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        kind = _d(pod.security.get("appArmorProfile")).get("type")
        if kind is not None and kind not in ("RuntimeDefault", "Localhost"):
            yield self.violation(
                pod, f"{pod.base}.securityContext.appArmorProfile.type", f"AppArmor profile {kind!r} is not allowed"
            )
        for path, c, sc in pod.containers():
            kind = _d(sc.get("appArmorProfile")).get("type")
            if kind is not None and kind not in ("RuntimeDefault", "Localhost"):
                yield self.violation(
                    pod,
                    f"{path}.securityContext.appArmorProfile.type",
                    f"container {c.get('name')!r} has AppArmor profile {kind!r}",
                )
        for key, value in _d(pod.meta.get("annotations")).items():
            if str(key).startswith(APPARMOR_ANNOTATION):
                text = str(value)
                if text != "runtime/default" and not text.startswith("localhost/"):
                    yield self.violation(
                        pod,
                        f"{pod.meta_path}.annotations",
                        f"annotation {key} is {text!r}; only runtime/default or localhost/*",
                    )


class SELinux(Control):
    name = "pss-selinux"
    description = "baseline: no custom SELinux user or role; type only container_t and its kin"

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        places = [(f"{pod.base}.securityContext", "the pod", pod.security)]
        places += [(f"{path}.securityContext", f"container {c.get('name')!r}", sc) for path, c, sc in pod.containers()]
        for path, who, sc in places:
            options = _d(sc.get("seLinuxOptions"))
            if str(options.get("type") or "") not in SELINUX_TYPES:
                yield self.violation(
                    pod, f"{path}.seLinuxOptions.type", f"{who} sets SELinux type {options.get('type')!r}"
                )
            for key in ("user", "role"):
                if options.get(key):
                    yield self.violation(
                        pod, f"{path}.seLinuxOptions.{key}", f"{who} sets SELinux {key} {options.get(key)!r}"
                    )


class ProcMount(Control):
    name = "pss-proc-mount"
    description = "baseline: the default /proc mount only"

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        for path, c, sc in pod.containers():
            if sc.get("procMount") not in (None, "Default"):
                yield self.violation(
                    pod,
                    f"{path}.securityContext.procMount",
                    f"container {c.get('name')!r} uses procMount {sc.get('procMount')!r}",
                )


class Seccomp(Control):
    name = "pss-seccomp"
    description = "baseline: never Unconfined; restricted: RuntimeDefault or Localhost on the pod or every container"

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        good = ("RuntimeDefault", "Localhost")
        pod_type = _d(pod.security.get("seccompProfile")).get("type")
        if pod_type == "Unconfined":
            yield self.violation(
                pod, f"{pod.base}.securityContext.seccompProfile.type", "seccomp profile Unconfined is not allowed"
            )
        restricted = pod.level >= LEVELS["restricted"] and not pod.windows
        for path, c, sc in pod.containers():
            kind = _d(sc.get("seccompProfile")).get("type")
            if kind == "Unconfined":
                yield self.violation(
                    pod,
                    f"{path}.securityContext.seccompProfile.type",
                    f"container {c.get('name')!r} has seccomp profile Unconfined",
                )
            elif restricted and kind not in good and pod_type not in (*good, "Unconfined"):  # else said above
                yield self.violation(
                    pod,
                    f"{path}.securityContext.seccompProfile.type",
                    f"container {c.get('name')!r} needs seccomp profile RuntimeDefault or "
                    "Localhost (on the container or the pod)",
                )


class Sysctls(Control):
    name = "pss-sysctls"
    description = "baseline: only the safe sysctls"

    def check_pod(self, pod: Pod) -> Iterator[Violation]:
        for i, s in enumerate(_l(pod.security.get("sysctls"))):
            name = str(_d(s).get("name"))
            if name not in SAFE_SYSCTLS:
                yield self.violation(
                    pod, f"{pod.base}.securityContext.sysctls[{i}].name", f"sysctl {name} is not in the safe set"
                )
