"""``python -m rutopic`` runs the command line."""

from rutopic.cli import run

run()
