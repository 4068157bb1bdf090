"""Search spaces of ``execgym tune``: the hyperparameters searched, and over what values, per algorithm.

A space maps hyperparameter names to dimensions, in YAML (a ``--space`` file)::

    learning_rate: {low: 1.0e-5, high: 3.0e-3, log: true}   # log-uniform over [low, high]
    gae_lambda: {low: 0.8, high: 1.0}                        # uniform
    n_critic_updates: {low: 5, high: 30}                     # integers (both ends integers)
    n_steps: {choices: [64, 128, 256]}                       # one of a list
    policy_kwargs: {choices: [{net_arch: [64, 64]}, {net_arch: [128, 128]}]}

A range is of integers when both ends are integers, else of real numbers;
``log: true`` samples the logarithm uniformly (ends > 0). Choices may be any
YAML values. The names are the agent's hyperparameters (the keys of the
config's ``agent.hyperparameters``: the SB3 constructor's arguments for
``ppo``, ``trpo`` and ``maskable_ppo``, the fields of
:class:`execgym.agents.qlearning.QLearningConfig` for ``qlearning``), plus, for
the SB3 agents, ``minibatches``: the minibatches per epoch, which sets
``batch_size = n_steps × num_envs / minibatches`` (a divisor of the rollout by
construction, where a searched ``batch_size`` could leave a truncated last
minibatch). A searched value replaces the config's; every other value comes
from the config.

The defaults (:data:`DEFAULT_SPACES`) keep ``gamma`` at the config's value (1:
every oracle maximises the undiscounted sum of rewards) and search, for PPO and
MaskablePPO, the learning rate, rollout length, minibatches, epochs, GAE λ,
entropy bonus and clip range; for TRPO the critic's learning rate, rollout
length, minibatches, GAE λ, trust-region size ``target_kl`` and critic
updates; for Q-learning the step-size exponent and the ε schedule.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Union

import optuna
import yaml

from execgym.experiments.config import ExperimentConfig

MINIBATCHES = "minibatches"
PRIMITIVES = (bool, int, float, str, type(None))
"""Choice values Optuna stores as they are; others (lists, mappings) it stores as their YAML text."""


@dataclass(frozen=True)
class Range:
    """Numbers in [low, high]: integers if both ends are, log-uniform if ``log``."""

    low: float
    high: float
    log: bool = False

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)

    def suggest(self, trial: optuna.Trial, name: str) -> float:
        if self.integer:
            return trial.suggest_int(name, self.low, self.high, log=self.log)
        return trial.suggest_float(name, self.low, self.high, log=self.log)

    def describe(self) -> str:
        kind = "integer" if self.integer else "log-uniform" if self.log else "uniform"
        scale = ", log scale" if self.integer and self.log else ""
        return f"{kind} in [{self.low:g}, {self.high:g}]{scale}"

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, **({"log": True} if self.log else {})}


@dataclass(frozen=True)
class Choices:
    """One of ``options`` (any YAML values)."""

    options: tuple

    @property
    def labels(self) -> tuple:
        """The options as Optuna stores them: primitives as they are, others as their YAML text."""
        return tuple(option if isinstance(option, PRIMITIVES) else
                     yaml.safe_dump(option, default_flow_style=True, width=10**6).strip() for option in self.options)

    def suggest(self, trial: optuna.Trial, name: str) -> Any:
        return self.options[self.labels.index(trial.suggest_categorical(name, self.labels))]

    def describe(self) -> str:
        return "one of " + ", ".join(map(str, self.labels))

    def to_dict(self) -> dict[str, Any]:
        return {"choices": list(self.options)}


Dimension = Union[Range, Choices]
Space = dict[str, Dimension]

_PPO = {"learning_rate": Range(1e-5, 3e-3, log=True), "n_steps": Choices((32, 64, 128, 256, 512)),
        MINIBATCHES: Choices((1, 2, 4, 8, 16, 32)), "n_epochs": Choices((5, 10, 20)),
        "gae_lambda": Range(0.8, 1.0), "ent_coef": Range(1e-8, 0.1, log=True),
        "clip_range": Choices((0.1, 0.2, 0.3))}
DEFAULT_SPACES: dict[str, Space] = {
    "ppo": _PPO,
    "maskable_ppo": _PPO,
    "trpo": {"learning_rate": Range(1e-5, 3e-3, log=True), "n_steps": Choices((64, 128, 256, 512, 1024)),
             MINIBATCHES: Choices((1, 2, 4, 8, 16)), "gae_lambda": Range(0.8, 1.0),
             "target_kl": Range(1e-3, 3e-2, log=True), "n_critic_updates": Range(5, 30)},
    "qlearning": {"step_size_exponent": Range(0.55, 1.0), "epsilon_start": Range(0.5, 1.0),
                  "epsilon_end": Range(0.0, 0.2), "epsilon_decay_fraction": Range(0.1, 0.9)},
}
"""The space searched without ``--space``, per algorithm."""


def describe_space(space: Space) -> list[str]:
    """One line per dimension: ``name: what it ranges over``."""
    return [f"{name}: {dimension.describe()}" for name, dimension in space.items()]


def space_to_dict(space: Space) -> dict[str, Any]:
    """The space as plain data, in the form of a ``--space`` file."""
    return {name: dimension.to_dict() for name, dimension in space.items()}


def hyperparameter_defaults(algo: str) -> dict[str, Any]:
    """The hyperparameters of ``algo`` a config may set, with the agent's default values."""
    if algo == "qlearning":
        from execgym.agents.qlearning import QLearningConfig
        from execgym.experiments.qlearning_trainer import HYPERPARAMETERS

        return {field.name: field.default for field in fields(QLearningConfig) if field.name in HYPERPARAMETERS}
    from execgym.agents.sb3 import ALGORITHMS, hyperparameter_annotations

    parameters = inspect.signature(ALGORITHMS[algo].__init__).parameters
    return {name: parameters[name].default for name in hyperparameter_annotations(algo)}


def load_space(path: Path, algo: str) -> Space:
    """The space of the YAML file ``path`` for ``algo``; ValueError naming the file and the key at fault."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"space file {path} does not exist") from None
    except yaml.YAMLError as error:
        raise ValueError(f"space file {path} is not valid YAML: {error}") from None
    return parse_space(data, algo, source=f"space file {path}")


def parse_space(data: Any, algo: str, source: str) -> Space:
    """Validate plain data (name -> {low, high, log} or {choices}) into a space of ``algo``."""
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{source}: expected a mapping of hyperparameter name -> {{low, high, log}} or "
                         f"{{choices: [...]}}, got {data!r}")
    defaults = hyperparameter_defaults(algo)
    valid = set(defaults) | ({MINIBATCHES} if algo != "qlearning" else set())
    for name in data:
        if name not in valid:
            raise ValueError(f"{source}: {name!r} is not a {algo} hyperparameter; valid: {sorted(valid)}")
    if MINIBATCHES in data and "batch_size" in data:
        raise ValueError(f"{source}: search {MINIBATCHES} or batch_size, not both "
                         f"(batch_size = n_steps × num_envs / {MINIBATCHES})")
    space = {name: _dimension(value, f"{source}: {name}") for name, value in data.items()}
    for name, dimension in space.items():
        if isinstance(dimension, Range) and dimension.integer and isinstance(defaults.get(name), float):
            raise ValueError(f"{source}: {name}: a range of integers, but {name} is a real number (default "
                             f"{defaults[name]!r}): write its ends as real numbers, e.g. {float(dimension.low)!r}")
    if MINIBATCHES in space:
        _check_minibatches(space[MINIBATCHES], f"{source}: {MINIBATCHES}")
    return space


def _dimension(data: Any, where: str) -> Dimension:
    if not isinstance(data, dict) or not (set(data) == {"choices"} or {"low", "high"} <= set(data) <= {"low", "high", "log"}):
        raise ValueError(f"{where}: expected {{low: L, high: H}} (optionally log: true) or {{choices: [...]}}, "
                         f"got {data!r}")
    if "choices" in data:
        return _choices(data["choices"], where)
    low, high = (_number(data[key], f"{where}.{key}") for key in ("low", "high"))
    log = data.get("log", False)
    if not isinstance(log, bool):
        raise ValueError(f"{where}.log: expected true or false, got {log!r}")
    if not low < high:
        raise ValueError(f"{where}: low must be below high, got low {low!r} and high {high!r}")
    if log and low <= 0:
        raise ValueError(f"{where}: a log range needs low > 0, got {low!r}")
    return Range(low, high, log)


def _number(value: Any, where: str) -> float:
    if isinstance(value, str):
        raise ValueError(f"{where}: expected a number, got the text {value!r} (YAML reads 1e-5 as text: "
                         "write 1.0e-5)")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, got {value!r}")
    return value


def _choices(options: Any, where: str) -> Choices:
    if not isinstance(options, list) or not options:
        raise ValueError(f"{where}.choices: expected a non-empty list, got {options!r}")
    choices = Choices(tuple(options))
    if len(set(choices.labels)) != len(options):
        raise ValueError(f"{where}.choices: the choices repeat, got {options!r}")
    return choices


def _check_minibatches(dimension: Dimension, where: str) -> None:
    counts = dimension.options if isinstance(dimension, Choices) else (dimension.low, dimension.high)
    integer = dimension.integer if isinstance(dimension, Range) else all(
        isinstance(count, int) and not isinstance(count, bool) for count in counts)
    if not integer or min(counts) < 1:
        raise ValueError(f"{where}: the minibatches per epoch are integers >= 1, got {dimension.to_dict()}")


def sample(space: Space, trial: optuna.Trial) -> dict[str, Any]:
    """A value of each dimension, drawn by the trial's sampler (or fixed for an enqueued trial)."""
    return {name: dimension.suggest(trial, name) for name, dimension in space.items()}


def agent_hyperparameters(values: dict[str, Any], config: ExperimentConfig) -> dict[str, Any]:
    """The sampled ``values`` as the agent's hyperparameters: ``minibatches`` becomes ``batch_size``
    (n_steps, searched or the config's or the algorithm's default, × ``agent.num_envs`` / minibatches)."""
    hyperparameters = dict(values)
    if MINIBATCHES not in hyperparameters:
        return hyperparameters
    minibatches = hyperparameters.pop(MINIBATCHES)
    n_steps = hyperparameters.get("n_steps", config.agent.hyperparameters.get(
        "n_steps", hyperparameter_defaults(config.agent.algo)["n_steps"]))
    rollout = n_steps * config.agent.num_envs
    if rollout % minibatches or rollout // minibatches < 2:
        raise ValueError(f"{MINIBATCHES} = {minibatches} does not split the rollout n_steps × num_envs = "
                         f"{n_steps} × {config.agent.num_envs} = {rollout} into minibatches of 2 or more")
    hyperparameters["batch_size"] = rollout // minibatches
    return hyperparameters
