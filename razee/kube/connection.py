"""How razee reaches an apiserver: a urllib3 pool with the cluster's TLS settings and credentials.

The common cases are read directly: a kubeconfig whose user has a token, a token file or a client certificate,
and the in-cluster service account. Importing the official client costs 0.2 to 0.5 s, more than a whole no-op diff
of a small spoke, so it is loaded only for what it alone handles: exec plugins, auth providers and basic auth.
Both paths verify TLS the same way.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import urllib3

from razee.errors import UsageError

IN_CLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
TOKEN_REFRESH_SECONDS = 60.0


class Connection(Protocol):
    server: str
    pool: urllib3.PoolManager

    def auth_headers(self) -> dict[str, str]: ...

    def close(self) -> None: ...


@dataclass
class DirectConnection:
    """A kubeconfig or in-cluster connection read without the official client."""

    server: str
    pool: urllib3.PoolManager
    token: str | None = None
    token_file: Path | None = None
    _cached: tuple[float, str] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def auth_headers(self) -> dict[str, str]:
        if self.token_file is not None:  # service-account tokens rotate: read again once a minute
            with self._lock:
                now = time.monotonic()
                if self._cached is None or now - self._cached[0] > TOKEN_REFRESH_SECONDS:
                    self._cached = (now, self.token_file.read_text().strip())
                return {"Authorization": f"Bearer {self._cached[1]}"}
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def close(self) -> None:
        self.pool.clear()


class LibraryConnection:
    """The official client, for the credentials only it handles (exec plugins, auth providers)."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self.server = str(api.configuration.host)
        self.pool: urllib3.PoolManager = api.rest_client.pool_manager
        self._auth: tuple[float, dict[str, str]] | None = None

    def auth_headers(self) -> dict[str, str]:
        """Credentials, refreshed once a minute (exec plugins and token files rotate them)."""
        now = time.monotonic()
        if self._auth is None or now - self._auth[0] > TOKEN_REFRESH_SECONDS:
            _, _, headers, _, _ = self.api.param_serialize(
                method="GET", resource_path="/", auth_settings=["BearerToken"]
            )
            self._auth = (now, dict(headers))
        return self._auth[1]

    def close(self) -> None:
        self.api.close()


def _pool(
    ca_file: str | None, ca_data: bytes | None, cert: tuple[str, str] | None, insecure: bool, pool_size: int
) -> urllib3.PoolManager:
    context = ssl.create_default_context(cafile=ca_file, cadata=ca_data.decode() if ca_data else None)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert:
        context.load_cert_chain(cert[0], cert[1])
    return urllib3.PoolManager(num_pools=4, maxsize=pool_size, ssl_context=context, retries=False)


def _materialise(data: str | None, path: str | None, base: Path, scratch: list[str]) -> str | None:
    """A file path for a `*-data` (base64) or a path entry; data lands in a private temp file, removed at exit."""
    if data:
        fd, name = tempfile.mkstemp(prefix="razee-kube-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64decode(data))
        scratch.append(name)
        return name
    if path:
        return str(path if os.path.isabs(path) else base / path)
    return None


def _named(items: Any, name: str, what: str, source: str) -> dict[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            return dict(item.get(what) or {})
    raise UsageError(f"cannot load Kubernetes credentials: {source} has no {what} named {name!r}")


def from_kubeconfig(path: Path, context: str | None, pool_size: int) -> DirectConnection | None:
    """A direct connection, or None when the user's credentials need the official client."""
    import json

    try:
        text = path.read_text()
    except OSError as e:
        raise UsageError(f"cannot load Kubernetes credentials from {path}: {e}") from e
    try:  # JSON is YAML too, and reads without importing a YAML parser
        doc = json.loads(text) if text.lstrip().startswith("{") else None
    except ValueError:
        doc = None
    if doc is None:
        import yaml

        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as e:
            raise UsageError(f"cannot load Kubernetes credentials from {path}: {e}") from e
    if not isinstance(doc, dict):
        raise UsageError(f"cannot load Kubernetes credentials from {path}: not a kubeconfig")
    name = context or doc.get("current-context")
    if not name:
        raise UsageError(f"cannot load Kubernetes credentials: {path} has no current-context; pass --context")
    ctx = _named(doc.get("contexts"), name, "context", str(path))
    cluster = _named(doc.get("clusters"), str(ctx.get("cluster")), "cluster", str(path))
    user = _named(doc.get("users"), str(ctx.get("user")), "user", str(path)) if ctx.get("user") else {}
    if set(user) - {
        "token",
        "tokenFile",
        "client-certificate",
        "client-certificate-data",
        "client-key",
        "client-key-data",
    } or set(cluster) - {"server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify"}:
        return None  # exec, auth-provider, basic auth, proxies, TLS server names: the official client's job
    if not cluster.get("server"):
        raise UsageError(f"cannot load Kubernetes credentials: cluster {ctx.get('cluster')!r} in {path} has no server")
    base, scratch = path.parent, list[str]()
    try:
        ca = _materialise(
            cluster.get("certificate-authority-data"), cluster.get("certificate-authority"), base, scratch
        )
        cert = _materialise(user.get("client-certificate-data"), user.get("client-certificate"), base, scratch)
        key = _materialise(user.get("client-key-data"), user.get("client-key"), base, scratch)
        pool = _pool(
            ca, None, (cert, key) if cert and key else None, bool(cluster.get("insecure-skip-tls-verify")), pool_size
        )
    except (OSError, ssl.SSLError, ValueError) as e:
        raise UsageError(f"cannot load Kubernetes credentials from {path}: {e}") from e
    finally:
        for name_ in scratch:  # the SSL context holds what it needs; nothing decoded stays on disk
            os.unlink(name_)
    token_file = user.get("tokenFile")
    return DirectConnection(
        str(cluster["server"]).rstrip("/"),
        pool,
        token=user.get("token"),
        token_file=Path(token_file) if token_file else None,
    )


def in_cluster(pool_size: int) -> DirectConnection | None:
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    token = IN_CLUSTER_DIR / "token"
    if not host or not port or not token.is_file():
        return None
    host = f"[{host}]" if ":" in host else host
    pool = _pool(str(IN_CLUSTER_DIR / "ca.crt"), None, None, False, pool_size)
    return DirectConnection(f"https://{host}:{port}", pool, token_file=token)


def connect(kubeconfig: str | None, context: str | None, pool_size: int = 16) -> Connection:
    """kubeconfig/context, else in-cluster config, else KUBECONFIG / ~/.kube/config. TLS is verified."""
    if not (kubeconfig or context):
        found = in_cluster(pool_size)
        if found is not None:
            return found
    if kubeconfig and not Path(kubeconfig).is_file():
        raise UsageError(f"cannot load Kubernetes credentials: {kubeconfig}: no such file")
    paths = [kubeconfig] if kubeconfig else (os.environ.get("KUBECONFIG") or "").split(os.pathsep)
    paths = [p for p in paths if p] or [str(Path.home() / ".kube" / "config")]
    if len(paths) == 1 and Path(paths[0]).is_file():
        direct = from_kubeconfig(Path(paths[0]), context, pool_size)
        if direct is not None:
            return direct
    return LibraryConnection(_library_client(kubeconfig, context, pool_size))


def _library_client(kubeconfig: str | None, context: str | None, pool_size: int) -> Any:
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config
    from kubernetes.config.config_exception import ConfigException

    configuration = k8s.Configuration()
    try:
        if kubeconfig or context:
            k8s_config.load_kube_config(
                config_file=kubeconfig, context=context, client_configuration=configuration, persist_config=False
            )
        else:
            try:
                k8s_config.load_incluster_config(client_configuration=configuration)
            except ConfigException:
                k8s_config.load_kube_config(client_configuration=configuration, persist_config=False)
    except (ConfigException, FileNotFoundError, OSError) as e:
        raise UsageError(f"cannot load Kubernetes credentials: {e}") from e
    configuration.connection_pool_maxsize = pool_size
    configuration.retries = False
    return k8s.ApiClient(configuration)
