"""What every benchmark script shares: best-of-N timing, interleaved, and the fixed action scripts that step an
env for timing (imports nothing of execgym, so a worker timing another revision's execgym can use it)."""

from __future__ import annotations

import time
from typing import Any, Callable, Hashable

import numpy as np


def best_times(runs: dict[Hashable, Callable[[], Any]], repeats: int) -> tuple[dict, dict]:
    """Run every callable of ``runs`` ``repeats`` times, one round over all of them at a time, so load on
    the machine hits them alike; returns the best wall time (s) of each and its last result."""
    best = {key: float("inf") for key in runs}
    results = {}
    for _ in range(repeats):
        for key, run in runs.items():
            start = time.perf_counter()
            results[key] = run()
            best[key] = min(best[key], time.perf_counter() - start)
    return best, results


def per_call(run, budget: float = 0.02):
    """Seconds per call of ``run()`` over as many calls as fit in ``budget`` (at least one), and its result."""
    calls, start = 0, time.perf_counter()
    while True:
        result = run()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return elapsed / calls, result


REFERENCE = "CartPole-v1"
"""Gymnasium's env every speed is compared with."""
PER_SLOT_FIELD = {
    "PortfolioExec-v0": "risk_aversion", "BasketSequence-v0": "cross_impact", "MarketMaking-v0": "volatility",
    "TwapVwapSwitch-v0": "volatility", "LimitOrMarket-v0": "tick_bps",
}
"""The field each env's markets differ in for the market-per-slot rows (OptimalExec and its variants:
volatility), spread over ±25 % of its default."""


def action_cycle(env_id: str, space) -> list:
    """Actions valid in every state from a reset, repeated in a cycle by step number of the episode:
    BasketSequence's trades in the order listed, CartPole left then right, else one fixed sample of the space."""
    if env_id == "BasketSequence-v0":
        return list(range(space.n))
    if env_id == REFERENCE:
        return [0, 1]
    space.seed(0)
    return [space.sample()]


def scalar_steps(env, cycle: list, steps: int) -> Callable[[], int]:
    """A callable stepping ``env`` (a Gymnasium env) ``steps`` times through the actions ``cycle``, restarting
    the cycle and the env at episode ends; returns the steps."""

    def run() -> int:
        env.reset(seed=0)
        k = 0
        for _ in range(steps):
            _, _, terminated, truncated, _ = env.step(cycle[k % len(cycle)])
            k += 1
            if terminated or truncated:
                env.reset()
                k = 0
        return steps
    return run


def vector_steps(venv, cycle: list, calls: int) -> Callable[[], int]:
    """A callable resetting ``venv`` (a Gymnasium vector env) and stepping it ``calls`` times, every slot taking
    the actions ``cycle`` in turn (every slot starts together, so BasketSequence's slots end together); returns
    the agent-steps."""
    batched = [np.stack([action] * venv.num_envs) for action in cycle]

    def run() -> int:
        venv.reset(seed=0)
        for k in range(calls):
            venv.step(batched[k % len(batched)])
        return calls * venv.num_envs
    return run
