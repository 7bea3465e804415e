"""The Kustomization source kind: a kustomization in the fleet repo, built by the official `kustomize build` with
remote bases off (DESIGN.md section 9): what razee applies is what kustomize builds from the fleet repo alone."""

from razee.sources.kustomize.expander import KustomizeExpander

__all__ = ["KustomizeExpander"]
