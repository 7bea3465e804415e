"""Comparing two revisions of a fleet repo without touching any cluster.

Both revisions are loaded (sharing parsed files), every spoke gets a fingerprint of its render inputs, and only
spokes whose fingerprints differ are rendered, at both revisions. `full=True` renders everything, which the
tests use to prove the shortcut changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from razee.errors import Finding, InputError
from razee.fleet.fleet import Fleet, SpokeView
from razee.fleet.loader import ParseCache, load_fleet
from razee.fleet.model import Cluster
from razee.objects import Manifest, ObjectKey, SpokeRender
from razee.plan.view import json_patch, mask_secrets, unified_diff
from razee.policy.gate import PolicyViolation, check_policies
from razee.preview.fingerprint import TemplateSet, changed_templates, inputs_fingerprint
from razee.preview.model import InfraDelta, ObjectChange, Preview, SpokePreview
from razee.render.parallel import MIN_CLUSTERS, fork_map
from razee.render.renderer import TEMPLATES_DIR, Renderer
from razee.render.secrets import SecretStore, load_identities
from razee.render.settings import RenderSettings
from razee.sources.expand import ExpandEnv, SourceOptions, expand_render, has_sources, offline_capabilities


@dataclass(frozen=True)
class Side:
    """One revision, loaded."""

    label: str
    root: Path
    fleet: Fleet
    templates: TemplateSet
    sources: SourceOptions = field(default_factory=SourceOptions)

    @classmethod
    def load(cls, label: str, root: Path, cache: ParseCache) -> Side:
        return cls(label, root, load_fleet(root, cache), TemplateSet(root))


def _renderers(old: Side, new: Side, age_identity: str | None) -> tuple[Renderer, Renderer]:
    """A renderer per side; without an identity, secrets render as placeholders derived from the ciphertext."""
    identities = load_identities(age_identity)
    return (
        Renderer(old.root, old.fleet, SecretStore(old.root, identities, False)),
        Renderer(new.root, new.fleet, SecretStore(new.root, identities, False)),
    )


_Outcome = tuple[SpokePreview | None, list[Finding], InputError | None]
"""One spoke's preview, the policy findings of its new render, and the input error that stopped it (as values:
fork_map's workers report failures back rather than raise them)."""


@dataclass
class _SpokeComparer:
    """Compares one spoke at both revisions; called once per spoke, in forked workers for a large fleet."""

    old: Side
    new: Side
    old_views: dict[str, SpokeView]
    new_views: dict[str, SpokeView]
    old_renderer: Renderer
    new_renderer: Renderer
    template_changes: set[str]
    full: bool

    def __call__(self, name: str) -> _Outcome:
        ov, nv = self.old_views.get(name), self.new_views.get(name)
        if (either := nv or ov) is None:
            return None, [], None  # asked for a spoke neither revision has; the caller checks names
        region = either.region.name
        only: set[str] | None = None  # the templates whose output may differ; None: all of them
        if ov is not None and nv is not None and not self.full and self._same_inputs(ov, nv):
            if self.old.templates.digest == self.new.templates.digest:
                return SpokePreview(name, region, rendered=False), [], None
            only = self.template_changes
        try:
            before, after, found, notes = self._render(ov, nv, only)
        except InputError as e:
            return None, [], e
        sides = (self.old.label, self.new.label)
        sp = SpokePreview(
            name,
            region,
            rendered=True,
            objects=compare_manifests(before, after, sides),
            infra=compare_infra(ov, nv),
            notes=notes,
        )
        sp.status = "added" if ov is None else "removed" if nv is None else ("changed" if sp.changed else "unchanged")
        return sp, found, None

    def _same_inputs(self, ov: SpokeView, nv: SpokeView) -> bool:
        """Whether the spoke's render inputs (its fleet settings, not the templates) are the same at both sides."""
        return inputs_fingerprint(self.old.fleet, ov, self.old.templates) == inputs_fingerprint(
            self.new.fleet, nv, self.new.templates
        )

    def _render(
        self, ov: SpokeView | None, nv: SpokeView | None, only: set[str] | None
    ) -> tuple[tuple[Manifest, ...], tuple[Manifest, ...], list[Finding], list[str]]:
        """Both sides' objects (only those of the `only` templates, when given), the new side's policy findings and
        the source notes. The new side renders whole: the policy gate and the duplicate check see every object."""
        after: tuple[Manifest, ...] = ()
        found: list[Finding] = []
        notes: list[str] = []
        if nv is not None:
            rendered = _expanded(self.new, nv, self.new_renderer.render_spoke(nv), notes)
            after = rendered.manifests
            found = check_policies(self.new.fleet, [rendered])
        old_side = self.old_renderer if only is None else self.old_renderer.subset(only)
        before = _expanded(self.old, ov, old_side.render_spoke(ov), []).manifests if ov else ()
        if only is not None:  # the other templates render the same objects at both revisions
            shown = {f"{TEMPLATES_DIR}/{t}" for t in only}
            after = tuple(m for m in after if m.source.template in shown)
        return before, after, found, notes


def compare_revisions(
    old: Side,
    new: Side,
    spokes: Iterable[str] | None = None,
    full: bool = False,
    settings: RenderSettings | None = None,
) -> Preview:
    settings = settings or RenderSettings()
    old_views = {v.spoke.name: v for v in old.fleet.spokes()}
    new_views = {v.spoke.name: v for v in new.fleet.spokes()}
    names = sorted(set(old_views) | set(new_views)) if spokes is None else sorted(spokes)
    old_renderer, new_renderer = _renderers(old, new, settings.age_identity)
    one = _SpokeComparer(
        old,
        new,
        old_views,
        new_views,
        old_renderer,
        new_renderer,
        changed_templates(old.templates, new.templates),
        full,
    )
    weight = sum(len(v.clusters) for n in names for v in (old_views.get(n), new_views.get(n)) if v is not None)
    if weight >= MIN_CLUSTERS:
        old_renderer.compile_all()
        new_renderer.compile_all()
    out: list[SpokePreview] = []
    violations: list[Finding] = []
    # spoke by spoke, on every core for a large fleet
    for sp, found, error in fork_map(one, names, weight, settings.processes):
        if error is not None:
            raise error
        violations.extend(f for f in found if f not in violations)
        if sp is not None:
            out.append(sp)
    if violations:
        # every agent would refuse this revision; spokes not rendered here kept the base revision's result
        raise PolicyViolation(
            violations, f"revision {new.label} violates {len(violations)} policy rule(s); every agent would refuse it"
        )
    return Preview(old.label, new.label, out)


def _expanded(side: Side, view: SpokeView, render: SpokeRender, notes: list[str]) -> SpokeRender:
    """The render with its sources expanded offline (the declared kube version; `lookup` sees nothing)."""
    if not has_sources(render):
        return render
    env = ExpandEnv(offline_capabilities(side.fleet, view), None, side.sources)
    expanded = expand_render(side.root, render, env)
    notes.extend(n for n in expanded.notes if n not in notes)
    return expanded.render


def compare_manifests(
    before: Iterable[Manifest], after: Iterable[Manifest], sides: tuple[str, str] = ("old", "new")
) -> list[ObjectChange]:
    old = {m.key: m for m in before}
    new = {m.key: m for m in after}
    changes: list[ObjectChange] = []
    for key in sorted(set(old) | set(new), key=_sort_key):
        a, b = old.get(key), new.get(key)
        if a is not None and b is not None and a.obj == b.obj:
            continue
        shown_a = _copy(a.obj) if a else None
        shown_b = _copy(b.obj) if b else None
        mask_secrets(shown_a, shown_b)
        label = str(key).replace(" ", "/")
        action = "added" if a is None else "removed" if b is None else "changed"
        paths = sorted({op["path"] for op in json_patch(shown_a, shown_b)}) if action == "changed" else []
        source = b.source if b is not None else a.source if a is not None else None
        changes.append(ObjectChange(key, action, source, paths, unified_diff(shown_a, shown_b, label, sides)))
    return changes


def _sort_key(key: ObjectKey) -> tuple[str, str, str, str]:
    return (key.namespace, key.kind, key.name, key.group)


def _copy(obj: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(obj)


def compare_infra(old: SpokeView | None, new: SpokeView | None) -> list[InfraDelta]:
    before = {c.name: c for c in (old.clusters if old else ())}
    after = {c.name: c for c in (new.clusters if new else ())}
    deltas: list[InfraDelta] = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        if a is None and b is not None:
            deltas.append(InfraDelta(name, "added", [_describe(b)]))
        elif b is None and a is not None:
            deltas.append(InfraDelta(name, "removed", [_describe(a)]))
        elif a is not None and b is not None:
            details = _cluster_changes(a, b)
            if details:
                deltas.append(InfraDelta(name, "changed", details))
    return deltas


def _describe(c: Cluster) -> str:
    pools = ", ".join(f"{p.name}: {p.size_per_zone}x{len(p.zones)} {p.flavor}" for p in c.worker_pools)
    return f"version {c.kube_version}, pools {pools}"


def _cluster_changes(a: Cluster, b: Cluster) -> list[str]:
    out: list[str] = []
    if a.kube_version != b.kube_version:
        out.append(f"version {a.kube_version} -> {b.kube_version}")
    if a.encrypted_disks != b.encrypted_disks:
        out.append(f"disk encryption {a.encrypted_disks} -> {b.encrypted_disks} (workers replaced)")
    if a.public_vlan != b.public_vlan:
        out.append(f"public VLAN {a.public_vlan} -> {b.public_vlan}")
    pa, pb = {p.name: p for p in a.worker_pools}, {p.name: p for p in b.worker_pools}
    for name in sorted(set(pa) | set(pb)):
        x, y = pa.get(name), pb.get(name)
        if x is None and y is not None:
            out.append(f"pool {name} added: {y.size_per_zone} per zone in {', '.join(y.zones)} ({y.flavor})")
        elif y is None and x is not None:
            out.append(f"pool {name} removed ({x.size_per_zone * len(x.zones)} workers)")
        elif x is not None and y is not None:
            if x.size_per_zone != y.size_per_zone or x.zones != y.zones:
                out.append(
                    f"pool {name} resized: {x.size_per_zone} per zone in {', '.join(x.zones)} -> "
                    f"{y.size_per_zone} per zone in {', '.join(y.zones)}"
                )
            if x.flavor != y.flavor:
                out.append(f"pool {name} re-flavored: {x.flavor} -> {y.flavor} (rolling replacement)")
    return out
