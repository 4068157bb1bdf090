"""Argument types shared by the command-line subcommands; each failure is a clear argparse error."""

from __future__ import annotations

import argparse
import re
from typing import Any, Callable

from execgym.experiments.config import load_yaml

DOTTED_KEY = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
"""A dotted path into an experiment config, e.g. ``agent.hyperparameters.learning_rate``."""


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


def trading_session(text: str):
    """An argparse ``type`` for an exchange's session "HH:MM-HH:MM" (:class:`execgym.calibration.formats.Session`,
    imported here: it needs the calibrate extra)."""
    from execgym.calibration.formats import Session

    try:
        return Session.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def yaml_value(text: str) -> Any:
    """A setting's value from the command line: ``text`` read as YAML by the configs' loader, so the same text
    means the same in a file and on the command line (``5e5`` and ``3e-4`` are numbers, ``true``, ``[1, 2]``,
    ``relu``; ``nan`` stays text, which a numeric setting refuses)."""
    return load_yaml(text)


def split_setting(option: str, text: str, form: str, example: str) -> tuple[str, str]:
    """``"key=value"`` as (dotted key, value text); ValueError naming ``option``, the expected ``form``
    (``KEY=VALUE``) and an ``example``."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not DOTTED_KEY.fullmatch(key) or not value.strip():
        raise ValueError(f"{option}: {text!r} is not {form} with a dotted key, e.g. {example}")
    return key, value


def parse_settings(texts: list[str]) -> dict[str, Any]:
    """``--set`` options (``["training.total_steps=1000", ...]``) as {dotted key: value read as YAML}."""
    settings: dict[str, Any] = {}
    for text in texts:
        key, value = split_setting("--set", text, "KEY=VALUE", "agent.hyperparameters.learning_rate=1e-4")
        if key in settings:
            raise ValueError(f"--set: {key} is given twice")
        settings[key] = yaml_value(value)
    return settings
