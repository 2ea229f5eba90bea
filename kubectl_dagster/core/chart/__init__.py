"""The chart's rendered output and the merge: manifests, release, workspace, objects, branchenv, hook, render.
May import: base, core.assets, core.spec, core.policy."""
