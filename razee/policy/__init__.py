"""The policy gate: rules evaluated on every rendered manifest before anything is applied."""
