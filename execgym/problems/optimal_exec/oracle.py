"""The exact oracle of OptimalExec-v0 from the shared LQ solver.

State z_k = (x_k, d_k): shares still held before period k+1's trade, and the
price's deviation from its long-run level, d_k = S_k − μ̄. Control u_k = n_{k+1}
(shares traded). Dynamics (φ = e^{−θτ}; φ = 1 for the random walk)::

    x_{k+1} = x_k − u_k,    d_{k+1} = φ·d_k + μτ − s·γ·u_k + σ_τ·ξ_{k+1}

Periods 1..N−1 are decisions; period N trades what is left, so its cost η·x²/τ
is the final cost. The expected cost of one decision period, from the env's
reward (the shock has mean zero given the state)::

    η/τ·u² − s·[(φ − 1)·d + μτ − s·γ·u]·(x − u) + λσ_τ²·(x − u)²

i.e. Q = [[λσ_τ², −s(φ−1)/2], [−s(φ−1)/2, 0]], R = η/τ − γ + λσ_τ²,
M = [(γ − 2λσ_τ²)/2, s(φ−1)/2], q = (−sμτ/2, 0), r = sμτ/2. The half spread
adds the constant εX for any one-directional schedule, the only ones the action
space can express (trades go one way, f ∈ [0, 1]).

For the random walk the optimal schedule is deterministic (the gain on d is
zero). Under mean reversion the optimal policy trades more when the price is
above μ̄ (for a sell): it is linear in (x, d), and (x, d) is Gaussian along it,
so the probability that it would ask for a trade the action space cannot
express (buying back, or more than is held) is computed exactly per period;
the oracle refuses parameters where the union of these events is more likely
than :data:`CLIP_TOLERANCE`, and reports the bound otherwise. The Riccati
recursion runs in O(N).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.special import ndtr

from execgym.policy import Oracle
from execgym.problems.optimal_exec import dynamics, schedule
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.solvers.lq import LQProblem, LQSolution, solve_lq

CLIP_TOLERANCE = 1e-6


def lq_problem(params: OptimalExecParams) -> LQProblem:
    """The LQ problem whose solution is the optimal liquidation (see the module docstring)."""
    tau, s, phi = params.tau, params.side_sign, params.reversion_factor
    risk = params.risk_aversion * params.shock_scale**2
    drift = params.drift * tau
    coupling = s * (phi - 1.0) / 2.0
    return LQProblem(A=[[1.0, 0.0], [0.0, phi]], B=[[-1.0], [-s * params.permanent_impact]], c=[0.0, drift],
                     W=[[0.0, 0.0], [0.0, params.shock_scale**2]],
                     Q=[[risk, -coupling], [-coupling, 0.0]],
                     R=[[params.temporary_impact / tau - params.permanent_impact + risk]],
                     M=[[0.5 * (params.permanent_impact - 2.0 * risk)], [coupling]],
                     q=[-0.5 * s * drift, 0.0], r=[0.5 * s * drift],
                     Q_final=[[params.temporary_impact / tau, 0.0], [0.0, 0.0]], steps=params.periods - 1)


def initial_state(params: OptimalExecParams) -> np.ndarray:
    """z_0 = (X, S0 − μ̄)."""
    return np.array([params.shares, params.arrival_price - params.long_run_price])


class LiquidationFeedback:
    """The LQ feedback acting through the env's action space: observation -> (time, inventory, price
    deviation) -> optimal shares n = K_k·(x, d) + k_k -> fraction n/x -> action 2·(n/x) − 1.

    Where the optimal trade is one the action space cannot express (a negative one, or more than the
    inventory: rare, see the module docstring, or off the optimal path) it is clipped to it.
    """

    def __init__(self, params: OptimalExecParams, solution: LQSolution) -> None:
        self.params = params
        self.gain = np.concatenate([solution.gain[:, 0, :], [[1.0, 0.0]]])    # period N trades everything
        self.offset = np.append(solution.offset[:, 0], 0.0)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        p = self.params
        elapsed, inventory = dynamics.decode(p, observations)
        deviation = (p.arrival_price - p.long_run_price
                     + np.asarray(observations, dtype=np.float64)[:, 2] * p.price_scale)
        gain = self.gain[elapsed]
        trade = gain[:, 0] * inventory + gain[:, 1] * deviation + self.offset[elapsed]
        safe = np.where(inventory > 0.0, inventory, 1.0)
        fraction = np.where(inventory > 0.0, np.clip(trade / safe, 0.0, 1.0), 0.0)
        return dynamics.fraction_to_action(fraction)[:, None].astype(np.float32)


def clip_probability(params: OptimalExecParams, problem: LQProblem, solution: LQSolution) -> float:
    """Union bound, over the decision periods, of P(u_k < 0) + P(u_k > x_k) under the unclipped optimal
    policy: (x_k, d_k) is Gaussian along it, so each term is a normal tail, propagated exactly."""
    a = problem.arrays()
    mean, covariance, total = initial_state(params), np.zeros((2, 2)), 0.0
    for k in range(problem.steps):
        gain, offset = solution.gain[k, 0], solution.offset[k, 0]
        for direction, shift in ((gain, offset), (np.array([1.0, 0.0]) - gain, -offset)):   # u and x − u
            centre = direction @ mean + shift
            spread = float(np.sqrt(max(direction @ covariance @ direction, 0.0)))
            total += float(ndtr(-centre / spread)) if spread > 0 else float(centre < -1e-9 * params.shares)
        closed_loop = a["A"][k] + a["B"][k] @ solution.gain[k]
        mean = closed_loop @ mean + a["B"][k] @ solution.offset[k] + a["c"][k]
        covariance = closed_loop @ covariance @ closed_loop.T + a["W"][k]
    return total


def make_oracle(params: OptimalExecParams) -> Oracle:
    """The optimal policy, its exact E[Σ reward] (bps), its holdings along the expected price path, and
    for the random walk (a deterministic optimum) E[IS] and Var[IS]."""
    problem = lq_problem(params)
    solution = solve_lq(problem)
    states, _ = solution.rollout_mean(problem, initial_state(params))
    holdings = np.append(states[:, 0], 0.0)
    tolerance = 1e-9 * params.shares
    if (np.diff(holdings) > tolerance).any() or (holdings < -tolerance).any():
        low, high = monotone_drift_range(params)
        raise ValueError(
            f"drift={params.drift:g} makes the optimal schedule trade in both directions, which the action "
            f"space (one-directional trades) cannot express; with these parameters drift must lie in "
            f"[{low:.6g}, {high:.6g}] currency per share per day")
    clipped = clip_probability(params, problem, solution)
    if clipped > CLIP_TOLERANCE:
        raise ValueError(
            f"with mean_reversion={params.mean_reversion:g} the optimal policy would need a trade the action "
            f"space cannot express (buying back, or more than is held) with probability up to {clipped:.2g} "
            f"(more than {CLIP_TOLERANCE:g}): the oracle would not be exact. Lower mean_reversion or volatility, "
            "or raise temporary_impact")
    holdings = np.clip(holdings, 0.0, None)
    holdings[0] = params.shares
    value = float(solution.value(0, initial_state(params))) + params.half_spread * params.shares
    deterministic = params.mean_reversion == 0.0
    return Oracle(policy=LiquidationFeedback(params, solution),
                  expected_return=-value * params.bps_per_currency,
                  schedule=holdings,
                  expected_shortfall=float(schedule.expected_shortfall(params, holdings)) if deterministic else None,
                  variance=float(schedule.variance(params, holdings)) if deterministic else None,
                  clip_probability=clipped)


def monotone_drift_range(params: OptimalExecParams) -> tuple[float, float]:
    """The drifts μ for which the optimal schedule trades in one direction only.

    Holdings are affine in μ, h(μ) = h(0) + μ·g, so each constraint n_k(μ) >= 0
    and x_k(μ) >= 0 bounds μ from one side; the range is their intersection.
    """
    def optimal_holdings(drift: float) -> np.ndarray:
        p = replace(params, drift=drift)
        problem = lq_problem(p)
        states, _ = solve_lq(problem).rollout_mean(problem, initial_state(p))
        return np.append(states[:, 0], 0.0)

    base = optimal_holdings(0.0)
    slope = optimal_holdings(1.0) - base
    values = np.concatenate([-np.diff(base), base])
    slopes = np.concatenate([-np.diff(slope), slope])
    low, high = -np.inf, np.inf
    for value, rate in zip(values, slopes):
        if rate > 0:
            low = max(low, -value / rate)
        elif rate < 0:
            high = min(high, -value / rate)
    return low, high

