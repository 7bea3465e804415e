"""Rendering a spoke's desired state: spoke templates once, cluster templates per cluster, policy templates once.

Templates are found under `templates/{spoke,cluster,policy}/` as `*.yaml.j2`; names starting with `_` are helpers
for `{% import %}` and are not rendered on their own. Output order is fixed (template path, then cluster name),
so the same input always renders byte-identical output.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import re
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from razee.errors import Finding, InputError, Location
from razee.fleet.fleet import Fleet, SpokeView
from razee.fleet.model import Cluster
from razee.gcpause import paused_gc
from razee.objects import Manifest, ObjectKey, Provenance, SpokeRender, canonical
from razee.render.parallel import MIN_CLUSTERS, fork_map
from razee.render.sandbox import make_environment
from razee.render.secrets import SecretStore, find_leaks
from razee.yamlsrc import load_manifests

TEMPLATES_DIR = "templates"
GROUPS = ("spoke", "cluster", "policy")
MAX_OUTPUT_CHARS = 16 << 20


class Renderer:
    """Renders spokes of one fleet repo; templates compile once and are reused across spokes and clusters."""

    def __init__(self, repo: Path, fleet: Fleet, secrets: SecretStore | None = None) -> None:
        self.repo = repo
        self.fleet = fleet
        self.secrets = secrets if secrets is not None else SecretStore(repo, None, False)
        self.templates_root = repo / TEMPLATES_DIR
        self.env: SandboxedEnvironment = make_environment(self.templates_root)
        self.templates = {g: self._list(g) for g in GROUPS}

    def _list(self, group: str) -> list[str]:
        folder = self.templates_root / group
        if not folder.is_dir():
            return []
        return sorted(
            p.relative_to(self.templates_root).as_posix()
            for p in folder.rglob("*.yaml.j2")
            if not p.name.startswith("_") and p.is_file()
        )

    def subset(self, names: set[str]) -> Renderer:
        """This renderer limited to the named templates (paths under templates/), sharing compiled templates."""
        limited = copy.copy(self)
        limited.templates = {g: [t for t in ts if t in names] for g, ts in self.templates.items()}
        return limited

    def compile_all(self) -> None:
        """Compile every template now, so forked workers inherit them instead of each compiling its own."""
        for path in sorted(self.templates_root.rglob("*.j2")) if self.templates_root.is_dir() else []:
            with contextlib.suppress(jinja2.TemplateError):  # reported, located, when a spoke renders it
                self.env.get_template(path.relative_to(self.templates_root).as_posix())

    def render_spoke(self, view: SpokeView) -> SpokeRender:
        with paused_gc():
            return self._render_spoke(view)

    def _render_spoke(self, view: SpokeView) -> SpokeRender:
        base = {
            "fleet": self.fleet.spec,
            "region": view.region,
            "spoke": view.spoke,
            "secrets": self.secrets,
            "pod_security_level": functools.partial(self.fleet.spec.policies.pod_security.level_for, view.region.name),
        }
        spoke_values = self.fleet.spoke_values(view)
        out: list[Manifest] = []
        findings: list[Finding] = []
        for name in self.templates["spoke"]:
            self._render(name, {**base, "clusters": list(view.clusters), "values": spoke_values}, None, out, findings)
        for cluster in view.clusters:
            ctx = {**base, "cluster": cluster, "values": self.fleet.cluster_values(view, cluster)}
            for name in self.templates["cluster"]:
                self._render(name, ctx, cluster, out, findings)
        for name in self.templates["policy"]:
            self._render(
                name, {**base, "policies": self.fleet.spec.policies, "values": spoke_values}, None, out, findings
            )
        if not findings:
            check_duplicates(out, findings)
            findings.extend(find_leaks(out, self.secrets))
        if findings:
            findings = collapse_per_cluster(findings)
            raise InputError(
                findings,
                f"spoke {view.spoke.name}: {len(findings)} problem(s) in templates" if len(findings) > 1 else None,
            )
        return SpokeRender(view.spoke.name, view.region.name, tuple(out))

    def _render(
        self, name: str, ctx: Mapping[str, Any], cluster: Cluster | None, out: list[Manifest], findings: list[Finding]
    ) -> None:
        rel = f"{TEMPLATES_DIR}/{name}"
        try:
            text = self.env.get_template(name).render(ctx)
        except jinja2.TemplateSyntaxError as e:
            findings.append(
                Finding(Location(_rel_template(e.name or name), e.lineno), f"template syntax error: {e.message}")
            )
            return
        except (jinja2.UndefinedError, SecurityError, jinja2.TemplateError) as e:
            findings.append(Finding(_error_location(e, rel), _describe(e, cluster)))
            return
        except RecursionError as e:
            findings.append(Finding(_error_location(e, rel), "template recursion too deep"))
            return
        except Exception as e:  # a filter or operation failed inside the template (TypeError, ZeroDivision...)
            findings.append(Finding(_error_location(e, rel), _describe(e, cluster)))
            return
        if len(text) > MAX_OUTPUT_CHARS:
            findings.append(Finding(Location(rel), f"rendered output is larger than {MAX_OUTPUT_CHARS} characters"))
            return
        out.extend(parse_manifests(text, rel, cluster.name if cluster else None, findings))


def _rel_template(name: str) -> str:
    return name if name.startswith(f"{TEMPLATES_DIR}/") else f"{TEMPLATES_DIR}/{name}"


def _error_location(e: BaseException, fallback: str) -> Location:
    """The innermost template frame of the traceback; Jinja maps its line numbers to template lines."""
    marker = f"/{TEMPLATES_DIR}/"
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if marker in frame.filename and frame.filename.endswith(".j2"):
            rel = TEMPLATES_DIR + "/" + frame.filename.rsplit(marker, 1)[1]
            return Location(rel, frame.lineno)
    return Location(fallback)


def _describe(e: BaseException, cluster: Cluster | None) -> str:
    kind = {
        jinja2.UndefinedError: "undefined value",
        SecurityError: "not allowed in the template sandbox",
        jinja2.TemplateNotFound: "template not found",
    }.get(type(e), type(e).__name__)
    if isinstance(e, jinja2.TemplatesNotFound | jinja2.TemplateNotFound):
        kind = "template not found"
    msg = f"{kind}: {e}"
    return f"{msg} (rendering for cluster {cluster.name})" if cluster else msg


def parse_manifests(text: str, rel: str, cluster: str | None, findings: list[Finding]) -> list[Manifest]:
    out: list[Manifest] = []
    try:
        docs = load_manifests(text, rel)
    except InputError as e:
        suffix = f" (rendered for cluster {cluster})" if cluster else ""
        findings.extend(Finding(f.location, f"in rendered output{suffix}: {f.message}") for f in e.findings)
        return out
    index = 0
    for data, line in docs:
        if data is None:
            continue
        index += 1
        for obj, item in list_items(data):
            source = Provenance(rel, index, line, cluster, item)
            problem = manifest_problem(obj)
            if problem:
                where = f"document {index}" + (f", item {item}" if item is not None else "")
                findings.append(Finding(source.location(problem[0]), f"{problem[1]} ({where})"))
                continue
            out.append(Manifest(obj, source))
    return out


def list_items(data: Any) -> list[tuple[Any, int | None]]:
    """A `kind: List` document's items, numbered from 1 (kubectl and kustomize accept it); else the document."""
    if (
        isinstance(data, dict)
        and data.get("kind") == "List"
        and str(data.get("apiVersion")) == "v1"
        and isinstance(data.get("items"), list)
    ):
        return [(item, i) for i, item in enumerate(data["items"], 1)]
    return [(data, None)]


def manifest_problem(obj: Any) -> tuple[str | None, str] | None:
    if not isinstance(obj, dict):
        return None, f"a manifest must be a mapping, not {type(obj).__name__}"
    for field in ("apiVersion", "kind"):
        if not isinstance(obj.get(field), str) or not obj[field]:
            return field, f"manifest has no {field}"
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return "metadata", "manifest has no metadata"
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        if meta.get("generateName"):
            return "metadata.generateName", (
                "razee needs metadata.name: with generateName the server picks a new name at each create, so razee "
                "could never find the object again to compare, update or prune it, and would create another one "
                "every pass"
            )
        return "metadata.name", "manifest has no metadata.name"
    ns = meta.get("namespace")
    if ns is not None and (not isinstance(ns, str) or not ns):
        return "metadata.namespace", "metadata.namespace must be a non-empty string"
    return None


_FOR_CLUSTER = re.compile(r"(rendering|rendered) for cluster ([a-z0-9-]+)")
SHOWN_CLUSTERS = 3


def collapse_per_cluster(findings: list[Finding]) -> list[Finding]:
    """One finding per template problem, not one per cluster that hits it (a typo would print 250 lines)."""
    groups: dict[tuple[str, str], list[str]] = {}
    first: dict[tuple[str, str], Finding] = {}
    for f in findings:
        m = _FOR_CLUSTER.search(f.message)
        key = (str(f.location), _FOR_CLUSTER.sub(r"\1 for cluster *", f.message))
        first.setdefault(key, f)
        groups.setdefault(key, [])
        if m and m.group(2) not in groups[key]:
            groups[key].append(m.group(2))
    out: list[Finding] = []
    for key, f in first.items():
        clusters = groups[key]
        if len(clusters) <= 1:
            out.append(f)
            continue
        names = ", ".join(clusters[:SHOWN_CLUSTERS]) + (
            f" and {len(clusters) - SHOWN_CLUSTERS} more" if len(clusters) > SHOWN_CLUSTERS else ""
        )
        out.append(
            Finding(f.location, _FOR_CLUSTER.sub(rf"\1 for {len(clusters)} clusters: {names}", f.message, count=1))
        )
    return out


def check_duplicates(manifests: Iterable[Manifest], findings: list[Finding]) -> None:
    """Each object once, under whichever API group it is declared (razee.objects: one object, two names)."""
    seen: dict[ObjectKey, Manifest] = {}
    for m in manifests:
        key = canonical(m.key)
        first = seen.get(key)
        if first is None:
            seen[key] = m
        elif first.key == m.key:
            findings.append(Finding(m.source.location(), f"duplicate object {m.key}: also rendered by {first.source}"))
        else:
            findings.append(
                Finding(
                    m.source.location(),
                    (
                        f"duplicate object {m.key}: also rendered by {first.source} as {first.key.kind} in "
                        f"{first.obj.get('apiVersion')}; the server serves one object under both groups, so each pass "
                        "would apply it twice, once as each: declare it once"
                    ),
                )
            )


def render_spokes(
    repo: Path,
    fleet: Fleet,
    views: Iterable[SpokeView],
    secrets: SecretStore | None = None,
    processes: int | None = None,
) -> list[SpokeRender]:
    """Render several spokes (on every core when there are many), collecting every spoke's problems first."""
    renderer = Renderer(repo, fleet, secrets)
    chosen = list(views)
    weight = sum(len(v.clusters) for v in chosen)
    if weight >= MIN_CLUSTERS:
        renderer.compile_all()

    def one(index: int) -> tuple[SpokeRender | None, list[Finding], list[str]]:
        try:
            return renderer.render_spoke(chosen[index]), [], renderer.secrets.opened()
        except InputError as e:
            return None, e.findings, renderer.secrets.opened()

    outcomes = fork_map(one, range(len(chosen)), weight, processes)
    results: list[SpokeRender] = []
    findings: list[Finding] = []
    for result, problems, opened in outcomes:
        renderer.secrets.open_all(opened)  # what a worker decrypted counts here too (never cached on disk)
        if result is not None:
            results.append(result)
        findings.extend(f for f in problems if f not in findings)
    if findings:
        raise InputError(collapse_per_cluster(findings))
    return results
