"""Argument types shared by the command-line subcommands; each failure is a clear argparse error."""

from __future__ import annotations

import argparse
from typing import Any, Callable

import yaml


def integer_at_least(low: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers >= ``low``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    parse.__name__ = f"integer >= {low}"
    return parse


def number_or_yaml(text: str) -> Any:
    """A setting's value from the command line: an int or float where ``text`` is one (``5e5`` included, which
    YAML 1.1 reads as a string), else ``text`` read as YAML (``true``, ``[1, 2]``, ``relu``)."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return yaml.safe_load(text)
