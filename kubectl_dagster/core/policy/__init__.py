"""Registry trust: the LocationPolicy document, Pod Security levels, the checks of an entry's generated objects.
May import: base and core.spec."""
