"""Change tracking: which assets a branch location adds, changes or removes against its base (assetdiff).
May import: base."""
