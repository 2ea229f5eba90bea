"""CI and branch deployments: git context, project config, deploy's entry, dagster-uc import, PR feedback.
May import: base, core.assets, core.spec, core.chart, core.registry."""
