"""Shared vocabulary every layer uses: constants, the error tree, names, Kubernetes' own rules, the YAML factory.
May import: nothing of ours outside base. Pure: no I/O."""
