"""Experiment configs: a YAML file naming the env, the agent, the training budget, the seeds and the output.

    env:
      id: OptimalExec-v0          # any id of `execgym list`
      params: {}                  # fields of the env's params object (defaults otherwise; with markets, set
                                  # over every market)
      markets: null               # or a split of the family's distribution ("train"), or a list of markets (dicts
                                  # of params): a market per episode
      observe_market: true        # with markets: the observation ends with the market's features (false: nothing;
                                  # index: its index in the set, what qlearning needs)
    agent:
      algo: ppo                   # ppo | trpo | maskable_ppo | qlearning
      num_envs: 64                # parallel episodes of the native vector env
      hyperparameters: {}         # SB3 constructor arguments (ppo, trpo, maskable_ppo) or QLearningConfig fields
      discretisation: {lots: 20}  # qlearning only: options of the env's tabular view (execgym.tabular)
      expected_rewards: false     # SB3 agents: learn from each step's expected reward given the state and the
                                  # action (execgym.wrappers), without the noise
    training:
      total_steps: 1000000        # agent-steps (env transitions) per seed
      eval_every: 100000          # steps between evaluations against the oracle (also checkpoints)
      eval_episodes: 5000
      eval_seed: 1000000000       # first seed of the evaluation episodes (disjoint from training's)
      eval_markets: [test, ood]   # with env.markets a split: the sets scored at each evaluation (the first is the
                                  # score); with a list, the list itself is scored
      eval_episodes_per_market: 16
    seeds: [0, 1, 2]
    output: runs/ppo              # relative to the working directory

Every mistake is a ``ConfigError`` naming the file and the key: unknown keys, wrong
types, unknown env ids or algorithms, invalid env parameters, seeds or budgets
outside the training seeds' range (:func:`check_seed_range`), and an SB3
algorithm that does not fit the env's action masks (``maskable_ppo`` exactly
where actions are masked, e.g. BasketSequence-v0; ``ppo`` and ``trpo`` elsewhere).

YAML is read with :class:`ConfigLoader`: PyYAML's safe loader (YAML 1.1), except
that numbers in scientific notation without a dot or an exponent sign
(``3e-4``, ``1E5``) are numbers, as in YAML 1.2, not strings. Every config the
command line reads goes through it, and so do ``--set`` and ``--grid`` values.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from execgym.noise import TRAINING_SEEDS_FROM, TRAINING_SEEDS_PER_RUN
from execgym.registry import PROBLEMS, problem

ALGORITHMS = ("ppo", "trpo", "maskable_ppo", "qlearning")
SB3_ALGORITHMS = ("ppo", "trpo", "maskable_ppo")


MAX_SEED = (2**63 - TRAINING_SEEDS_FROM) // TRAINING_SEEDS_PER_RUN - 1
"""The largest run seed: its training env seeds (:func:`execgym.experiments.trainers.training_seed`) stay
below 2**63, the largest seed every env accepts in a list of seeds."""


class ConfigError(ValueError):
    """An invalid experiment config; the message names the file and the key."""


class ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading ``3e-4``, ``1E5``, ``-2e+3`` and ``.5e-3`` as floats (YAML 1.1 reads a
    number in scientific notation as a string unless it has a dot and a signed exponent)."""


ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$"),
    list("-+0123456789."))


def load_yaml(text: str) -> Any:
    """``text`` read as YAML by :class:`ConfigLoader`."""
    return yaml.load(text, Loader=ConfigLoader)


@dataclass(frozen=True)
class EnvConfig:
    id: str
    params: dict[str, Any] = field(default_factory=dict)
    markets: Any = None
    observe_market: Any = True


@dataclass(frozen=True)
class AgentConfig:
    algo: str
    num_envs: int = 64
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    discretisation: dict[str, Any] = field(default_factory=dict)
    expected_rewards: bool = False


@dataclass(frozen=True)
class TrainingConfig:
    total_steps: int
    eval_every: int
    eval_episodes: int = 5000
    eval_seed: int = 1_000_000_000
    eval_markets: tuple[str, ...] = ("test", "ood")
    eval_episodes_per_market: int = 16


@dataclass(frozen=True)
class ExperimentConfig:
    env: EnvConfig
    agent: AgentConfig
    training: TrainingConfig
    seeds: tuple[int, ...] = (0,)
    output: Path = Path("runs/experiment")
    source: str = field(default="config", compare=False, metadata={"key": False})
    """Where the config was read (a file, with its ``--set`` overrides), for error messages; not a key."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for YAML and JSON), the inverse of :func:`parse_config`."""
        data = dataclasses.asdict(self)
        del data["source"]
        data["seeds"], data["output"] = list(self.seeds), str(self.output)
        data["training"]["eval_markets"] = list(self.training.eval_markets)
        return data

    def identity(self) -> dict[str, Any]:
        """What makes two runs the same run: :meth:`to_dict` without ``seeds`` and ``output`` (a run folder
        may be moved, and gain seeds)."""
        return {key: value for key, value in self.to_dict().items() if key not in ("seeds", "output")}

    def env_params(self):
        """The validated params object of the env; with ``env.markets``, the family's median market (with
        ``env.params`` over it): the market of the trajectory plot and of the oracle check."""
        if self.env.markets is None:
            return problem(self.env.id).params(**self.env.params)
        if isinstance(self.env.markets, list):
            return self.market_sets()[0][0]
        distribution = problem(self.env.id).vector_env_class.problem.distribution
        return problem(self.env.id).params(**{**distribution.median(), **self.env.params})

    def env_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the config's env: its params object, or its markets (a split's name or a
        :class:`~execgym.distributions.MarketSet` of the listed markets), whether it observes them and the
        parameters set over every market."""
        if self.env.markets is None:
            return {"params": self.env_params()}
        return {"markets": self.market_sets()[0] if isinstance(self.env.markets, list) else self.env.markets,
                "observe_market": self.env.observe_market, **self.env.params}

    def market_sets(self) -> list:
        """The sets every evaluation scores: the splits of ``training.eval_markets``, or the listed markets."""
        from execgym.distributions import market_set

        if isinstance(self.env.markets, list):
            return [market_set(self.env.id, self.env.markets, **self.env.params)]
        return list(self.training.eval_markets)


def read_config_data(path: str | Path) -> Any:
    """The YAML data of the config file at ``path`` (:func:`load_yaml`), unvalidated."""
    path = Path(path)
    try:
        return load_yaml(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None


def load_config(path: str | Path, settings: dict[str, Any] | None = None) -> ExperimentConfig:
    """Read and validate the YAML config at ``path``, with each dotted key of ``settings`` (``--set``
    overrides) set first (:func:`with_settings`); errors name the file and the overrides."""
    data = read_config_data(path)
    source = str(path)
    if settings:
        source += " with " + ", ".join(f"{key}={value!r}" for key, value in settings.items())
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping, got {type(data).__name__}")
        try:
            data = with_settings(data, settings)
        except ValueError as error:
            raise ConfigError(f"{source}: {error}") from None
    return parse_config(data, source=source)


def with_settings(data: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """A copy of config data with each dotted key of ``settings`` set (missing mappings are created)."""
    data = copy.deepcopy(data)
    for key, value in settings.items():
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            if node.get(part) is None:
                node[part] = {}
            if not isinstance(node[part], dict):
                raise ValueError(f"{key}: {part} is not a mapping in the config")
            node = node[part]
        node[leaf] = value
    return data


def differing_keys(first: Any, second: Any, prefix: str = "") -> list[str]:
    """The dotted keys at which two configs' plain data differ (``prefix`` is the key of both)."""
    if isinstance(first, dict) and isinstance(second, dict):
        return [key for name in sorted(set(first) | set(second), key=str)
                for key in differing_keys(first.get(name), second.get(name), f"{prefix}.{name}" if prefix else name)]
    return [] if first == second else [prefix]


def parse_config(data: Any, source: str = "config") -> ExperimentConfig:
    """Validate plain data (as loaded from YAML) into an :class:`ExperimentConfig` read from ``source``."""
    config = dataclasses.replace(_build(ExperimentConfig, data, source), source=source)
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
    check_seed_range(config)
    if config.agent.discretisation and config.agent.algo != "qlearning":
        raise ConfigError(f"{source}: agent.discretisation applies to qlearning only (algo is {config.agent.algo!r})")
    _check_markets(config)
    if config.agent.expected_rewards and config.agent.algo not in SB3_ALGORITHMS:
        raise ConfigError(f"{source}: agent.expected_rewards applies to {sorted(SB3_ALGORITHMS)}")
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


def _check_markets(config: ExperimentConfig) -> None:
    """ConfigError unless ``env.markets`` is None, the training split of a family with a distribution or a
    non-empty list of valid markets, ``env.observe_market`` true, false or "index" (which qlearning needs, with a
    list), and ``training.eval_markets`` non-empty held-out splits (with ``training.eval_episodes_per_market``
    >= 2)."""
    source, env, training = config.source, config.env, config.training
    from execgym.distributions import SPLITS

    if not isinstance(env.observe_market, bool) and env.observe_market != "index":
        raise ConfigError(f"{source}: env.observe_market: expected true, false or index, got {env.observe_market!r}")
    held_out = [split for split in SPLITS if split != "train"]
    if not training.eval_markets or any(split not in held_out for split in training.eval_markets):
        raise ConfigError(f"{source}: training.eval_markets: expected a non-empty list of {held_out} (the held-out "
                          f"sets), got {list(training.eval_markets)}")
    if training.eval_episodes_per_market < 2:
        raise ConfigError(f"{source}: training.eval_episodes_per_market must be >= 2, got "
                          f"{training.eval_episodes_per_market}")
    if env.markets is None:
        if env.observe_market is not True:
            raise ConfigError(f"{source}: env.observe_market applies with env.markets (one market shows nothing of "
                              "itself)")
        return

    if config.agent.algo == "qlearning" and env.observe_market != "index":
        raise ConfigError(f"{source}: env.observe_market: qlearning's state is the market and the problem's state, "
                          "so it observes the market's index: set env.observe_market: index")
    if env.observe_market == "index" and not isinstance(env.markets, list):
        raise ConfigError(f"{source}: env.observe_market: index needs a list of markets (a split's indices differ "
                          "between its training and held-out sets)")
    if isinstance(env.markets, list):
        if not env.markets or not all(isinstance(market, dict) for market in env.markets):
            raise ConfigError(f"{source}: env.markets: expected train or a non-empty list of "
                              f"mappings of parameters, got {env.markets!r}")
        try:
            config.market_sets()
        except (ValueError, TypeError) as error:
            raise ConfigError(f"{source}: env.{error}") from None
    elif problem(env.id).vector_env_class.problem.distribution is None:
        raise ConfigError(f"{source}: env.markets: {env.id} has no market distribution")
    elif env.markets != "train":
        raise ConfigError(f"{source}: env.markets: expected train (the held-out sets are what it is scored on) or a "
                          f"list of markets, got {env.markets!r}")


def check_seed_range(config: ExperimentConfig) -> None:
    """Raise ``ConfigError`` unless every seed's training env seeds fit their range: run seed ``s`` trains on
    env seeds from 2**40 + s * 2**32 (:func:`execgym.experiments.trainers.training_seed`), one per step at
    most and one per parallel env, so ``total_steps + num_envs`` must stay within 2**32 (the next run seed's
    range) and every seed at most :data:`MAX_SEED`."""
    source = config.source
    if max(config.seeds) > MAX_SEED:
        raise ConfigError(f"{source}: seeds must be at most {MAX_SEED} (a seed's training episodes use env seeds "
                          f"from 2**40 + seed * 2**32 on, which must stay below 2**63), got {max(config.seeds)}")
    budget = config.training.total_steps + config.agent.num_envs
    if budget > TRAINING_SEEDS_PER_RUN:
        raise ConfigError(f"{source}: training.total_steps + agent.num_envs must be at most 2**32 = "
                          f"{TRAINING_SEEDS_PER_RUN:,} (each seed trains on its own 2**32 env seeds), got {budget:,}")


def _build(cls, data: Any, source: str, path: str = ""):
    """``cls`` (a dataclass) from a mapping, checking keys and field types recursively;
    ``path`` is the dotted key of ``data`` within the config (empty at the top)."""
    where = f"{source}: {path}" if path else source
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    keys = [f for f in dataclasses.fields(cls) if f.metadata.get("key", True)]
    names = [f.name for f in keys]
    unknown = sorted(set(data) - set(names), key=str)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; valid keys: {names}")
    values = {}
    for f in keys:
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
        expected = f"a list of {'strings' if typing.get_args(hint)[0] is str else 'integers'}"
    if expected:
        raise ConfigError(f"{source}: {key}: expected {expected}, got {value!r}")
    if hint is Path:
        return Path(value)
    if origin is dict:
        return dict(value or {})
    if origin is tuple:
        item_type = typing.get_args(hint)[0]
        return tuple(_convert(item_type, item, source, f"{key}[{index}]") for index, item in enumerate(value))
    return value
