"""`python -m sync` runs the orgsync command line."""

from sync.cli import run

run()
