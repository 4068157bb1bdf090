"""The exact oracle of OptimalExec-v0 from the shared LQ solver.

State s_k = x_k (shares still held before period k+1's trade), control
u_k = n_{k+1} (shares traded), dynamics x_{k+1} = x_k − u_k. Periods 1..N−1
are decisions; period N trades what is left, so its cost η·x²/τ is the final
cost. The expected cost of one decision period, from the env's reward
(the price shock has mean zero given x, so it drops out)::

    η/τ·u² + γ·u·(x − u) + λσ²τ·(x − u)² − s·μτ·(x − u)

i.e. Q = λσ²τ, R = η/τ − γ + λσ²τ, 2M = γ − 2λσ²τ, 2q = −sμτ, 2r = sμτ.
The half spread adds the constant εX for any one-directional schedule, the
only ones the action space can express (trades go one way, f ∈ [0, 1]). The
Riccati recursion runs in O(N); the optimal schedule is deterministic.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from execgym.policy import Oracle
from execgym.problems.optimal_exec import dynamics, schedule
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.solvers.lq import LQProblem, LQSolution, solve_lq


def lq_problem(params: OptimalExecParams) -> LQProblem:
    """The LQ problem whose solution is the optimal liquidation (see the module docstring)."""
    tau, s = params.tau, params.side_sign
    risk = params.risk_aversion * params.volatility**2 * tau
    drift = s * params.drift * tau
    return LQProblem(A=np.eye(1), B=-np.eye(1), Q=[[risk]],
                     R=[[params.temporary_impact / tau - params.permanent_impact + risk]],
                     M=[[0.5 * (params.permanent_impact - 2.0 * risk)]],
                     q=[-0.5 * drift], r=[0.5 * drift],
                     Q_final=[[params.temporary_impact / tau]], steps=params.periods - 1)


class LiquidationFeedback:
    """The LQ feedback acting through the env's action space: observation -> (time, inventory)
    -> optimal shares n = K_k·x + k_k -> fraction n/x -> action 2·(n/x) − 1.

    Off the optimal path (states other policies reach), a trade the action space
    cannot express (a negative one, or more than the inventory) is clipped to it.
    """

    def __init__(self, params: OptimalExecParams, solution: LQSolution) -> None:
        self.params = params
        self.gain = np.append(solution.gain[:, 0, 0], 1.0)      # period N trades everything
        self.offset = np.append(solution.offset[:, 0], 0.0)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        elapsed, inventory = dynamics.decode(self.params, observations)
        trade = self.gain[elapsed] * inventory + self.offset[elapsed]
        safe = np.where(inventory > 0.0, inventory, 1.0)
        fraction = np.where(inventory > 0.0, np.clip(trade / safe, 0.0, 1.0), 0.0)
        return dynamics.fraction_to_action(fraction)[:, None].astype(np.float32)


def make_oracle(params: OptimalExecParams) -> Oracle:
    """The optimal policy, its exact E[Σ reward] (bps), holdings, E[IS] and Var[IS]."""
    problem = lq_problem(params)
    solution = solve_lq(problem)
    states, _ = solution.rollout_mean(problem, np.array([params.shares]))
    holdings = np.append(states[:, 0], 0.0)
    trades = -np.diff(holdings)
    tolerance = 1e-9 * params.shares
    if (trades < -tolerance).any() or (holdings < -tolerance).any():
        low, high = monotone_drift_range(params)
        raise ValueError(
            f"drift={params.drift:g} makes the optimal schedule trade in both directions, which the action "
            f"space (one-directional trades) cannot express; with these parameters drift must lie in "
            f"[{low:.6g}, {high:.6g}] currency per share per day")
    holdings = np.clip(holdings, 0.0, None)
    holdings[0] = params.shares
    value = float(solution.value(0, np.array([params.shares]))) + params.half_spread * params.shares
    return Oracle(policy=LiquidationFeedback(params, solution),
                  expected_return=-value * params.bps_per_currency,
                  schedule=holdings,
                  expected_shortfall=float(schedule.expected_shortfall(params, holdings)),
                  variance=float(schedule.variance(params, holdings)))


def monotone_drift_range(params: OptimalExecParams) -> tuple[float, float]:
    """The drifts μ for which the optimal schedule trades in one direction only.

    Holdings are affine in μ, h(μ) = h(0) + μ·g, so each constraint n_k(μ) >= 0
    and x_k(μ) >= 0 bounds μ from one side; the range is their intersection.
    """
    def optimal_holdings(drift: float) -> np.ndarray:
        p = replace(params, drift=drift)
        problem = lq_problem(p)
        states, _ = solve_lq(problem).rollout_mean(problem, np.array([p.shares]))
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

