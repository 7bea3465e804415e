"""Leader election with a coordination.k8s.io Lease, so two replicas of an agent never apply at once.

The holder renews the Lease every pass; another replica takes over only after the Lease has expired. Updates
carry the resourceVersion they read, so two replicas racing for an expired Lease cannot both win.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from razee.kube.client import Kube
from razee.kube.errors import Conflict, NotFound

LEASE_NAMESPACE = "razee-system"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _fmt(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    return None


class LeaderElection:
    def __init__(self, kube: Kube, name: str, identity: str, duration: int) -> None:
        self.kube = kube
        self.path = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases/{name}"
        self.collection = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases"
        self.name = name
        self.identity = identity
        self.duration = duration
        self.holder: str | None = None

    def _spec(self, transitions: int) -> dict[str, Any]:
        now = _fmt(_now())
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": self.duration,
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": transitions,
        }

    def acquire(self) -> bool:
        """Take or renew the Lease; True when this replica leads."""
        try:
            lease = self.kube.request("GET", "GET", self.path)
        except NotFound:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.name, "namespace": LEASE_NAMESPACE},
                "spec": self._spec(0),
            }
            try:
                self._ensure_namespace()
                self.kube.request("CREATE", "POST", self.collection, body=body)
            except Conflict:
                return False  # another replica created it first
            self.holder = self.identity
            return True
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity")
        renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
        expired = renewed is None or (_now() - renewed).total_seconds() > spec.get(
            "leaseDurationSeconds", self.duration
        )
        self.holder = holder
        if holder not in (None, "", self.identity) and not expired:
            return False
        new_spec = dict(spec)
        if holder == self.identity:
            new_spec["renewTime"] = _fmt(_now())
            new_spec["leaseDurationSeconds"] = self.duration
        else:
            new_spec = self._spec(int(spec.get("leaseTransitions", 0)) + 1)
        lease["spec"] = new_spec
        try:
            self.kube.request("UPDATE", "PUT", self.path, body=lease)
        except Conflict:
            return False  # someone else renewed or took it between our read and write
        self.holder = self.identity
        return True

    def release(self) -> None:
        """Give the Lease up on shutdown so another replica need not wait for it to expire."""
        try:
            lease = self.kube.request("GET", "GET", self.path)
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"]["holderIdentity"] = None
            lease["spec"]["renewTime"] = None
            self.kube.request("UPDATE", "PUT", self.path, body=lease)
        except Exception:  # best effort: the Lease expires by itself anyway
            return

    def _ensure_namespace(self) -> None:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": LEASE_NAMESPACE}}
        self.kube.request(
            "APPLY",
            "PATCH",
            f"/api/v1/namespaces/{LEASE_NAMESPACE}",
            {"fieldManager": "razee-inventory", "force": "true"},
            ns,
            "application/apply-patch+yaml",
        )
