"""The use-case layer: one pass of a spoke, the same for `razee diff`, `razee apply` and the agent.

- `load`: the revision's tree (`fleet_tree`), loaded and rendered through the policy gate (`render`,
  `render_spoke`, `Selection`);
- `plan`: a spoke's Kubernetes and infrastructure plans (`plan_spoke`, `Pass`, `Target`, `PassOptions`);
- `flow`: the pass itself (`reconcile`, `Intent`, `PassResult`), which the commands and the agent present.

Names are imported from their module on first use: `razee render` imports this package without loading the
Kubernetes client that planning needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names, for type checkers (re-exported: `import X as X`)
    from razee.reconcile.flow import ApplyMode as ApplyMode
    from razee.reconcile.flow import Intent as Intent
    from razee.reconcile.flow import PassResult as PassResult
    from razee.reconcile.flow import reconcile as reconcile
    from razee.reconcile.load import Selection as Selection
    from razee.reconcile.load import fleet_tree as fleet_tree
    from razee.reconcile.load import render as render
    from razee.reconcile.load import render_spoke as render_spoke
    from razee.reconcile.plan import InfraPass as InfraPass
    from razee.reconcile.plan import KubePass as KubePass
    from razee.reconcile.plan import Pass as Pass
    from razee.reconcile.plan import PassOptions as PassOptions
    from razee.reconcile.plan import Target as Target
    from razee.reconcile.plan import plan_infrastructure as plan_infrastructure
    from razee.reconcile.plan import plan_kube as plan_kube
    from razee.reconcile.plan import plan_spoke as plan_spoke

_HOMES = {
    **dict.fromkeys(("ApplyMode", "Intent", "PassResult", "reconcile"), "razee.reconcile.flow"),
    **dict.fromkeys(("Selection", "fleet_tree", "render", "render_spoke"), "razee.reconcile.load"),
    **dict.fromkeys(
        ("InfraPass", "KubePass", "Pass", "PassOptions", "Target", "plan_infrastructure", "plan_kube", "plan_spoke"),
        "razee.reconcile.plan",
    ),
}
"""Each exported name and the module that defines it."""

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'razee.reconcile' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
