"""razee: a pull-based GitOps reconciler for Kubernetes fleets."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # looked up on first use: importlib.metadata costs ~40 ms, and `razee --help` should not pay it
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("razee")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0.0.0+unknown"
    raise AttributeError(f"module 'razee' has no attribute {name!r}")


__all__ = ["__version__"]
