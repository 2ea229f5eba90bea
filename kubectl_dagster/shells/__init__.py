"""The thin I/O shells around the core: files, git, the API server, Dagster's GraphQL, the hook Job's script.
May import: base, core, shells."""
