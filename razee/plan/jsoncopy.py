"""Copying JSON-shaped data (dicts, lists, scalars) several times faster than `copy.deepcopy`.

Manifests and live objects are plain JSON trees: no cycles, no shared references that must stay shared, no custom
classes. deepcopy's memo and dispatch cost most of a no-op diff of a large spoke; this copy skips both.
"""

from __future__ import annotations

from typing import Any


def copy_json(node: Any) -> Any:
    if type(node) is dict:
        return {k: copy_json(v) if type(v) in (dict, list) else v for k, v in node.items()}
    if type(node) is list:
        return [copy_json(v) if type(v) in (dict, list) else v for v in node]
    return node
