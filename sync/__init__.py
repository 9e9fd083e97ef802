"""orgsync sync engine and command line."""
