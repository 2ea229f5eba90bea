"""Registry entries as data: building and editing them from flags, listing, import, and the registry's Roles.
May import: base, core.assets, core.spec, core.chart, core.policy."""
