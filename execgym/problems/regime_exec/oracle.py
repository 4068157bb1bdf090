"""The exact oracle of OptimalExecRegimes-v0: the Markov-jump LQ problem's coupled Riccati recursions, and the
best schedule that does not watch the regime.

State x_k, the shares held before period k + 1's trade; control u_k = n_{k+1}; x_{k+1} = x_k − u_k. The expected
cost of a decision period in regime r (the env's reward without its shock, :mod:`.dynamics`), with η_r = ℓ_r·η and
the risk ρ_r = λ·v_r²σ²τ::

    η_r/τ·u² + γ·u·(x − u) + ρ_r·(x − u)²        (+ ε·u, summing to the constant εX)

i.e. Q = ρ_r, R = η_r/τ − γ + ρ_r, M = (γ − 2ρ_r)/2 (sᵀMu convention of :mod:`execgym.solvers.lq`). Periods 1..N−1
are decisions; period N trades what is left, so its cost η_r/τ·x² in its regime r is the final cost.
:func:`~execgym.solvers.jump_lq.solve_jump_lq` gives the optimal trade u = K_k^r·x per period and regime: a fraction
K_k^r of the shares held, which the action space expresses exactly when 0 <= K_k^r <= 1 in every (period, regime)
the chain can reach (checked: the oracle refuses otherwise; unreachable pairs do not enter the value). Each step of
the recursion must be strictly convex in the trade (R + BᵀP̄B > 0, which holds when every regime's η_r/τ exceeds
γ/2); where it is not the oracle refuses the params, naming the regime. The value V_0^{r0}(X) + εX is exact over all
policies that see the regime and the prices (the price carries no information on future costs: a random walk without
drift).

The expected holdings E[x_k] (the oracle's ``schedule``) follow from m_k(r) = E[x_k·1{r_k = r}]:
m_{k+1}(r') = Σ_r T[r, r']·(1 − K_k^r)·m_k(r).

``blind`` (:func:`blind_schedule`) is the best deterministic schedule: a schedule does not depend on the regime
path, so its expected cost has each period's coefficients averaged over that period's regime probabilities π_k
(:attr:`~.params.RegimeExecParams.regime_probabilities`), an ordinary LQ problem with time-varying coefficients
(:func:`~execgym.solvers.lq.solve_lq`); the gap between its value and the oracle's is the exact value of
observing the regime.
"""

from __future__ import annotations

import numpy as np

from execgym.policy import Oracle, OracleCost
from execgym.problems.regime_exec import dynamics
from execgym.problems.regime_exec.params import RegimeExecParams
from execgym.solvers.jump_lq import solve_jump_lq
from execgym.solvers.lq import LQProblem, solve_lq

BUILD_OVERHEAD = 0.001
"""Seconds of an oracle build that do not grow with the problem (:func:`build_cost`)."""
SECONDS_PER_REGIME_PERIOD = 2e-5
"""Build seconds per (period, regime) (measured: 1,000 periods × 2 regimes in about 0.03 s)."""
FRACTION_TOLERANCE = 1e-12
"""Slack on 0 <= K <= 1 (rounding)."""


def regime_coefficients(params: RegimeExecParams) -> dict[str, np.ndarray]:
    """Per regime (R,): the temporary impact per share per share η_r/τ, the permanent impact γ (the same in
    every regime) and the risk weight ρ_r = λ·v_r²σ²τ."""
    liquidity, volatility = np.array(params.regime_liquidity), np.array(params.regime_volatility)
    return {"impact": liquidity * params.temporary_impact / params.tau,
            "permanent": np.full(params.regimes, params.permanent_impact),
            "risk": params.risk_aversion * (volatility * params.volatility) ** 2 * params.tau}


def _coefficients(impact: np.ndarray, permanent: np.ndarray, risk: np.ndarray, steps: int) -> dict[str, np.ndarray]:
    """The stacked LQ coefficients (b, steps, ...) of liquidation problems with coefficients (b, steps) each
    (one state, one control; the final cost is set by the caller)."""
    b = impact.shape[0]
    zeros = np.zeros((b, steps, 1))
    return dict(A=np.ones((b, steps, 1, 1)), B=-np.ones((b, steps, 1, 1)), Q=risk[..., None, None],
                R=(impact - permanent + risk)[..., None, None], M=(0.5 * permanent - risk)[..., None, None],
                q=zeros, r=zeros, c=zeros, W=np.zeros((b, steps, 1, 1)))


def jump_lq_arrays(params: RegimeExecParams) -> dict[str, np.ndarray]:
    """The coefficients of the Markov-jump LQ problem stacked over regimes (R, N − 1, ...), as
    :func:`~execgym.solvers.jump_lq.solve_jump_lq` takes them (module docstring)."""
    each = regime_coefficients(params)
    steps = params.periods - 1
    a = _coefficients(*(np.repeat(each[name][:, None], steps, axis=1) for name in ("impact", "permanent", "risk")),
                      steps)
    a["Q_final"], a["q_final"] = each["impact"][:, None, None], np.zeros((params.regimes, 1))
    return a


class RegimeFeedback:
    """The optimal fraction K_k^r of the remaining shares in period k and regime r, acting through the env's
    action space (a = 2K − 1; the last period trades everything whatever the action)."""

    def __init__(self, params: RegimeExecParams, fractions: np.ndarray) -> None:
        """``fractions`` (R, N): K_k^r, the last period's 1."""
        self.params, self.fractions = params, fractions

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        elapsed, _, regime = dynamics.decode(self.params, observations)
        return (2.0 * self.fractions[regime, elapsed] - 1.0)[:, None].astype(np.float32)


def expected_holdings(params: RegimeExecParams, fractions: np.ndarray) -> np.ndarray:
    """E[x_k], k = 0..N, of the policy trading the fraction ``fractions`` (R, N) of the remaining shares in each
    (regime, period): the module docstring's recursion."""
    by_regime = np.zeros(params.regimes)
    by_regime[params.initial_regime] = params.shares
    holdings = [params.shares]
    for k in range(params.periods):
        by_regime = (by_regime * (1.0 - fractions[:, k])) @ params.transition_matrix
        holdings.append(float(by_regime.sum()))
    return np.array(holdings)


def make_oracle(params: RegimeExecParams) -> Oracle:
    """The optimal policy, its exact E[Σ reward] (bps) and its expected holdings (module docstring); ValueError
    where the optimum trades a fraction outside [0, 1] (the action space cannot express it)."""
    try:
        solution = solve_jump_lq(jump_lq_arrays(params), params.transition_matrix)
    except ValueError as error:
        raise ValueError(f"no exact oracle: {error}; raise that regime's regime_liquidity (its temporary impact "
                         "must outweigh the permanent one) or lower permanent_impact") from None
    gains = solution.gain[:, :, 0]                                                   # (R, N − 1)
    reachable = params.regime_probabilities[:-1].T > 0.0                             # (R, N − 1)
    bad = np.argwhere(reachable & ((gains < -FRACTION_TOLERANCE) | (gains > 1.0 + FRACTION_TOLERANCE)))
    if bad.size:
        regime, period = bad[0]
        raise ValueError(f"the optimum trades {gains[regime, period]:.6g} of the remaining shares in period "
                         f"{period} in regime {regime}: outside [0, 1], which one-way trading cannot express")
    fractions = np.concatenate([np.clip(gains, 0.0, 1.0), np.ones((params.regimes, 1))], axis=1)
    value = (solution.P[params.initial_regime, 0, 0, 0] * params.shares**2
             + params.half_spread * params.shares)
    return Oracle(policy=RegimeFeedback(params, fractions), expected_return=-value * params.bps_per_currency,
                  schedule=expected_holdings(params, fractions))


def blind_schedule(params: RegimeExecParams) -> tuple[np.ndarray, float]:
    """(holdings x_0..x_N, E[Σ reward] in bps) of the best deterministic schedule (module docstring)."""
    each, probabilities = regime_coefficients(params), params.regime_probabilities        # (N, R)
    averaged = {name: probabilities @ values for name, values in each.items()}           # (N,) per period
    steps = params.periods - 1
    a = _coefficients(*(averaged[name][None, :steps] for name in ("impact", "permanent", "risk")), steps)
    problem = LQProblem(A=a["A"][0], B=a["B"][0], Q=a["Q"][0], R=a["R"][0], M=a["M"][0],
                        Q_final=np.array([[averaged["impact"][-1]]]), steps=steps)
    solution = solve_lq(problem)
    states, _ = solution.rollout_mean(problem, np.array([params.shares]))
    value = float(solution.value(0, np.array([params.shares]))) + params.half_spread * params.shares
    return np.append(states[:, 0], 0.0), -value * params.bps_per_currency


def build_cost(params: RegimeExecParams) -> OracleCost:
    """What :func:`make_oracle` would take: N periods × R regimes of the coupled recursion."""
    size = params.periods * params.regimes
    return OracleCost(size=size, unit=f"(period, regime) pairs ({params.periods} × {params.regimes})",
                      seconds=BUILD_OVERHEAD + SECONDS_PER_REGIME_PERIOD * size)
