"""Getting a chart's archive: from an HTTP(S) chart repository (index.yaml), an OCI registry (`helm pull`), or the
cache when the chart is pinned or its repository is down.

A chart's digest is the sha256 of its .tgz archive: the index's `digest` field for an HTTP repository, and the
chart layer's digest for OCI (`helm push` stores the archive unchanged as that layer), so one pin means the same
bytes wherever the chart is served from.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import yaml

from razee.errors import Finding, InputError, ServiceError
from razee.objects import Manifest
from razee.sources.cache import digest_of
from razee.sources.expander import ExpandContext
from razee.sources.helm.helmbin import helm_env, helm_path
from razee.sources.helm.spec import HelmSpec

TIMEOUT_S = 30.0
"""One repository request: generous, as a busy registry answers slowly, yet a pass is not held for minutes."""


class Unreachable(Exception):
    """The repository could not be reached or failed (5xx): the last good copy may stand in."""


def pull_chart(decl: Manifest, spec: HelmSpec, ctx: ExpandContext) -> tuple[bytes, str]:
    """The chart archive and its digest, verified against the spec's pin; raises before returning anything else."""
    if spec.digest is not None and (cached := ctx.cache.get(spec.digest)) is not None:
        return cached, spec.digest
    try:
        data = _pull_oci(decl, spec, ctx) if str(spec.repo).startswith("oci://") else _pull_http(decl, spec, ctx)
    except Unreachable as e:
        last = ctx.cache.last_good(spec.address)
        cached = ctx.cache.get(last) if last and (spec.digest in (None, last)) else None
        if cached is None or last is None:
            raise ServiceError(f"{decl.source.location('spec.repo')}: HelmChart {decl.name}: {e}") from None
        ctx.notes.append(
            f"HelmChart {decl.name}: {spec.repo} unreachable ({e}); using the last good "
            f"{spec.chart} {spec.version} ({last})"
        )
        return cached, last
    digest = digest_of(data)
    if spec.digest is not None and digest != spec.digest:
        raise InputError(
            [
                Finding(
                    decl.source.location("spec.digest"),
                    (
                        f"HelmChart {decl.name}: {spec.chart} {spec.version} from {spec.repo} has digest {digest}, "
                        f"the spec pins {spec.digest}: refused"
                    ),
                )
            ]
        )
    ctx.cache.put(data)
    ctx.cache.remember(spec.address, digest)
    return data, digest


def _auth(repo: str, ctx: ExpandContext) -> tuple[str, str] | None:
    creds = ctx.credentials.by_host.get(urlsplit(repo).netloc)
    if creds and "username" in creds:
        return creds["username"], creds.get("password", "")
    return None


def _get(client: httpx.Client, url: str) -> httpx.Response:
    try:
        resp = client.get(url)
    except httpx.HTTPError as e:
        raise Unreachable(f"cannot reach {url}: {e}") from None
    if resp.status_code >= 500 or resp.status_code in (401, 403, 429):
        raise Unreachable(f"{url} answered {resp.status_code}")
    return resp


def _pull_http(decl: Manifest, spec: HelmSpec, ctx: ExpandContext) -> bytes:
    base = str(spec.repo).rstrip("/") + "/"
    auth = _auth(base, ctx)
    with httpx.Client(timeout=TIMEOUT_S, auth=auth, follow_redirects=True) as client:
        resp = _get(client, urljoin(base, "index.yaml"))
        if resp.status_code != 200:
            raise _unknown(decl, "spec.repo", f"{base}index.yaml answered {resp.status_code}: not a chart repository")
        try:
            index = yaml.safe_load(resp.text)
        except yaml.YAMLError:
            raise _unknown(decl, "spec.repo", f"{base}index.yaml is not YAML: not a chart repository") from None
        versions = (index or {}).get("entries", {}).get(spec.chart) if isinstance(index, dict) else None
        if not versions:
            raise _unknown(decl, "spec.chart", f"{base} has no chart {spec.chart!r}")
        entry = next((v for v in versions if str(v.get("version")) == spec.version), None)
        if entry is None or not entry.get("urls"):
            known = ", ".join(str(v.get("version")) for v in versions[:10])
            raise _unknown(decl, "spec.version", f"{base} has no {spec.chart} {spec.version} (it has {known})")
        url = urljoin(base, str(entry["urls"][0]))
        archive = _get(client, url)
        if archive.status_code != 200:
            raise _unknown(decl, "spec.version", f"{url} answered {archive.status_code}")
    want = entry.get("digest")
    if want and digest_of(archive.content) != f"sha256:{want}":
        raise InputError(
            [
                Finding(
                    decl.source.location("spec.version"),
                    (
                        f"HelmChart {decl.name}: {url} has digest {digest_of(archive.content)}, "
                        f"the repository's index says sha256:{want}: refused"
                    ),
                )
            ]
        )
    return archive.content


def _unknown(decl: Manifest, field: str, message: str) -> InputError:
    return InputError([Finding(decl.source.location(field), f"HelmChart {decl.name}: {message}")])


def _pull_oci(decl: Manifest, spec: HelmSpec, ctx: ExpandContext) -> bytes:
    ref = f"{str(spec.repo).rstrip('/')}/{spec.chart}"
    host = urlsplit(ref).netloc
    creds = ctx.credentials.by_host.get(host, {})
    with tempfile.TemporaryDirectory(prefix="razee-helm-pull-") as tmp:
        env = helm_env(Path(tmp))
        if "username" in creds:  # a registry config in the temp folder: never on a command line or in HOME
            token = base64.b64encode(f"{creds['username']}:{creds.get('password', '')}".encode()).decode()
            (Path(tmp) / "registry.json").write_text(json.dumps({"auths": {host: {"auth": token}}}))
            env["HELM_REGISTRY_CONFIG"] = str(Path(tmp) / "registry.json")
        args = [helm_path(), "pull", ref, "--version", str(spec.version), "--destination", tmp]
        if creds.get("plain_http") == "true" or host.split(":")[0] in ("127.0.0.1", "localhost", "[::1]"):
            args.append("--plain-http")
        proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=TIMEOUT_S * 4)
        if proc.returncode != 0:
            err = proc.stderr.strip().removeprefix("Error: ")
            refused = any(s in err.lower() for s in ("credential", "unauthorized", "denied", "401", "403"))
            if not refused and any(s in err for s in ("not found", "unknown", "MANIFEST_UNKNOWN", "NAME_UNKNOWN")):
                raise _unknown(decl, "spec.version", f"{ref} has no version {spec.version}: {err}")
            raise Unreachable(err)
        archives = [p for p in os.listdir(tmp) if p.endswith(".tgz")]
        return (Path(tmp) / archives[0]).read_bytes()
