"""The CodeLocations format: parse, defaults, validation, and conversion to the chart's item (locations).
May import: base, core.assets."""
