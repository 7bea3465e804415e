"""The first steps of a pass: the revision's tree, loaded and rendered (a selection of spokes) through the policy gate.

Every command that reads a fleet repo starts here (render, validate, diff, apply, the preview, the agent), so a
render is the same wherever it runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from razee.errors import UsageError
from razee.render.cache import EngineSettings, ExpansionStamp, RenderCache, SpokeBundle, input_key
from razee.render.settings import RenderSettings
from razee.source.local import is_dirty, resolve_repo, revision_snapshot

if TYPE_CHECKING:  # the fleet model, renderer and gate load pydantic and Jinja: imported when a render runs
    from razee.fleet.fleet import Fleet, SpokeView
    from razee.objects import SpokeRender
    from razee.reconcile.expansion import LiveSpoke
    from razee.render.secrets import SecretStore
    from razee.sources.expand import SourceOptions


@dataclass(frozen=True)
class Selection:
    """Which spokes a command works on: one spoke, one region, or the whole fleet."""

    spoke: str | None = None
    region: str | None = None

    def views(self, fleet: Fleet) -> list[SpokeView]:
        if self.spoke and self.region:
            raise UsageError("give --spoke or --region, not both")
        if self.spoke:
            view = fleet.find_spoke(self.spoke)
            if view is None:
                known = ", ".join(v.spoke.name for v in fleet.spokes())
                raise UsageError(f"unknown spoke {self.spoke!r}; the fleet has: {known}")
            return [view]
        if self.region:
            if fleet.find_region(self.region) is None:
                raise UsageError(
                    f"unknown region {self.region!r}; the fleet has: {', '.join(r.name for r in fleet.regions)}"
                )
            return [v for v in fleet.spokes() if v.region.name == self.region]
        return list(fleet.spokes())


@contextmanager
def fleet_tree(repo: str | None, rev: str | None, trusted_keys: Sequence[Path] | None = None) -> Iterator[Path]:
    """The directory to read: the repo's working tree, or a snapshot of `rev`.

    With `trusted_keys`, only a commit signed by one of them is read (`rev`, else HEAD of a clean tree), and the
    snapshot is taken of the verified commit id, so nothing can change between check and use.
    """
    from razee.source.signatures import UnsignedRevision, verify_commit

    root = resolve_repo(repo)
    if trusted_keys is not None:
        if not rev and is_dirty(root):
            raise UnsignedRevision("refusing the working tree: it has uncommitted changes, which no one signed")
        commit = verify_commit(root, rev or "HEAD", trusted_keys)
        with revision_snapshot(root, commit) as snap:
            yield snap
        return
    if rev:
        with revision_snapshot(root, rev) as snap:
            yield snap
    else:
        yield root


def render(
    root: Path,
    selection: Selection,
    policies: bool = True,
    for_apply: bool = False,
    settings: RenderSettings | None = None,
    sources: SourceOptions | None = None,
) -> tuple[Fleet, list[SpokeRender]]:
    """Load, render, expand sources (offline: the fleet's declared kube version) and (unless told not to) pass
    the policy gate; raises on any problem, returns nothing partial.

    `for_apply` demands the real secrets (`settings.age_identity`); otherwise encrypted values render as
    placeholders.
    """
    from razee.render.secrets import SecretStore, load_identities

    settings = settings or RenderSettings()
    secrets = SecretStore(root, load_identities(settings.age_identity), require_identity=for_apply)
    fleet, results, _ = _render_with(root, selection, secrets, policies, settings.processes, None, sources)
    return fleet, results


def render_spoke(
    root: Path,
    spoke: str,
    cache: RenderCache | None = None,
    for_apply: bool = True,
    age_identity: str | None = None,
    live: LiveSpoke | None = None,
    sources: SourceOptions | None = None,
) -> SpokeBundle:
    """One spoke rendered, its sources expanded (with `live`'s capabilities, else offline) and gated, from
    `cache` when its inputs are unchanged (see razee.render.cache and `fresh_expansion`)."""
    key = input_key(root, spoke, for_apply) if cache is not None else ""
    if cache is not None:
        hit = cache.get(key)
        if hit is not None and (hit.stamp is None or _fresh_expansion(root, hit.stamp, live)):
            return hit
    from razee.fleet.model import parse_duration
    from razee.render.secrets import SecretStore, load_identities

    secrets = SecretStore(root, load_identities(age_identity), require_identity=for_apply)
    fleet, results, stamps = _render_with(root, Selection(spoke=spoke), secrets, live=live, sources=sources)
    view = fleet.find_spoke(spoke)
    assert view is not None  # the selection refused an unknown spoke
    spec = fleet.spec.engine
    engine = EngineSettings(
        spec.conflicts, float(parse_duration(spec.prune_timeout)), float(parse_duration(spec.hook_timeout))
    )
    bundle = SpokeBundle(
        spoke,
        view.region.name,
        view.spoke.wave,
        results[0].manifests,
        engine,
        decrypted=secrets.decrypted,
        fleet=fleet,
        sources=results[0].sources,
        stamp=stamps[0],
    )
    if cache is not None:
        cache.put(key, bundle)
    return bundle


def _render_with(
    root: Path,
    selection: Selection,
    secrets: SecretStore,
    policies: bool = True,
    processes: int | None = None,
    live: LiveSpoke | None = None,
    sources: SourceOptions | None = None,
) -> tuple[Fleet, list[SpokeRender], list[ExpansionStamp | None]]:
    """Render, expand each spoke's sources, gate; with each spoke's expansion stamp for its cached bundle."""
    from razee.fleet.loader import load_fleet
    from razee.policy.gate import enforce_policies
    from razee.reconcile.expansion import expand_renders
    from razee.render.renderer import render_spokes
    from razee.sources.expand import SourceOptions

    fleet = load_fleet(root)
    results = render_spokes(root, fleet, selection.views(fleet), secrets, processes)
    results, stamps = expand_renders(root, fleet, results, live, sources or SourceOptions(), secrets)
    if policies:
        enforce_policies(fleet, results)
    return fleet, results, stamps


def _fresh_expansion(root: Path, stamp: ExpansionStamp, live: LiveSpoke | None) -> bool:
    from razee.reconcile.expansion import fresh_expansion

    return fresh_expansion(root, stamp, live)
