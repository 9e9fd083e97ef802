"""One module per AWS service; each exports SPECS, a tuple of ServiceSpec. Found by registry.py."""
