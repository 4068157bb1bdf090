"""OptimalExec-v0's period in plain numpy (the suite's implementation before the compiled one), for the speed
suite to time side by side with what the envs run.

The envs write the period once per episode in plain Python and compile it over a batch with numba
(:mod:`execgym.problems.optimal_exec.dynamics`). This module keeps the batched numpy alternative, default
market only (linear impact, no caps, random walk), with its numpy noise (SplitMix64 in uint64 arrays and
scipy's ``ndtri``), so that the choice of numba rests on a measurement: :func:`rows` times both on a batch
of one (what a scalar env steps) and of 16,384, after checking they give the same rewards.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from execgym import engine
from execgym.noise import episode_keys
from execgym.problems.optimal_exec import dynamics
from execgym.problems.optimal_exec.params import OptimalExecParams
from experiments.benchmarks.timing import best_times

_GOLDEN, _MUL1, _MUL2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MUL1
    z = (z ^ (z >> np.uint64(27))) * _MUL2
    return z ^ (z >> np.uint64(31))


def numpy_normals(keys: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The suite's normal draws (:func:`execgym.noise.standard_normals`, one stream) in numpy and scipy."""
    bits = _mix(keys ^ _mix(np.asarray(steps, dtype=np.uint64)))
    return ndtri(((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53)


def numpy_step(params: OptimalExecParams, batch: engine.Batch, fractions: np.ndarray):
    """One period of the default market over ``batch`` in numpy: (new batch, reward, observations)."""
    s, tau, state = params.side_sign, params.tau, batch.state
    last = state.elapsed == params.periods - 1
    traded = np.where(last, state.inventory, fractions * state.inventory)
    unit_cost = params.half_spread + params.temporary_impact * np.abs(traded) / tau
    remaining = state.inventory - traded
    move = params.drift * tau + params.shock_scale * numpy_normals(batch.key, state.elapsed) \
        - s * params.permanent_impact * traded
    cost = np.abs(traded) * unit_cost - s * move * remaining
    reward = -(cost + params.period_risk * remaining**2) * params.bps_per_currency
    new = dynamics.State(elapsed=state.elapsed + 1, inventory=remaining, price=state.price + move,
                         shortfall=state.shortfall + cost, last_trade=traded,
                         displacement=state.displacement)      # no transient impact: stays 0
    obs = np.empty((len(batch), 3), dtype=np.float32)
    obs[:, 0] = (params.periods - new.elapsed) / params.periods
    obs[:, 1] = new.inventory / params.shares
    obs[:, 2] = (new.price - params.arrival_price) / params.price_scale
    return engine.Batch(seed=batch.seed, episode=batch.episode, key=batch.key, state=new, observation=obs), \
        reward, obs


def compiled_step(params: OptimalExecParams, batch: engine.Batch, fractions: np.ndarray):
    """The same period as the vector env runs it: :func:`engine.step`, which observes too."""
    transition = engine.step(dynamics.DYNAMICS, params, batch, fractions)
    return transition.batch, transition.reward, transition.batch.observation


def python_step(params: OptimalExecParams, state: dynamics.State, fraction: float, shock: float):
    """The same period as the scalar env runs it: :func:`dynamics.advance` on floats, observation included."""
    variant, market = dynamics.variant(params), dynamics.scalar_market(params)
    state, reward, _ = dynamics.advance(variant, market, state, fraction, shock)
    obs = np.empty((1, 3), dtype=np.float32)
    dynamics.write_observation(variant, market, state, obs, 0)
    return state, reward, obs[0]


def rows(repeats: int, calls: int = 2_000) -> list[tuple]:
    """Speed-table rows: steps/s of one period of OptimalExec-v0 (defaults, 10 periods stepped from the
    start) in numpy against the compiled batch (16,384 episodes) and against plain Python (one episode)."""
    params = OptimalExecParams()
    fraction = 0.3

    def batch_of(n: int) -> engine.Batch:
        return engine.start(dynamics.DYNAMICS, params, np.arange(n), np.zeros(n, dtype=np.uint64))

    def batched_run(step, n: int):
        fractions, start = np.full(n, fraction), batch_of(n)
        steps = max(params.periods, calls // n) // params.periods * params.periods

        def run():
            batch, total = start, 0.0
            for k in range(steps):
                batch, reward, _ = step(params, batch, fractions)
                total += reward.sum()
                if k % params.periods == params.periods - 1:
                    batch = start
            return total, steps * n
        return run

    key = episode_keys(np.arange(1), np.zeros(1, dtype=np.uint64))[0]
    variant, market = dynamics.variant(params), dynamics.scalar_market(params)
    shocks = dynamics.episode_shocks(variant, market, key)

    def python_run():
        total = 0.0
        for episode in range(calls // params.periods):
            state = dynamics.initial_state(variant, market, key)
            for k in range(params.periods):
                state, reward, _ = python_step(params, state, 1.0 if k == params.periods - 1 else fraction,
                                               shocks[k])
                total += reward
        return total, calls // params.periods * params.periods

    runs = {("numpy", 1): batched_run(numpy_step, 1), ("python", 1): python_run,
            ("numpy", 16_384): batched_run(numpy_step, 16_384),
            ("compiled", 16_384): batched_run(compiled_step, 16_384)}
    for run in runs.values():
        run()
    best, results = best_times(runs, repeats)
    for size, other in ((1, "python"), (16_384, "compiled")):
        reference, value = results[("numpy", size)][0], results[(other, size)][0]
        if not np.isclose(reference, value, rtol=1e-9):
            raise AssertionError(f"numpy and {other} periods disagree at batch {size}: {reference} vs {value}")
    rate = {key: results[key][1] / seconds for key, seconds in best.items()}
    return [("OptimalExec-v0", "one period, one episode: plain Python (scalar env) vs numpy on a batch of 1",
             rate[("python", 1)], rate[("numpy", 1)], rate[("python", 1)] / rate[("numpy", 1)], "", None),
            ("OptimalExec-v0", "one period, 16,384 episodes: numba-compiled (vector env) vs numpy",
             rate[("compiled", 16_384)], rate[("numpy", 16_384)],
             rate[("compiled", 16_384)] / rate[("numpy", 16_384)], "", None)]
