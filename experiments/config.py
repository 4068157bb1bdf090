"""Experiment configs: a YAML file naming the env, the agent, the training budget, the seeds and the output.

    env:
      id: OptimalExec-v0          # any id of `execgym list`
      params: {}                  # fields of the env's params object (defaults otherwise)
    agent:
      algo: ppo                   # ppo | trpo | maskable_ppo | qlearning
      num_envs: 64                # parallel episodes of the native vector env
      hyperparameters: {}         # SB3 constructor arguments (ppo, trpo, maskable_ppo) or QLearningConfig fields
      discretisation: {lots: 20}  # qlearning only: options of the env's tabular view (execgym.grids)
    training:
      total_steps: 1000000        # agent-steps (env transitions) per seed
      eval_every: 100000          # steps between evaluations against the oracle (also checkpoints)
      eval_episodes: 5000
      eval_seed: 1000000000       # first seed of the evaluation episodes (disjoint from training's)
    seeds: [0, 1, 2]
    output: runs/ppo              # relative to the working directory

Every mistake is a ``ConfigError`` naming the key: unknown keys, wrong types,
unknown env ids or algorithms, invalid env parameters, and an SB3 algorithm
that does not fit the env's action masks (``maskable_ppo`` exactly where actions
are masked, e.g. BasketSequence-v0; ``ppo`` and ``trpo`` elsewhere).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from execgym.noise import TRAINING_SEEDS_FROM
from execgym.registry import PROBLEMS, problem

ALGORITHMS = ("ppo", "trpo", "maskable_ppo", "qlearning")
SB3_ALGORITHMS = ("ppo", "trpo", "maskable_ppo")


class ConfigError(ValueError):
    """An invalid experiment config; the message names the key."""


@dataclass(frozen=True)
class EnvConfig:
    id: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentConfig:
    algo: str
    num_envs: int = 64
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    discretisation: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingConfig:
    total_steps: int
    eval_every: int
    eval_episodes: int = 5000
    eval_seed: int = 1_000_000_000


@dataclass(frozen=True)
class ExperimentConfig:
    env: EnvConfig
    agent: AgentConfig
    training: TrainingConfig
    seeds: tuple[int, ...] = (0,)
    output: Path = Path("runs/experiment")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for YAML and JSON), the inverse of :func:`parse_config`."""
        data = dataclasses.asdict(self)
        data["seeds"], data["output"] = list(self.seeds), str(self.output)
        return data

    def env_params(self):
        """The validated params object of the env."""
        return problem(self.env.id).params(**self.env.params)


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate the YAML config at ``path``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    return parse_config(data, source=str(path))


def parse_config(data: Any, source: str = "config") -> ExperimentConfig:
    """Validate plain data (as loaded from YAML) into an :class:`ExperimentConfig`."""
    config = _build(ExperimentConfig, data, source)
    if config.env.id not in PROBLEMS:
        raise ConfigError(f"{source}: env.id {config.env.id!r} is not an execgym env; choose from {sorted(PROBLEMS)}")
    if config.agent.algo not in ALGORITHMS:
        raise ConfigError(f"{source}: agent.algo {config.agent.algo!r} is unknown; choose from {list(ALGORITHMS)}")
    for name, value, low in (("agent.num_envs", config.agent.num_envs, 1),
                             ("training.total_steps", config.training.total_steps, 1),
                             ("training.eval_every", config.training.eval_every, 1),
                             ("training.eval_episodes", config.training.eval_episodes, 2),
                             ("training.eval_seed", config.training.eval_seed, 0)):
        if value < low:
            raise ConfigError(f"{source}: {name} must be >= {low}, got {value}")
    if config.training.eval_seed + config.training.eval_episodes > TRAINING_SEEDS_FROM:
        raise ConfigError(f"{source}: training.eval_seed + training.eval_episodes must stay below 2**40 "
                          "(seeds from 2**40 on are the training episodes')")
    if not config.seeds or len(set(config.seeds)) != len(config.seeds) or min(config.seeds) < 0:
        raise ConfigError(f"{source}: seeds must be a non-empty list of distinct integers >= 0, got {list(config.seeds)}")
    if config.agent.discretisation and config.agent.algo != "qlearning":
        raise ConfigError(f"{source}: agent.discretisation applies to qlearning only (algo is {config.agent.algo!r})")
    try:
        config.env_params()
    except ValueError as error:
        raise ConfigError(f"{source}: env.params: {error}") from None
    if config.agent.algo in SB3_ALGORITHMS:
        from execgym.agents.sb3 import check_masking

        try:
            check_masking(config.agent.algo, problem(config.env.id).action_masks is not None, config.env.id)
        except ValueError as error:
            raise ConfigError(f"{source}: agent.algo: {error}") from None
    return config


def _build(cls, data: Any, source: str, path: str = ""):
    """``cls`` (a dataclass) from a mapping, checking keys and field types recursively;
    ``path`` is the dotted key of ``data`` within the config (empty at the top)."""
    where = f"{source}: {path}" if path else source
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {names}")
    values = {}
    for f in dataclasses.fields(cls):
        key = f"{path}.{f.name}" if path else f.name
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{source}: missing required key {key!r}")
            continue
        values[f.name] = _convert(hints[f.name], data[f.name], source, key)
    return cls(**values)


def _convert(hint, value: Any, source: str, key: str):
    """``value`` checked against the type ``hint`` (dataclass, int, str, dict, tuple[int, ...], Path)."""
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, source, key)
    origin = typing.get_origin(hint)
    expected = None
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        expected = "an integer"
    elif hint is str and not isinstance(value, str):
        expected = "a string"
    elif hint is Path and (not isinstance(value, str) or not value):
        expected = "a folder path"
    elif origin is dict and not isinstance(value, (dict, type(None))):
        expected = "a mapping"
    elif origin is tuple and not isinstance(value, list):
        expected = "a list of integers"
    if expected:
        raise ConfigError(f"{source}: {key}: expected {expected}, got {value!r}")
    if hint is Path:
        return Path(value)
    if origin is dict:
        return dict(value or {})
    if origin is tuple:
        return tuple(_convert(int, item, source, f"{key}[{index}]") for index, item in enumerate(value))
    return value
