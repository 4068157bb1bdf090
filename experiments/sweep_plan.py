"""What a sweep runs: one trial per (grid point × seed) of a config, each with its own output folder.

A grid is a list of ``key=v1,v2,...`` settings, ``key`` a dotted path into the
config (``agent.hyperparameters.learning_rate``, ``env.params.risk_aversion``,
``training.total_steps``; see :mod:`execgym.experiments.config`) and each value read as
YAML (``3e-4``, ``true``, ``[1, 2]``, ``relu``). The points are the Cartesian product of
the settings, in the order given; without a grid there is one point, the
config itself.

Layout under the sweep folder::

    sweep.yaml                       the config, the grid and the seeds (a rerun must match)
    <point>/config.yaml              the config of one grid point (``<point>`` names its settings)
    <point>/seed_<s>/                what ``execgym run`` writes for one seed (result.json last)

A trial is done when its ``result.json`` exists; a rerun skips done trials and
continues unfinished ones from their last checkpoint.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from execgym.atomic import write_text_atomically
from execgym.experiments.arguments import yaml_value, split_setting
from execgym.experiments.config import ExperimentConfig, load_yaml, parse_config, with_settings
from execgym.experiments.files import CorruptFile
from execgym.experiments.results import read_result


@dataclass(frozen=True)
class Trial:
    """One training run of a sweep: a grid point's config and one seed."""

    point: str                # folder name of the grid point ("default" without a grid)
    settings: dict[str, Any]  # the grid's values at this point, by dotted key
    config: ExperimentConfig  # the point's config; its ``output`` is the point's folder
    seed: int

    @property
    def folder(self) -> Path:
        return self.config.output / f"seed_{self.seed}"

    @property
    def done(self) -> bool:
        """Whether the trial's result.json exists and reads back (a corrupt one is rebuilt by rerunning)."""
        try:
            read_result(self.folder / "result.json")
        except (CorruptFile, FileNotFoundError):
            return False
        return True


def parse_seeds(text: str) -> tuple[int, ...]:
    """Seeds from ``"0-9"``, ``"0,3,7"`` or a mix (``"0-2,5"``); ValueError naming the accepted forms."""
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match or (match[2] is not None and int(match[2]) < int(match[1])):
            raise ValueError(f"--seeds: {text!r} is not a list of seeds such as 0-9, 0,3,7 or 0-2,5 "
                             "(integers >= 0, ranges low-high)")
        low = int(match[1])
        seeds += range(low, (int(match[2]) if match[2] is not None else low) + 1)
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds: {text!r} names a seed twice")
    return tuple(seeds)


def parse_grid(settings: list[str]) -> dict[str, list[Any]]:
    """``["key=v1,v2", ...]`` as {key: [values]} (values read as YAML); ValueError naming a bad setting."""
    grid: dict[str, list[Any]] = {}
    for setting in settings:
        key, values = split_setting("--grid", setting, "KEY=V1,V2,...", "agent.hyperparameters.learning_rate=1e-4,3e-4")
        if key in grid:
            raise ValueError(f"--grid: {key} is given twice")
        grid[key] = [yaml_value(value) for value in _split_values(values)]
    return grid


def _split_values(values: str) -> list[str]:
    """Split ``values`` at commas outside brackets (so ``[1, 2],[3]`` is two values)."""
    parts, depth, current = [], 0, ""
    for char in values:
        depth += 1 if char in "[{" else -1 if char in "]}" else 0
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current]


_UNSAFE = re.compile(r"[^\w.+-]")


def point_name(settings: dict[str, Any]) -> str:
    """A folder name for a grid point: ``learning_rate=0.0003,n_steps=64`` (each key's last part; characters
    other than letters, digits and ``.+-`` in values become ``_``), or ``default`` without settings."""
    if not settings:
        return "default"
    return ",".join(f"{key.rsplit('.', 1)[-1]}={_UNSAFE.sub('_', str(value))}" for key, value in settings.items())


def plan(config: ExperimentConfig, grid: dict[str, list[Any]], seeds: tuple[int, ...], folder: Path) -> list[Trial]:
    """Every trial of the sweep, grid points in product order, seeds within each; each point's config is
    validated (a ConfigError names the key and the point)."""
    trials = []
    for values in itertools.product(*grid.values()):
        settings = dict(zip(grid, values))
        name = point_name(settings)
        try:
            data = with_settings(config.to_dict(), settings)
        except ValueError as error:
            raise ValueError(f"--grid: {error}") from None
        data["seeds"], data["output"] = list(seeds), str(folder / name)
        point_config = parse_config(data, source=f"{config.source}, grid point {name}")
        trials += [Trial(name, settings, point_config, seed) for seed in seeds]
    if len({trial.point for trial in trials}) * len(seeds) != len(trials):
        raise ValueError("--grid: two grid points have the same folder name; use values that print differently")
    return trials


def record(folder: Path, config: ExperimentConfig, grid: dict[str, list[Any]], seeds: tuple[int, ...],
           trials: list[Trial]) -> None:
    """Write sweep.yaml and each point's config.yaml; if the folder holds another sweep, raise (a sweep
    resumes only with the config, grid and seeds it started with)."""
    spec = {"config": {k: v for k, v in config.to_dict().items() if k not in ("seeds", "output")},
            "grid": grid, "seeds": list(seeds)}
    stored = folder / "sweep.yaml"
    if stored.exists() and load_yaml(stored.read_text()) != spec:
        raise ValueError(f"{stored} describes another sweep (config, grid or seeds differ): choose another "
                         "--output, or rerun with the same arguments to resume it")
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomically(stored, yaml.safe_dump(spec, sort_keys=False))
    for trial in trials:
        trial.config.output.mkdir(parents=True, exist_ok=True)
        write_text_atomically(trial.config.output / "config.yaml",
                              yaml.safe_dump(trial.config.to_dict(), sort_keys=False))
