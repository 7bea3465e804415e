"""Finding providers by name: plugins registered in the entry-point group `razee.providers`.

The registry imports no provider module itself, so a third-party provider is installed like any package and the
built-in ones (`local`, `aws`) register the same way, in razee's own package metadata. A provider's settings come
from `providers.<name>` in fleet.yaml, layered with the region file's, and are checked by the plugin's model
before anything is observed, so a typo is a `file:line: field` error that changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from razee.errors import Finding, InputError, Location, UsageError
from razee.fleet.fleet import Fleet, SpokeView
from razee.fleet.values import layered
from razee.infra.provider import Provider, ProviderContext, ProviderPlugin
from razee.yamlsrc import load_one

GROUP = "razee.providers"
FLEET_FILE = "environments/fleet.yaml"
log = logging.getLogger(__name__)

_extra: dict[str, ProviderPlugin] = {}


def add_plugin(plugin: ProviderPlugin) -> None:
    """Register a plugin in this process only (tests, embedding); installed packages use the entry point."""
    _extra[plugin.name] = plugin


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def provider_names() -> list[str]:
    return sorted(set(_entry_points()) | set(_extra))


def load_plugin(name: str) -> ProviderPlugin:
    if name in _extra:
        return _extra[name]
    ep = _entry_points().get(name)
    if ep is None:
        known = ", ".join(provider_names()) or "none"
        raise UsageError(
            f"unknown infrastructure provider {name!r}; installed: {known} "
            f"(a provider is a package with an entry point in the group {GROUP!r})"
        )
    try:
        plugin = ep.load()
    except Exception as e:  # a broken third-party package must not look like a razee crash
        raise UsageError(
            f"infrastructure provider {name!r} ({ep.value}) failed to load: {type(e).__name__}: {e}"
        ) from e
    if not isinstance(plugin, ProviderPlugin):
        raise UsageError(
            f"infrastructure provider {name!r}: entry point {ep.value} is a "
            f"{type(plugin).__name__}, not a razee.infra.provider.ProviderPlugin"
        )
    if plugin.name != name:
        raise UsageError(f"infrastructure provider {name!r}: entry point {ep.value} declares the name {plugin.name!r}")
    return plugin


def open_provider(
    name: str,
    runtime: Mapping[str, str],
    fleet: Fleet | None = None,
    view: SpokeView | None = None,
    root: Path | None = None,
) -> Provider:
    """Open provider `name` for a spoke: settings from the fleet repo (checked), plus runtime settings."""
    plugin = load_plugin(name)
    raw: dict[str, Any] = layered(
        fleet.spec.providers.get(name, {}) if fleet else {}, view.region.providers.get(name, {}) if view else {}
    )
    try:
        settings = plugin.settings.model_validate(raw)
    except ValidationError as e:
        raise InputError(
            _findings(e, name, fleet, view, root), f"invalid settings for the {name} infrastructure provider"
        ) from None
    flavors = sorted({p.flavor for c in view.clusters for p in c.worker_pools}) if view else []
    context = ProviderContext(
        fleet=fleet.spec.name if fleet else "",
        region=view.region.name if view else "",
        settings=settings,
        runtime=dict(runtime),
        zones=tuple(view.region.zones) if view else (),
        flavors=tuple(flavors),
    )
    return plugin.open(context)


def _findings(
    e: ValidationError, name: str, fleet: Fleet | None, view: SpokeView | None, root: Path | None
) -> list[Finding]:
    """Each error at the file (region file or fleet.yaml) and line its value came from."""
    region_file = fleet.region_files.get(view.region.name) if fleet and view else None
    region_raw = view.region.providers.get(name, {}) if view else {}
    out: list[Finding] = []
    for err in e.errors():
        loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
        in_region = bool(loc) and region_file is not None and loc[0] in region_raw
        file = region_file if in_region and region_file else FLEET_FILE
        path = ("providers", name, *loc)
        out.append(Finding(Location(file, _line(root, file, path), ".".join(str(p) for p in path)), err["msg"]))
    return out


def _line(root: Path | None, file: str, path: tuple[str | int, ...]) -> int | None:
    if root is None:
        return None
    try:
        return load_one((root / file).read_text(encoding="utf-8"), file).line_of(path)
    except (OSError, InputError):
        return None


def describe_providers() -> list[dict[str, Any]]:
    """Every installed provider with its package and settings, for `razee providers`; a broken one says why."""
    out: list[dict[str, Any]] = []
    points = _entry_points()
    for name in provider_names():
        ep = points.get(name)
        entry: dict[str, Any] = {"name": name, "entryPoint": ep.value if ep else "(registered in-process)"}
        if ep is not None and ep.dist is not None:
            entry["package"] = f"{ep.dist.name} {ep.dist.version}"
        try:
            plugin = load_plugin(name)
        except UsageError as e:
            entry["error"] = e.message
            out.append(entry)
            continue
        entry["summary"] = plugin.summary
        entry["settings"] = [
            {
                "name": f.alias or key,
                "type": _type_name(f.annotation),
                "required": f.is_required(),
                "default": None if f.is_required() else _jsonable(f.get_default(call_default_factory=True)),
                "description": f.description or "",
            }
            for key, f in plugin.settings.model_fields.items()
        ]
        out.append(entry)
    return out


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if not getattr(annotation, "__args__", None) else None
    return text or str(annotation).replace("typing.", "")


def _jsonable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | list | dict | type(None)) else str(value)
