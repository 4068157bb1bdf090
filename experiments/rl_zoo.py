"""RL Zoo hyperparameter files, generated from the committed experiment configs so the two never drift apart.

    python -m execgym.experiments.rl_zoo          # rewrites experiments/rl_zoo/{ppo,trpo}.yml

The experiment configs (``experiments/configs/*.yaml``) are the one source of
hyperparameters. Each PPO or TRPO config becomes one entry of its algorithm's file
(rl_zoo3 format, keyed by env id), read by ``python -m rl_zoo3.train --algo ppo
--env ID --gym-packages execgym --conf-file experiments/rl_zoo/ppo.yml``:

| config | zoo entry |
|---|---|
| ``agent.num_envs`` | ``n_envs`` |
| ``training.total_steps`` | ``n_timesteps`` |
| ``env.params`` | ``env_kwargs`` (when not empty) |
| ``agent.hyperparameters`` | at the top level of the entry, ``policy`` defaulting to ``MlpPolicy`` |
| ``learning_rate: {linear: [a, 0]}`` (also ``clip_range``) | ``lin_a``: rl_zoo3's schedule from a to 0 |
| ``policy_kwargs: {activation_fn: relu, ...}`` | ``"dict(activation_fn=nn.ReLU, ...)"``, the string rl_zoo3 evaluates |
| ``agent.expected_rewards: true`` | ``env_wrapper: execgym.wrappers.ExpectedRewards``, which rl_zoo3 wraps each env in |

Not expressible, so left out of the files (each file's header lists them and why):
a linear schedule that ends anywhere but 0 (rl_zoo3's ``lin_`` only decays to 0),
a config on a distribution of markets (rl_zoo3 keys its entries by env id, which the one-market config holds),
and MaskablePPO (rl_zoo3 2.9 has no ``ppo_mask`` algorithm: BasketSequence-v0,
whose actions are masked, trains with ``execgym run`` only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from execgym.agents.sb3 import ACTIVATIONS, SCHEDULABLE
from execgym.atomic import write_text_atomically
from execgym.experiments.config import ExperimentConfig
from execgym.experiments.leaderboard import benchmark_configs

ZOO = Path(__file__).parent / "rl_zoo"
ZOO_ALGORITHMS = ("ppo", "trpo")
"""The config algorithms rl_zoo3 trains under the same name."""


class NotExpressible(ValueError):
    """A config that the RL Zoo format cannot express; the message says why."""


def zoo_entry(config: ExperimentConfig) -> dict[str, Any]:
    """The rl_zoo3 hyperparameters of ``config`` (module docstring); NotExpressible where the format cannot say
    the same."""
    if config.agent.algo not in ZOO_ALGORITHMS:
        raise NotExpressible(f"rl_zoo3 has no {config.agent.algo} algorithm")
    if config.env.markets is not None:
        raise NotExpressible("rl_zoo3 keys hyperparameters by env id, which the config on one market holds (train on "
                             "a distribution of markets with `execgym run`)")
    entry: dict[str, Any] = {"n_envs": config.agent.num_envs, "n_timesteps": config.training.total_steps,
                             "policy": "MlpPolicy"}
    if config.env.params:
        entry["env_kwargs"] = dict(config.env.params)
    if config.agent.expected_rewards:
        entry["env_wrapper"] = "execgym.wrappers.ExpectedRewards"
    for name, value in config.agent.hyperparameters.items():
        if name in SCHEDULABLE and isinstance(value, dict):
            value = _zoo_schedule(name, value)
        elif name == "policy_kwargs":
            value = _zoo_policy_kwargs(value)
        entry[name] = value
    return entry


def _zoo_schedule(name: str, schedule: dict) -> str:
    """``{linear: [a, 0]}`` as rl_zoo3's ``lin_a``."""
    start, end = schedule["linear"]
    if end != 0:
        raise NotExpressible(f"{name} decays linearly from {start:g} to {end:g}, and rl_zoo3's linear schedule "
                             "(lin_<start>) only decays to 0")
    return f"lin_{float(start)!r}"


def _zoo_policy_kwargs(kwargs: dict) -> str:
    """``policy_kwargs`` as the Python expression rl_zoo3 evaluates, activations as ``nn`` classes."""
    items = [f"{key}=nn.{ACTIVATIONS[value].__name__}" if key == "activation_fn" else f"{key}={value!r}"
             for key, value in kwargs.items()]
    return f"dict({', '.join(items)})"


def zoo_files() -> dict[str, str]:
    """The text of each algorithm's file (``ppo.yml``, ``trpo.yml``) from the committed configs."""
    entries: dict[str, dict[str, dict]] = {algo: {} for algo in ZOO_ALGORITHMS}
    left_out: dict[str, list[str]] = {algo: [] for algo in ZOO_ALGORITHMS}
    for name, config in sorted(benchmark_configs().items()):
        if config.agent.algo not in ZOO_ALGORITHMS:
            continue
        try:
            entries[config.agent.algo][config.env.id] = zoo_entry(config)
        except NotExpressible as reason:
            left_out[config.agent.algo].append(f"{name}.yaml: {reason}")
    return {f"{algo}.yml": _header(algo, left_out[algo])
            + yaml.safe_dump(dict(sorted(entries[algo].items())), sort_keys=False, width=120)
            for algo in ZOO_ALGORITHMS}


def _header(algo: str, left_out: list[str]) -> str:
    lines = [f"# RL Zoo hyperparameters for execgym ({algo}), generated from experiments/configs/{algo}_*.yaml by",
             "#   python -m execgym.experiments.rl_zoo",
             "# Edit the configs, not this file. Train with (-f: where rl_zoo3 writes, logs/ by default):",
             f"#   python -m rl_zoo3.train --algo {algo} --env OptimalExec-v0 --gym-packages execgym \\",
             f"#       --conf-file experiments/rl_zoo/{algo}.yml -f logs",
             "# rl_zoo3 steps its envs through DummyVecEnv; `execgym run CONFIG` trains the same agent on the natively",
             "# batched env and scores it against the oracle."]
    if left_out:
        lines.append("# Configs rl_zoo3 cannot express, left out:")
        lines += [f"#   {reason}" for reason in left_out]
    return "\n".join(lines) + "\n"


def write_zoo_files(folder: Path = ZOO) -> list[Path]:
    """Write :func:`zoo_files` into ``folder``; the paths written."""
    paths = []
    for name, text in zoo_files().items():
        write_text_atomically(folder / name, text)
        paths.append(folder / name)
    return paths


if __name__ == "__main__":
    for path in write_zoo_files():
        print(f"wrote {path}")
