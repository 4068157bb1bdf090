"""The exact oracle of PortfolioExec-v0 from the shared LQ solver, with matrix state.

State x_k (m,): holdings still to trade; control u_k = n_{k+1} (m,); x_{k+1} = x_k − u_k.
Periods 1..N−1 are decisions; period N trades what is left, so its cost
xᵀH x/τ is the final cost. The expected cost of one decision period, from the
env's reward (E[ΔS] = −Γ·u given the state)::

    uᵀH u/τ + uᵀΓᵀ(x − u) + λτ·(x − u)ᵀΣ(x − u)

so Q = λτΣ, R = H_s/τ − Γ_s + λτΣ, M = Γ/2 − λτΣ (sᵀMu convention of
:mod:`execgym.solvers.lq`; H_s, Γ_s the symmetric parts). The half spreads add
the constant Σ_i ε_i·|X_i| for schedules that move every asset monotonically
to zero, the only ones the action space (a fraction of each remaining
position) can express; the oracle checks that its schedule is one.

With transient impact the books' displacements D (m,) join the state, z = (x, D): D_{k+1} = Ψ·(D_k − K·u_k)
(Ψ = diag ψ_i, K = diag κ_i), the period's cost gains uᵀ(K/2)u − uᵀD (R += K/2, M's D block −I/2) and the
final one xᵀ(K/2)x − xᵀD. The displacement is deterministic given the trades, so the optimum stays a
deterministic schedule.

The Riccati recursion costs O(N·m³) time and O(N·m²) memory: the dense
(N·m)×(N·m) quadratic program is never formed. The optimum is a deterministic
schedule (random-walk prices carry no information about future costs).
"""

from __future__ import annotations

import numpy as np

from execgym.policy import Oracle, OracleCost
from execgym.problems.portfolio_exec import dynamics, schedule
from execgym.problems.portfolio_exec.params import PortfolioExecParams
from execgym.solvers.lq import LQProblem, LQSolution, solve_lq

BUILD_OVERHEAD = 0.0005
"""Seconds of an oracle build that do not grow with the book (:func:`build_cost`)."""
SECONDS_PER_PERIOD = 6e-5
"""Build seconds per period apart from the matrix algebra (measured: the default book over 390 periods in
0.025 s)."""
SECONDS_PER_CUBE = 4e-10
"""Build seconds per period and m³ (measured with one BLAS thread: m = 100 over 390 periods in about 0.15 s)."""

def lq_problem(params: PortfolioExecParams) -> LQProblem:
    """The LQ problem whose solution is the optimal portfolio liquidation (module docstring)."""
    tau = params.tau
    risk = params.risk_aversion * tau * params.sigma
    eta_s = 0.5 * (params.eta + params.eta.T)
    gamma_s = 0.5 * (params.gamma + params.gamma.T)
    identity = np.eye(params.assets)
    R, M, Q_final = eta_s / tau - gamma_s + risk, 0.5 * params.gamma - risk, eta_s / tau
    if not params.transient:
        return LQProblem(A=identity, B=-identity, Q=risk, R=R, M=M, Q_final=Q_final, steps=params.periods - 1)
    depth, decay, zero = np.diag(params.kappa), np.diag(params.transient_decays), np.zeros_like(identity)
    return LQProblem(A=np.block([[identity, zero], [zero, decay]]), B=np.vstack([-identity, -decay @ depth]),
                     Q=np.block([[risk, zero], [zero, zero]]), R=R + 0.5 * depth, M=np.vstack([M, -0.5 * identity]),
                     Q_final=np.block([[Q_final + 0.5 * depth, -0.5 * identity], [-0.5 * identity, zero]]),
                     steps=params.periods - 1)


def initial_state(params: PortfolioExecParams) -> np.ndarray:
    """z_0: the book X, and with transient impact undisplaced books."""
    return np.concatenate([params.shares, np.zeros(params.assets)]) if params.transient else params.shares


class PortfolioFeedback:
    """The optimal trades n = K_k·z acting through the env's action space: fraction n_i/x_i per asset (z the
    holdings, and with transient impact the books' displacements, read from the observation)."""

    def __init__(self, params: PortfolioExecParams, solution: LQSolution) -> None:
        self.params = params
        forced = np.eye(params.assets, solution.gain.shape[-1])                        # period N trades everything
        self.gain = np.concatenate([solution.gain, forced[None]])

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        elapsed, holdings = dynamics.decode(self.params, observations)
        states = holdings
        if self.params.transient:
            m = self.params.assets
            depths = self.params.kappa * self.params.shares                         # D_i = entry·κ_i·X_i
            states = np.hstack([holdings, np.asarray(observations, np.float64)[:, 1 + 2 * m:1 + 3 * m] * depths])
        trades = np.einsum("kij,kj->ki", self.gain[elapsed], states)
        fractions = np.divide(trades, holdings, out=np.zeros_like(trades), where=holdings != 0)
        return (2.0 * np.clip(fractions, 0.0, 1.0) - 1.0).astype(np.float32)


def optimal_holdings(params: PortfolioExecParams, solution: LQSolution, problem: LQProblem) -> np.ndarray:
    """x_0..x_N (N+1, m) of the optimal schedule."""
    states, _ = solution.rollout_mean(problem, initial_state(params))
    return np.concatenate([states[:, :params.assets], np.zeros((1, params.assets))])


def build_cost(params: PortfolioExecParams) -> OracleCost:
    """What :func:`make_oracle` would take: N periods of the Riccati recursion, O(m³) each."""
    cubes = params.periods * params.assets**3
    return OracleCost(size=cubes, unit=f"N·m³ ({params.periods} periods, {params.assets} assets)",
                      seconds=BUILD_OVERHEAD + SECONDS_PER_PERIOD * params.periods + SECONDS_PER_CUBE * cubes)


def make_oracle(params: PortfolioExecParams) -> Oracle:
    """The optimal policy, its exact E[Σ reward] (bps), holdings, E[IS] and Var[IS]."""
    problem = lq_problem(params)
    solution = solve_lq(problem)
    holdings = optimal_holdings(params, solution, problem)
    broken = schedule.first_move_away_from_zero(params, holdings)
    if broken is not None:
        period, asset = broken
        raise ValueError(
            f"the optimal schedule trades asset {asset} away from zero (period {period}), e.g. to hedge the "
            "others, which the action space (a fraction of each remaining position) cannot express; the oracle "
            "would not be exact. Lower the cross-impact or correlations, or give that asset a position")
    value = float(solution.value(0, initial_state(params))) + float(np.abs(params.shares) @ params.spreads)
    return Oracle(policy=PortfolioFeedback(params, solution), expected_return=-value * params.bps_per_currency,
                  schedule=holdings, expected_shortfall=float(schedule.expected_shortfall(params, holdings)),
                  variance=float(schedule.variance(params, holdings)))
