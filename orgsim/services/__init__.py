"""One module per simulated AWS service; each registers itself (see ``orgsim.registry``)."""
