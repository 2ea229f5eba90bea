"""The pure core: parsing, naming, merging and building objects, as functions of data, one subpackage per capability.
May import: base and core only. No I/O: no files, environment, network, click or cluster client."""
