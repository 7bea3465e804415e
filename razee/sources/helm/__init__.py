"""The HelmChart source kind: a chart pulled from an HTTP(S) repository or an OCI registry, or read from the fleet
repo, rendered by the official `helm template` so that what razee applies is what Helm would (DESIGN.md section 9).
"""

from razee.sources.helm.expander import HelmExpander

__all__ = ["HelmExpander"]
