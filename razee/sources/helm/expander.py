"""The HelmChart expander: pull (or read) the chart, render the release with `helm template`, and hand back its
objects with the chart file each came from. It raises before returning anything, so nothing is half-applied.

Renders are cached (razee.sources.helm.rendercache) by everything they depend on; a chart that calls `lookup`
against a live cluster is rendered every time, since the cluster is an input no key can hold.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import urlsplit

import yaml

from razee.errors import Finding, InputError, ServiceError
from razee.objects import Manifest, SourceInfo
from razee.sources.expander import ExpandContext, Expansion
from razee.sources.helm.chart import LocalChart, archive_chart, fleet_chart
from razee.sources.helm.namespaces import default_namespaces
from razee.sources.helm.pull import pull_chart
from razee.sources.helm.rendercache import Objects, cached_render, render_key, store_render
from razee.sources.helm.spec import HelmSpec, parse_spec
from razee.sources.helm.template import HelmFailed, Release, helm_template

UNSERVED_KINDS = "ensure CRDs are installed first"
"""helm's words when a server dry run meets a kind the cluster does not serve yet."""


class HelmExpander:
    kind: ClassVar[str] = "HelmChart"

    def expand(self, decl: Manifest, ctx: ExpandContext) -> Expansion:
        spec = parse_spec(decl)
        chart = self._chart(decl, spec, ctx)
        release = Release(
            decl.name, decl.namespace or "default", self._values(decl, spec, ctx), ctx.capabilities, ctx.kubeconfig
        )
        if chart.uses_lookup and ctx.kubeconfig is None:
            ctx.notes.append(f"HelmChart {decl.name} ({chart.name} {chart.version}): `lookup` sees nothing offline")
        objects = self._render(decl, spec, chart, release, ctx)
        kept: Objects = []
        tests = 0
        for obj, file in objects:
            hooks = str(((obj.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", ""))
            if "test" in {h.strip() for h in hooks.split(",")} or "test-success" in hooks:
                tests += 1
                continue
            kept.append((obj, _file(file, chart.name)))
        if tests:
            ctx.notes.append(f"HelmChart {decl.name}: {tests} test hook(s) not applied (razee never runs `helm test`)")
        if not kept:
            raise InputError([Finding(decl.source.location(), f"HelmChart {decl.name}: the chart renders nothing")])
        info = SourceInfo(
            decl.name, self.kind, chart.name or spec.chart, chart.version or spec.version, chart.digest, ctx.cluster
        )
        return Expansion(kept, info)

    def _chart(self, decl: Manifest, spec: HelmSpec, ctx: ExpandContext) -> LocalChart:
        if spec.path is not None:
            chart = fleet_chart(decl, spec.path, ctx)
            if spec.digest is not None and chart.digest != spec.digest:
                raise InputError(
                    [
                        Finding(
                            decl.source.location("spec.digest"),
                            (
                                f"HelmChart {decl.name}: chart {spec.path} has digest {chart.digest}, the spec pins "
                                f"{spec.digest}: refused"
                            ),
                        )
                    ]
                )
            return chart

        def pulled() -> tuple[LocalChart, list[str]]:
            notes: list[str] = []  # what the pull said (a last good copy used), for every release that uses it
            pull_ctx = replace(ctx, notes=notes)
            data, digest = pull_chart(decl, spec, pull_ctx)
            return archive_chart(data, digest, pull_ctx), notes

        creds = tuple(sorted(ctx.credentials.by_host.get(_host(spec), {}).items()))
        chart, said = ctx.shared.once(("helm-pull", spec.address, spec.digest, creds), pulled, (ServiceError,))
        ctx.notes.extend(n for n in said if n not in ctx.notes)
        return chart

    def _values(self, decl: Manifest, spec: HelmSpec, ctx: ExpandContext) -> tuple[dict[str, Any], ...]:
        layers: list[dict[str, Any]] = []
        root = ctx.repo.resolve()
        for i, rel in enumerate(spec.values_files):
            path = (root / rel).resolve()
            where = decl.source.location(f"spec.valuesFiles.{i}")
            if not path.is_relative_to(root) or not path.is_file():
                raise InputError([Finding(where, f"HelmChart {decl.name}: {rel} is not a file in the fleet repo")])
            try:
                loaded = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as e:
                raise InputError([Finding(where, f"HelmChart {decl.name}: {rel} is not YAML: {e}")]) from None
            if not isinstance(loaded, dict):
                raise InputError([Finding(where, f"HelmChart {decl.name}: {rel} is not a mapping of values")])
            layers.append(loaded)
        layers.append(spec.values)
        return tuple(layers)

    def _render(
        self, decl: Manifest, spec: HelmSpec, chart: LocalChart, release: Release, ctx: ExpandContext
    ) -> Objects:
        live_lookup = chart.uses_lookup and release.kubeconfig is not None
        key = render_key(chart.digest, release)
        if not live_lookup and (hit := cached_render(key, ctx.cache.root)) is not None:
            return hit
        try:
            objects = helm_template(chart.path, release if live_lookup else _offline(release))
        except HelmFailed as e:
            if not (live_lookup and UNSERVED_KINDS in e.message):
                raise _helm_error(decl, spec, chart, e.message) from None
            # a first install: the chart's own CRDs are not served yet, so helm's server dry run cannot map its
            # custom resources. Render without the cluster, as helm does before its CRDs exist.
            ctx.notes.append(
                f"HelmChart {decl.name}: `lookup` saw nothing: the cluster does not serve the "
                "chart's custom resource kinds yet (its CRDs apply first)"
            )
            try:
                objects = helm_template(chart.path, _offline(release))
            except HelmFailed as again:
                raise _helm_error(decl, spec, chart, again.message) from None
        default_namespaces(objects, release.namespace)
        if not live_lookup:
            store_render(key, objects, ctx.cache.root)
        return objects


def _offline(release: Release) -> Release:
    """A chart that never calls `lookup` renders the same without the cluster: keep it off the network."""
    return Release(release.name, release.namespace, release.values, release.capabilities, None)


def _file(source: str | None, chart: str) -> str | None:
    """helm's `# Source:` path; CRDs from a `crds/` folder get a file starting with "crds/" (the CRD stage's mark)."""
    if source is None:
        return None
    head, sep, tail = source.rpartition("/crds/")
    if sep and "/templates/" not in head + "/":
        sub = head.removeprefix(chart).strip("/")
        return f"crds/{sub + '/' if sub else ''}{tail}"
    return source


def _helm_error(decl: Manifest, spec: HelmSpec, chart: LocalChart, message: str) -> InputError | ServiceError:
    what = f"HelmChart {decl.name} (chart {chart.name or spec.chart or spec.path} {chart.version})"
    if "Kubernetes cluster unreachable" in message or "connection refused" in message:
        return ServiceError(f"{decl.source.location()}: {what}: {message}")
    field = "spec"
    if "values don't meet the specifications of the schema" in message:
        field, message = "spec.values", f"values fail the chart's values.schema.json: {message}"
    elif "error calling tpl" in message:
        field = "spec.values"
        message += (
            " (a value holding Helm template text, for a chart that `tpl`s it, must be written inside "
            "Jinja's {% raw %}…{% endraw %} so that razee's own rendering leaves it for Helm)"
        )
    return InputError([Finding(decl.source.location(field), f"{what}: {message}")])


def _host(spec: HelmSpec) -> str:
    """The host whose credentials a pull uses (they are part of what a shared pull is keyed by)."""
    return urlsplit(str(spec.repo)).netloc
