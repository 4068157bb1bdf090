"""The speed suite: every registered env against Gymnasium's CartPole-v1, oracles, scoring and training, in one process.

    python -m experiments.benchmarks.speed [--repeats 3] [--quick]

Prints one markdown table and writes it, with the machine (CPU model, cores,
library versions), to ``experiments/benchmarks/SPEED.md``. Rows:

* per env: steps/s of the scalar env through ``gym.make`` (Gymnasium's default
  wrappers) against ``CartPole-v1`` through ``gym.make``; agent-steps/s of the
  native vector env at 1, 64, 1,024 and 16,384 envs, all sharing one market,
  and at 16,384 envs with a different market in every slot (``markets=``, one
  number of the params spread over ±25 %: :data:`PER_SLOT_FIELD`); ``SyncVectorEnv`` over
  ``gym.make`` envs at 64 and 1,024; CartPole's own vector env
  (``vectorization_mode="vector_entry_point"``) and its ``SyncVectorEnv`` at the
  same sizes. Each env's runs and CartPole's are interleaved (:func:`best_times`),
  so load on the machine hits both alike, and each ratio comes from one such set;
* the oracle's solve time per env (default parameters, and the sizes the env
  docs name) and :func:`execgym.score` of its oracle on 100,000 episodes;
* one period of OptimalExec-v0 as the envs run it (plain Python for one
  episode, numba-compiled over 16,384) against the same period in plain numpy
  (:mod:`experiments.benchmarks.numpy_reference`): the measurement behind the
  compiled dynamics;
* PPO and TRPO wall time per 100,000 training steps on OptimalExec-v0 through
  the SB3 adapter (:class:`execgym.sb3.NativeVecEnv`) against SB3's
  ``DummyVecEnv`` over 64 ``gym.make`` envs.

Each env steps a fixed cycle of actions (valid in every state: BasketSequence's
trades in the order listed), so the timings measure the env, not a policy.
Targets: scalar OptimalExec-v0 at least CartPole's rate, every
env within 2× of it; native at 16,384 envs >= 40 M agent-steps/s for
OptimalExec-v0 and >= 15 M for the others, and >= 100× ``SyncVectorEnv`` at
1,024; ``score()`` on 100,000 OptimalExec-v0 episodes under 1 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import sb3_contrib
import stable_baselines3
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

import execgym
from execgym.agents.sb3 import ALGORITHMS
from execgym.registry import PROBLEMS
from execgym.sb3 import NativeVecEnv
from experiments.benchmarks import numpy_reference
from execgym.experiments.machine import cpu_model
from experiments.benchmarks.timing import (PER_SLOT_FIELD, REFERENCE, action_cycle, best_times, scalar_steps,
                                          vector_steps)
from execgym.atomic import write_text_atomically

TABLE = Path(__file__).parent / "SPEED.md"
VECTOR_SIZES = (1, 64, 1_024, 16_384)
SYNC_SIZES = (64, 1_024)
ORACLE_SIZES = {  # extra sizes the env docs name, beyond the defaults
    "BasketSequence-v0": [dict(trades=12), dict(trades=16)],
    "TwapVwapSwitch-v0": [dict(pov_rate=0.1)],
    "LimitOrMarket-v0": [dict(lots=200, deadline=50)],
}
SCALAR_STEPS = 20_000
AGENT_STEPS = {"native": 200_000, "sync": 10_000}
"""Agent-steps per timed run of a vector env (at least 3 calls of step); SyncVectorEnv steps its envs one by one."""
TRAINING_STEPS = 100_000


def scalar_run(env_id: str, steps: int):
    """A callable stepping a ``gym.make`` env ``steps`` times through the action script, resetting at episode ends."""
    env = gym.make(env_id)
    return scalar_steps(env, action_cycle(env_id, env.action_space), steps)


def slot_markets(env_id: str, num_envs: int) -> list:
    """``num_envs`` different markets of ``env_id``: the defaults with :data:`PER_SLOT_FIELD`'s number spread
    evenly over ±25 %."""
    spec = PROBLEMS[env_id]
    name = PER_SLOT_FIELD.get(env_id, "volatility")
    value = getattr(spec.params(), name)
    return [spec.params(**{name: value * (0.75 + 0.5 * i / num_envs)}) for i in range(num_envs)]


def vector_run(env_id: str, num_envs: int, mode: str, agent_steps: int | None = None):
    """A callable stepping a vector env of ``num_envs`` (``mode``: "native" = the env's own vector env, "per slot"
    = the same with a different market in every slot, "sync" = ``SyncVectorEnv`` over ``gym.make`` envs) for
    about ``agent_steps`` (default :data:`AGENT_STEPS`) agent-steps, at least 3 calls; returns the agent-steps."""
    if mode == "per slot":
        venv = gym.make_vec(env_id, num_envs=num_envs, markets=slot_markets(env_id, num_envs))
        mode = "native"
    elif mode == "native":
        venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    else:
        venv = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync")
    calls = max(3, (AGENT_STEPS[mode] if agent_steps is None else agent_steps) // num_envs)
    return vector_steps(venv, action_cycle(env_id, venv.single_action_space), calls)


def rate(seconds: float, steps: int) -> float:
    return steps / seconds


def env_rows(env_id: str, repeats: int, quick: bool) -> list[tuple]:
    """(env, measurement, rate, reference rate, ratio, target, met) rows of one env, timed interleaved with
    CartPole-v1."""
    sizes = VECTOR_SIZES[:3] if quick else VECTOR_SIZES
    runs = {("scalar", env_id): scalar_run(env_id, SCALAR_STEPS), ("scalar", REFERENCE): scalar_run(REFERENCE,
                                                                                                    SCALAR_STEPS)}
    for n in sizes:
        runs[("native", n, env_id)] = vector_run(env_id, n, "native")
        runs[("native", n, REFERENCE)] = vector_run(REFERENCE, n, "native")
    if not quick:
        runs[("per slot", env_id)] = vector_run(env_id, VECTOR_SIZES[-1], "per slot")
    for n in SYNC_SIZES:
        runs[("sync", n, env_id)] = vector_run(env_id, n, "sync")
        runs[("sync", n, REFERENCE)] = vector_run(REFERENCE, n, "sync")
    best, steps = best_times(runs, repeats)
    speed = {key: rate(best[key], steps[key]) for key in runs}
    rows = []
    scalar, cart = speed[("scalar", env_id)], speed[("scalar", REFERENCE)]
    floor = 1.0 if env_id == "OptimalExec-v0" else 0.5
    rows.append((env_id, "scalar, gym.make", scalar, cart, scalar / cart, f"ratio >= {floor:g}", scalar / cart >= floor))
    for n in sizes:
        native, reference = speed[("native", n, env_id)], speed[("native", n, REFERENCE)]
        target, met = "", None
        if n == 16_384:
            floor = 40e6 if env_id == "OptimalExec-v0" else 15e6
            target, met = f">= {floor / 1e6:g} M/s", native >= floor
        rows.append((env_id, f"native vector, {n:,} envs", native, reference, native / reference, target, met))
    if not quick:
        per_slot, reference = speed[("per slot", env_id)], speed[("native", VECTOR_SIZES[-1], REFERENCE)]
        rows.append((env_id, f"native vector, {VECTOR_SIZES[-1]:,} envs, a market per slot", per_slot, reference,
                     per_slot / reference, "", None))
    for n in SYNC_SIZES:
        sync, reference = speed[("sync", n, env_id)], speed[("sync", n, REFERENCE)]
        rows.append((env_id, f"SyncVectorEnv, {n:,} envs", sync, reference, sync / reference, "", None))
    largest = speed[("native", sizes[-1], env_id)]
    sync = speed[("sync", 1_024, env_id)]
    rows.append((env_id, f"native {sizes[-1]:,} / SyncVectorEnv 1,024", largest / sync, None, None, ">= 100×",
                 largest / sync >= 100))
    return rows


def oracle_rows(env_id: str, repeats: int) -> list[tuple]:
    """Solve time of the oracle at the defaults and the named sizes, and score() of it on 100,000 episodes."""
    rows = []
    for kwargs in [{}] + ORACLE_SIZES.get(env_id, []):
        best, _ = best_times({"solve": lambda: execgym.make_oracle(env_id, **kwargs)}, repeats)
        label = ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults"
        rows.append((env_id, f"oracle solve ({label}), s", best["solve"], None, None, "", None))
    oracle = execgym.make_oracle(env_id)
    best, _ = best_times({"score": lambda: execgym.score(oracle.policy, env_id, episodes=100_000, oracle=oracle)},
                         max(1, repeats - 1))
    target, met = ("< 1 s", best["score"] < 1.0) if env_id == "OptimalExec-v0" else ("", None)
    rows.append((env_id, "score(), 100,000 episodes, s", best["score"], None, None, target, met))
    return rows


def training_rows(repeats: int) -> list[tuple]:
    """Seconds per 100,000 PPO and TRPO steps on OptimalExec-v0, native adapter against DummyVecEnv (64 envs)."""
    env_id, n = "OptimalExec-v0", 64

    def train(algo: str, vec_env):
        def run() -> int:
            model = ALGORITHMS[algo]("MlpPolicy", vec_env, n_steps=256, batch_size=4096, seed=0, device="cpu")
            model.learn(TRAINING_STEPS)
            return TRAINING_STEPS
        return run

    runs = {}
    for algo in ("ppo", "trpo"):
        runs[(algo, "native")] = train(algo, NativeVecEnv(gym.make_vec(env_id, num_envs=n)))
        runs[(algo, "dummy")] = train(algo, DummyVecEnv([lambda: gym.make(env_id)] * n))
    best, _ = best_times(runs, repeats)
    rows = []
    for algo in ("ppo", "trpo"):
        native, dummy = best[(algo, "native")], best[(algo, "dummy")]
        rows.append((env_id, f"{algo.upper()} per 100,000 steps, native adapter (64 envs), s", native, dummy,
                     dummy / native, "", None))
    return rows


def machine() -> str:
    return (f"{cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy {np.__version__}, "
            f"gymnasium {gym.__version__}, torch {torch.__version__}, stable-baselines3 {stable_baselines3.__version__},"
            f" sb3-contrib {sb3_contrib.__version__}")


def format_number(value) -> str:
    if value is None:
        return ""
    if value >= 1e6:
        return f"{value / 1e6:,.2f} M"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def table(rows: list[tuple]) -> str:
    lines = ["| env | measurement | value (steps/s, or as named) | reference: CartPole-v1, DummyVecEnv or numpy | ratio "
             "| target | met |",
             "|---|---|---:|---:|---:|---|---|"]
    for env_id, what, value, reference, ratio, target, met in rows:
        shown_ratio = "" if ratio is None else f"{ratio:,.2f}×"
        verdict = "" if met is None else ("yes" if met else "NO")
        lines.append(f"| {env_id} | {what} | {format_number(value)} | {format_number(reference)} | {shown_ratio} | "
                     f"{target} | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the best is reported")
    parser.add_argument("--quick", action="store_true",
                        help="skip 16,384 envs and training (a smoke run; does not write SPEED.md)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    started = time.perf_counter()
    rows = []
    for env_id in PROBLEMS:
        rows += env_rows(env_id, args.repeats, args.quick)
        rows += oracle_rows(env_id, args.repeats)
        print(f"{env_id} measured ({time.perf_counter() - started:.0f} s)", flush=True)
    rows += numpy_reference.rows(args.repeats)
    if not args.quick:
        rows += training_rows(args.repeats)
    text = (f"# Speed: every env against CartPole-v1, side by side\n\nLatest output of "
            f"`python -m experiments.benchmarks.speed` (best of {args.repeats} interleaved runs; "
            f"{time.perf_counter() - started:.0f} s). Machine: {machine()}.\n\n{table(rows)}\n")
    print(text)
    if not args.quick:
        write_text_atomically(TABLE, text)


if __name__ == "__main__":
    main()
