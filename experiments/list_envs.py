"""``execgym list``: every environment id the suite provides, with its description."""

from __future__ import annotations

import argparse

from execgym.registry import PROBLEMS

NAME = "list"
HELP = "list the environment ids and what each one models"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``list`` takes no arguments."""


def run(args: argparse.Namespace) -> int:
    """Print one line per env id: the id, then its description."""
    width = max(map(len, PROBLEMS))
    for env_id, spec in PROBLEMS.items():
        print(f"{env_id:<{width}}  {spec.description}")
    return 0
