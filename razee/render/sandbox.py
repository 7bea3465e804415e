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
    """Inline YAML (flow style) so the result fits on the line where a template puts it."""
    return yaml.dump(value, Dumper=_Dumper, default_flow_style=True, sort_keys=True, width=1 << 30).strip()


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
