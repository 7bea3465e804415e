"""Loading `environments/` into a validated Fleet, or failing with every problem found.

All files are checked before any error is raised, so one run shows a user every mistake, each as
`file:line: field.path: message`. Nothing is returned unless the whole fleet is valid.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from razee.errors import Finding, InputError, Location
from razee.fleet.checks import query_findings
from razee.fleet.fleet import Fleet
from razee.fleet.model import Cluster, FleetSpec, Region
from razee.fleet.schedule import CapacityError, assign_clusters
from razee.gcpause import paused_gc
from razee.yamlsrc import Located, load_one, load_one_fast

FLEET_FILE = "environments/fleet.yaml"
REGIONS_DIR = "environments/regions"

M = TypeVar("M", bound=BaseModel)


def field_path(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validate(model: type[M], doc: Located, findings: list[Finding]) -> M | None:
    try:
        return model.model_validate(doc.data)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
            # union members appear in loc as type names; keep the part that is a real path into the data
            real: tuple[str | int, ...] = ()
            node: Any = doc.data
            for p in loc:
                child = _child(node, p)
                if child is not _MISSING:
                    real, node = (*real, p), child
                elif err["type"] == "missing" and p == loc[-1]:
                    real = (*real, p)
            findings.append(Finding(Location(doc.file, doc.line_of(real), field_path(real) or None), err["msg"]))
        return None


_MISSING = object()


def _child(node: Any, key: str | int) -> Any:
    if isinstance(node, dict):
        return node.get(key, _MISSING)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return _MISSING


ParseCache = dict[tuple[str, str], Any]
"""Validated models by (file, content hash): two revisions of a repo share most files, so parse them once."""


def _read_text(root: Path, rel: str, findings: list[Finding]) -> str | None:
    try:
        return (root / rel).read_text(encoding="utf-8")
    except FileNotFoundError:
        findings.append(Finding(Location(rel), "file not found"))
    except (OSError, UnicodeDecodeError) as e:
        findings.append(Finding(Location(rel), f"cannot read: {e}"))
    return None


def _read(root: Path, rel: str, findings: list[Finding], fast: bool) -> Located | None:
    try:
        text = (root / rel).read_text(encoding="utf-8")
    except FileNotFoundError:
        findings.append(Finding(Location(rel), "file not found"))
        return None
    except (OSError, UnicodeDecodeError) as e:
        findings.append(Finding(Location(rel), f"cannot read: {e}"))
        return None
    try:
        return load_one_fast(text, rel) if fast else load_one(text, rel)
    except InputError as e:
        findings.extend(e.findings)
        return None


def load_fleet(root: Path, cache: ParseCache | None = None) -> Fleet:
    """Load and check the fleet repo at `root`.

    The first attempt parses with libyaml and keeps no line numbers, which is three times faster on big fleets.
    Only when it finds a problem does a second, line-tracking attempt run, so errors still name file and line.
    """
    with paused_gc():
        try:
            return _load(root, fast=True, cache=cache)
        except InputError:
            return _load(root, fast=False, cache=None)


def _model(
    model: type[M], root: Path, rel: str, findings: list[Finding], fast: bool, cache: ParseCache | None
) -> tuple[M | None, Located | None]:
    key: tuple[str, str] | None = None
    if cache is not None and fast:
        text = _read_text(root, rel, findings)
        if text is None:
            return None, None
        key = (rel, hashlib.sha256(text.encode()).hexdigest())
        hit = cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
    doc = _read(root, rel, findings, fast)
    result = (_validate(model, doc, findings) if doc else None), doc
    if key is not None and cache is not None and result[0] is not None:
        cache[key] = result
    return result


def _load(root: Path, fast: bool, cache: ParseCache | None) -> Fleet:
    findings: list[Finding] = []
    spec, spec_doc = _model(FleetSpec, root, FLEET_FILE, findings, fast, cache)
    regions: list[tuple[Region, Located]] = []
    region_dir = root / REGIONS_DIR
    files = sorted(region_dir.glob("*.yaml")) + sorted(region_dir.glob("*.yml")) if region_dir.is_dir() else []
    if not files:
        findings.append(Finding(Location(REGIONS_DIR), "no region files (*.yaml) found"))
    for path in files:
        rel = path.relative_to(root).as_posix()
        region, doc = _model(Region, root, rel, findings, fast, cache)
        if region is not None and doc is not None:
            regions.append((region, doc))
    if spec is None or findings:
        raise InputError(findings)
    assignments = _check_fleet(spec, regions, findings)
    if findings:
        raise InputError(findings)
    resolved = tuple(sorted((_apply_defaults(spec, r) for r, _ in regions), key=lambda r: r.name))
    fleet = Fleet(spec, resolved, assignments, {r.name: d.file for r, d in regions})
    if spec_doc is not None:
        findings.extend(query_findings(fleet, FLEET_FILE, spec_doc.line_of))
    if findings:
        raise InputError(findings)
    return fleet


def _apply_defaults(spec: FleetSpec, region: Region) -> Region:
    d = spec.cluster_defaults
    clusters = [
        c.model_copy(
            update={
                "kube_version": c.kube_version or d.kube_version,
                "encrypted_disks": d.encrypted_disks if c.encrypted_disks is None else c.encrypted_disks,
                "public_vlan": d.public_vlan if c.public_vlan is None else c.public_vlan,
            }
        )
        for c in region.clusters
    ]
    return region.model_copy(update={"clusters": clusters})


def _check_fleet(spec: FleetSpec, regions: list[tuple[Region, Located]], findings: list[Finding]) -> dict[str, str]:
    def at(doc: Located, path: tuple[str | int, ...], message: str) -> None:
        findings.append(Finding(Location(doc.file, doc.line_of(path), field_path(path)), message))

    waves = {w.name for w in spec.rollout.waves}
    seen_regions: dict[str, str] = {}
    seen_spokes: dict[str, tuple[str, str]] = {}  # spoke -> (region, file)
    seen_clusters: dict[str, str] = {}
    for region, doc in regions:
        if region.name in seen_regions:
            at(doc, ("name",), f"duplicate region {region.name!r} (also in {seen_regions[region.name]})")
        seen_regions.setdefault(region.name, doc.file)
        for i, s in enumerate(region.spokes):
            if s.name in seen_spokes:
                at(doc, ("spokes", i, "name"), f"duplicate spoke {s.name!r} (also in {seen_spokes[s.name][1]})")
            seen_spokes.setdefault(s.name, (region.name, doc.file))
            if s.wave not in waves:
                at(doc, ("spokes", i, "wave"), f"unknown wave {s.wave!r} (fleet.yaml defines {sorted(waves)})")
        for i, c in enumerate(region.clusters):
            seen_pools: set[str] = set()
            if c.name in seen_clusters:
                at(doc, ("clusters", i, "name"), f"duplicate cluster {c.name!r} (also in {seen_clusters[c.name]})")
            seen_clusters.setdefault(c.name, doc.file)
            for j, pool in enumerate(c.worker_pools):
                if pool.name in seen_pools:
                    at(doc, ("clusters", i, "workerPools", j, "name"), f"duplicate worker pool {pool.name!r}")
                seen_pools.add(pool.name)
                for k, zone in enumerate(pool.zones):
                    if zone not in region.zones:
                        at(
                            doc,
                            ("clusters", i, "workerPools", j, "zones", k),
                            f"unknown zone {zone!r} (region {region.name} has {region.zones})",
                        )
    assignments: dict[str, str] = {}
    for region, doc in regions:
        own = {s.name for s in region.spokes}
        ok = True
        for i, c in enumerate(region.clusters):
            if c.spoke is not None and c.spoke not in own:
                other = seen_spokes.get(c.spoke)
                why = f"belongs to region {other[0]}" if other else "does not exist"
                at(
                    doc,
                    ("clusters", i, "spoke"),
                    f"spoke {c.spoke!r} {why}; a cluster must use a spoke of its own region {region.name}",
                )
                ok = False
        if not ok:
            continue
        try:
            assignments.update(assign_clusters(region.spokes, region.clusters))
        except CapacityError as e:
            idx = _index_of(region.clusters, e.cluster)
            at(doc, ("clusters", idx, "spoke") if region.clusters[idx].spoke else ("clusters", idx), str(e))
    return assignments


def _index_of(clusters: list[Cluster], name: str) -> int:
    return next(i for i, c in enumerate(clusters) if c.name == name)
