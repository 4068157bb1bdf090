"""The optional extras of the package, and the command that installs each."""

from __future__ import annotations

EXTRAS = {"torch": "agents", "stable_baselines3": "agents", "sb3_contrib": "agents", "tensorboard": "agents",
          "ray": "ray", "optuna": "tune", "rl_zoo3": "zoo", "pandas": "calibrate", "statsmodels": "calibrate",
          "pyarrow": "calibrate"}
"""Top-level modules of the optional extras: module -> the extra that installs it."""


def install_hint(extra: str) -> str:
    """The command that installs ``extra`` (run from a clone, or from PyPI)."""
    return f"pip install -c constraints.txt -e '.[{extra}]' (from a clone) or pip install 'execgym[{extra}]'"


def missing_extra_message(error: ModuleNotFoundError) -> str | None:
    """What to install where ``error`` is the import of a module of an optional extra; None otherwise."""
    missing = (error.name or "").split(".")[0]
    if missing not in EXTRAS:
        return None
    return (f"this needs the optional extra {EXTRAS[missing]!r} ({missing} is not installed): "
            f"{install_hint(EXTRAS[missing])}")
