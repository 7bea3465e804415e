"""A small, counted HTTP layer over the official client's configuration and connection pool.

razee needs only a few verbs (LIST, GET, server-side apply, DELETE) on arbitrary resources. Calling them as raw
REST keeps one code path for built-in and custom resources, avoids the dynamic client's full discovery on start,
and lets every request be counted, which the no-op benchmarks and the agent's metrics report.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from razee.errors import UsageError
from razee.kube.errors import KubeError, Unavailable, from_response

FIELD_MANAGER = "razee"
DEFAULT_TIMEOUT = (5.0, 60.0)
CONNECTION_RETRIES = 2
AUTH_REFRESH_SECONDS = 60.0


@dataclass
class RequestCounter:
    """API requests made, by verb; shared by the threads of one pass."""

    counts: dict[str, int]
    lock: threading.Lock

    @classmethod
    def new(cls) -> RequestCounter:
        return cls({}, threading.Lock())

    def add(self, verb: str) -> None:
        with self.lock:
            self.counts[verb] = self.counts.get(verb, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def writes(self) -> int:
        return sum(n for verb, n in self.counts.items() if verb in ("APPLY", "DELETE", "CREATE", "UPDATE"))


def load_api_client(kubeconfig: str | None, context: str | None, pool_size: int = 16) -> k8s.ApiClient:
    """kubeconfig/context, else in-cluster config, else KUBECONFIG / ~/.kube/config. TLS is verified."""
    configuration = k8s.Configuration()
    try:
        if kubeconfig or context:
            k8s_config.load_kube_config(config_file=kubeconfig, context=context,
                                        client_configuration=configuration, persist_config=False)
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


class Kube:
    """Raw, counted REST calls; every failure becomes a named KubeError."""

    def __init__(self, api: k8s.ApiClient, counter: RequestCounter | None = None) -> None:
        self.api = api
        self.counter = counter or RequestCounter.new()
        self._auth: tuple[float, dict[str, str]] | None = None
        self._timeout = urllib3.Timeout(connect=DEFAULT_TIMEOUT[0], read=DEFAULT_TIMEOUT[1])

    @property
    def server(self) -> str:
        return str(self.api.configuration.host)

    def close(self) -> None:
        self.api.close()

    def _auth_headers(self) -> dict[str, str]:
        """Credentials for a request, refreshed once a minute (exec plugins and token files rotate them)."""
        now = time.monotonic()
        if self._auth is None or now - self._auth[0] > AUTH_REFRESH_SECONDS:
            _, _, headers, _, _ = self.api.param_serialize(method="GET", resource_path="/",
                                                           auth_settings=["BearerToken"])
            self._auth = (now, dict(headers))
        return self._auth[1]

    def request(self, verb: str, method: str, path: str, query: dict[str, str] | None = None,
                body: Any = None, content_type: str = "application/json") -> Any:
        url = self.server + path + ("?" + urlencode(query) if query else "")
        headers = {**self._auth_headers(), "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        # UTF-8 as is: ASCII escapes of characters outside the BMP are surrogate pairs (`\ud83d\ude00`), which the
        # apiserver's YAML decoder of apply patches refuses, so one emoji in a ConfigMap would stall a whole spoke.
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        what = f"{method} {path}"
        for attempt in range(CONNECTION_RETRIES + 1):
            self.counter.add(verb)
            try:
                # The official client's pool carries TLS, client certificates and proxy settings; calling it
                # directly skips per-request work (proxy environment scans) that cost as much CPU as the request.
                resp = self.api.rest_client.pool_manager.request(
                    method, url, body=payload, headers=headers, timeout=self._timeout, preload_content=True,
                    retries=False)
                data = resp.data
                status = resp.status
                break
            except ApiException as e:
                raise from_response(e.status or 0, (e.body or "").encode() if isinstance(e.body, str)
                                    else (e.body or b""), what) from e
            except (urllib3.exceptions.HTTPError, OSError) as e:
                # Every verb razee uses is idempotent (GET, LIST, apply, DELETE), so a request on a pooled
                # connection the server had already closed is safe to repeat.
                if attempt < CONNECTION_RETRIES:
                    time.sleep(0.1 * (attempt + 1))
                    continue
                raise Unavailable(f"{what}: cannot reach {self.server}: {type(e).__name__}: {e}") from e
        if status >= 300:
            raise from_response(status, data, what)
        try:
            return json.loads(data) if data else None
        except ValueError as e:
            raise KubeError(f"{what}: the server sent invalid JSON", status) from e
