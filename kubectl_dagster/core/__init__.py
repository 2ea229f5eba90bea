"""The pure core: parsing, naming, merging and building objects, as functions of data. No I/O here:
no files, no environment, no network, no click (tests/unit/test_layers.py checks it)."""
