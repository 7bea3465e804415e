"""The RemoteManifests source kind: a multi-document YAML file at a URL, pinned by its sha256 (the original
Razee's RemoteResource, with a pin), fetched once and kept by digest (DESIGN.md section 9)."""

from razee.sources.remote.expander import RemoteExpander

__all__ = ["RemoteExpander"]
