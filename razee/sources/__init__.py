"""Sources: expansion objects (HelmChart, Kustomization, RemoteManifests) a template declares, expanded into manifests
right after rendering and before the policy gate (DESIGN.md section 9). Never sent to a cluster themselves."""
