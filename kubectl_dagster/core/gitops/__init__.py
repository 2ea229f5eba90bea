"""GitOps as data: the ArgoCD plugin's parameters, per-PR previews, KRM functions, Image Updater checks.
May import: base, core.assets, core.spec, core.chart, core.registry."""
