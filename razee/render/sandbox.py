"""The Jinja2 environment templates render in: sandboxed, strict, confined to the repo's templates folder.

A fleet repo is code that runs on every spoke, so templates get no file system, no Python internals
(SandboxedEnvironment) and no silent blanks (StrictUndefined turns a typo into an error).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

MAX_TEMPLATE_BYTES = 1 << 20
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class RepoLoader(BaseLoader):
    """Loads templates only from inside `root`: no `..`, no absolute paths, no symlinks that lead outside."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        parts = template.replace("\\", "/").split("/")
        if template.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise TemplateNotFound(f"{template} (templates may only load files inside the templates folder)")
        path = os.path.join(self.root, *parts)
        real = os.path.realpath(path)
        if not real.startswith(self.real_root + os.sep):
            raise TemplateNotFound(f"{template} (it leads outside the templates folder)")
        try:
            size = os.path.getsize(real)
            if size > MAX_TEMPLATE_BYTES:
                raise TemplateNotFound(f"{template} (larger than {MAX_TEMPLATE_BYTES} bytes)")
            with open(real, encoding="utf-8") as fh:
                source = fh.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise TemplateNotFound(template) from None
        mtime = os.path.getmtime(real)
        return source, path, lambda: os.path.getmtime(real) == mtime


def _to_yaml(value: Any) -> str:
    """Inline YAML (flow style) so the result fits on the line where a template puts it.

    Templates call it with the same few values for every cluster (resources, zones, labels), and PyYAML's
    representer costs a fifth of a spoke's render, so results are remembered by value (types included).
    """
    key = _frozen(value)
    if key is None:
        return _dump_inline(value)
    hit = _TO_YAML_CACHE.get(key)
    if hit is None:
        if len(_TO_YAML_CACHE) >= _TO_YAML_CACHE_MAX:
            _TO_YAML_CACHE.clear()
        hit = _TO_YAML_CACHE[key] = _dump_inline(value)
    return hit


def _dump_inline(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, default_flow_style=True, sort_keys=True, width=1 << 30).strip()


_TO_YAML_CACHE: dict[Any, str] = {}
_TO_YAML_CACHE_MAX = 4096
_PLAIN = (str, int, float, bool, type(None))


def _frozen(value: Any, depth: int = 0) -> Any:
    """A hashable key that tells apart every value PyYAML would write differently; None for anything else."""
    kind = type(value)
    if kind in _PLAIN:
        return kind, value
    if depth > 20:
        return None
    if kind is list:
        items = tuple(_frozen(v, depth + 1) for v in value)
        return None if None in items else (list, items)
    if kind is dict:
        pairs = tuple((_frozen(k, depth + 1), _frozen(v, depth + 1)) for k, v in value.items())
        return None if any(k is None or v is None for k, v in pairs) else (dict, pairs)
    return None


def _quote(value: Any) -> str:
    return json.dumps(str(value))


def make_environment(templates_root: Path) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=RepoLoader(templates_root),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,
        cache_size=-1,
    )
    env.filters["to_yaml"] = _to_yaml
    env.filters["quote"] = _quote
    return env
