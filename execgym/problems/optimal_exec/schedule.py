"""Exact cost of a deterministic schedule in OptimalExec, for every model variant.

A schedule is its holdings h = (x_0 = X, x_1, ..., x_N), shares (x_N = 0 when
the order must complete); the trades are n_k = x_{k−1} − x_k. With s = +1 for a
sell and −1 for a buy, g_k the cost per share of period k (see
:func:`~execgym.problems.optimal_exec.dynamics.unit_costs`), and the expected
price deviation m_k = E[S_k] − μ̄ following m_0 = S0 − μ̄,
m_k = m_{k−1} + E[ΔS_k] with E[ΔS_k] = (φ − 1)·m_{k−1} + μτ − s·γ·n_k::

    E[IS]   = Σ_k |n_k|·g_k(n_k) + κ·Σ_k (n_k²/2 + Σ_{j<k} ψ^{k−j}·n_j·n_k) − s·Σ_k E[ΔS_k]·x_k
    Var[IS] = σ_τ²·Σ_j (x_j + (φ − 1)·Σ_{k>j} φ^{k−1−j}·x_k)²
    U       = E[IS] + λ·σ_τ²·Σ_{k=1..N} x_k² + c·Σ_{k=2..N} (n_k − n_{k−1})² + ρ·x_N²

(the last term only with a soft target; the κ term is transient impact, ψ = e^{−ρτ}: ½κ·nᵀGn with the
propagator G_jk = ψ^{|k−j|}): U is the objective the env's rewards sum to. For the random walk with linear, constant impact (θ = 0: φ = 1,
σ_τ² = σ²τ) these are Almgren & Chriss's E[IS] = ½γX² + ε·Σ|n_k| +
(η̃/τ)·Σ n_k² − s·μτ·Σ x_k and Var[IS] = σ²τ·Σ x_k², and U = E[IS] + λ·Var[IS].
Under mean reversion the risk term of U is the sum of each period's conditional
variance, not Var[IS]. A schedule's expected return in the env is
−U·10⁴/(X·S0) (see the env's docstring).

:class:`TradeSpaceCosts` writes U for the random walk with linear impact as a
function of the trades alone, the form the separable schedule solvers take.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execgym.problems.optimal_exec.dynamics import unit_costs
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.solvers.allocation import water_fill


def check_holdings(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """``holdings`` as floats, checked to run from X over N periods (to 0 when the order must complete)."""
    holdings = np.asarray(holdings, dtype=np.float64)
    if holdings.shape[-1] != params.periods + 1:
        raise ValueError(f"holdings must have N + 1 = {params.periods + 1} entries, got {holdings.shape[-1]}")
    # np.allclose's tolerances, compared directly (np.allclose costs 75 µs a call, most of pricing a schedule)
    if not np.all(np.abs(holdings[..., 0] - params.shares) <= 1e-8 + 1e-5 * params.shares):
        raise ValueError("holdings must start at shares (X)")
    if params.completes and not np.all(np.abs(holdings[..., -1]) <= 1e-9 * params.shares):
        raise ValueError("holdings must end at 0: the order must complete (no target_penalty)")
    return holdings


def expected_shortfall(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """E[IS] of the schedule(s), currency; ``holdings`` (..., N + 1)."""
    holdings = check_holdings(params, holdings)
    trades = -np.diff(holdings, axis=-1)
    trading = (np.abs(trades) * unit_costs(params, np.arange(params.periods), trades)).sum(axis=-1)
    trading = trading + transient_cost_of(trades, params.transient_impact, params.transient_decay)
    return shortfall_of(holdings, trading, params.side_sign, params.reversion_factor,
                        params.arrival_price - params.long_run_price, params.drift * params.tau,
                        params.permanent_impact)


def shortfall_of(holdings: np.ndarray, trading: np.ndarray, side_sign, reversion_factor, deviation, drift_move,
                 permanent_impact) -> np.ndarray:
    """E[IS] (module docstring) of holdings (..., N + 1) whose trading costs Σ|n_k|·g_k are ``trading`` (...);
    the market's s, φ, m_0 = S0 − μ̄, μτ and γ are numbers or arrays that broadcast with ``trading`` (one
    market per schedule)."""
    trades = -np.diff(holdings, axis=-1)
    deviation = np.broadcast_to(np.asarray(deviation, dtype=np.float64), trading.shape)
    price_term = np.zeros(trading.shape)
    for k in range(trades.shape[-1]):
        move = (reversion_factor - 1.0) * deviation + drift_move - side_sign * permanent_impact * trades[..., k]
        price_term += move * holdings[..., k + 1]
        deviation = deviation + move
    return trading - side_sign * price_term


def transient_cost_of(trades: np.ndarray, transient_impact, transient_decay) -> np.ndarray:
    """κ·Σ_k (n_k²/2 + Σ_{j<k} ψ^{k−j}·n_j·n_k), currency: what trades (..., N) pay to transient impact (module
    docstring), by the displacement's recursion e_0 = 0, cost_k = κn_k²/2 − n_k·e_k, e_{k+1} = ψ·(e_k − κn_k);
    κ and ψ numbers or arrays that broadcast with ``trades[..., 0]`` (zero without transient impact)."""
    displacement = np.zeros(trades.shape[:-1])
    total = np.zeros(trades.shape[:-1])
    if not np.any(transient_impact):
        return total
    for k in range(trades.shape[-1]):
        total += trades[..., k] * (0.5 * transient_impact * trades[..., k] - displacement)
        displacement = transient_decay * (displacement - transient_impact * trades[..., k])
    return total


def variance(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """Var[IS] of the schedule(s), currency²."""
    return variance_of(check_holdings(params, holdings), params.reversion_factor, params.shock_scale)


def variance_of(holdings: np.ndarray, reversion_factor, shock_scale) -> np.ndarray:
    """Var[IS] (module docstring) of holdings (..., N + 1); φ and σ_τ numbers or arrays that broadcast with
    ``holdings[..., 0]`` (one market per schedule)."""
    later = np.zeros(holdings.shape[:-1])           # Σ_{k>j} φ^{k−1−j}·x_k, from j = N down
    total = np.zeros(holdings.shape[:-1])
    for j in range(holdings.shape[-1] - 1, 0, -1):
        total += (holdings[..., j] + (reversion_factor - 1.0) * later) ** 2
        later = holdings[..., j] + reversion_factor * later
    return shock_scale**2 * total


def risk_penalty(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """λ·σ_τ²·Σ_{k=1..N} x_k², currency: the risk term of the objective."""
    holdings = check_holdings(params, holdings)
    return params.period_risk * (holdings[..., 1:] ** 2).sum(axis=-1)


def period_cost(params: OptimalExecParams, traded: np.ndarray, left: np.ndarray) -> np.ndarray:
    """The expected cost of one period of the Almgren–Chriss model (random walk, constant linear impact η),
    currency, for n = ``traded`` shares traded and x' = ``left`` shares held after the trade (arrays that
    broadcast), with s = +1 for a sell and −1 for a buy::

        n·(ε + η·n/τ) + γ·n·x' − s·μτ·x' + λσ_τ²·x'²

    the spread and temporary impact paid on the trade, the permanent impact and the drift on what is still
    held, and the risk penalty (λσ_τ²: :attr:`~OptimalExecParams.period_risk`). It is minus the period's reward
    (before the 10⁴/(X·S0) conversion to bps) with the price shock's term s·σ_τ·ξ·x' at its mean, zero (x' is
    fixed before ξ is drawn); summed over a schedule it is U = E[IS] + λ·Var[IS] (:func:`objective`)."""
    return (traded * (params.half_spread + params.temporary_impact * traded / params.tau)
            + params.permanent_impact * traded * left
            - params.side_sign * params.drift * params.tau * left
            + params.period_risk * left**2)


def other_penalties(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """c·Σ_{k>=2}(n_k − n_{k−1})² + ρ·x_N² (soft target), currency: the smoothness and target terms."""
    holdings = check_holdings(params, holdings)
    trades = -np.diff(holdings, axis=-1)
    total = params.smoothness * (np.diff(trades, axis=-1) ** 2).sum(axis=-1)
    if not params.completes:
        total = total + params.target_penalty * holdings[..., -1] ** 2
    return total


def objective(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """U, currency (= E[IS] + λ·Var[IS] for the Almgren–Chriss model)."""
    return (expected_shortfall(params, holdings) + risk_penalty(params, holdings)
            + other_penalties(params, holdings))


def expected_return(params: OptimalExecParams, holdings: np.ndarray) -> np.ndarray:
    """E[Σ reward] of the schedule(s) in the env: −U in bps of arrival notional."""
    return -objective(params, holdings) * params.bps_per_currency


def holdings_from_trades(params: OptimalExecParams, weights: np.ndarray) -> np.ndarray:
    """Holdings of the schedule trading X in proportion to ``weights`` (N non-negative numbers).

    With ``trade_caps`` the trades are min(ν·w_k, u_k), ν chosen so that they sum to X (proportional
    to the weights wherever the caps allow: water-filling); weights must then reach enough caps."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (params.periods,) or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"weights must be {params.periods} non-negative numbers with a positive sum")
    if params.trade_caps is not None:
        active = weights > 0
        caps = np.where(active, params.caps, 0.0)
        if caps.sum() < params.shares:
            raise ValueError("the caps of the periods with positive weight cannot complete the order")
        trades = water_fill(1.0 / np.where(active, weights, 1.0), params.shares, caps).trades
        weights = np.where(active, trades, 0.0)
    done = np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    holdings = params.shares * (1.0 - done)
    holdings[-1] = 0.0
    return holdings


@dataclass(frozen=True)
class TradeSpaceCosts:
    """U of a one-way schedule as a function of its trades n = (n_1..n_N) >= 0, random walk, linear impact::

        U(n) = constant + Σ_k (l_k·n_k + ½·b_k·n_k²) + c·Σ_k (n_{k+1} − n_k)² + ρ'·(Σn − X)² + λσ²τ·Σ_k x_k²

    with l_k = ε + s·μτ·(N − k + 1) (the drift on the shares still held, Σ_k x_k, rewritten per trade),
    b_k = 2η_k/τ − γ, ρ' = ρ − γ/2 (soft target; the permanent impact's γ·Σ n_k·x_k equals
    γ·(XZ − ½Z² − ½Σn²) for Z = Σn) and constant = ½γX² − s·μτ·N·X. When the order must complete
    Σn = X and the ρ' term is absent.
    """

    linear: np.ndarray
    """l (N,), currency per share."""
    quadratic: np.ndarray
    """b (N,), currency per share² (> 0 since η_k > γτ/2)."""
    smoothness: float
    """c, currency per share²."""
    target: float | None
    """ρ' = ρ − γ/2 for a soft target; None when the order must complete."""
    risk: float
    """λσ²τ (:attr:`~OptimalExecParams.period_risk`), currency per share² per period (multiplies Σ x_k², holdings
    after each period)."""
    constant: float
    """Currency."""

    @classmethod
    def of(cls, params: OptimalExecParams) -> "TradeSpaceCosts":
        """The coefficients for ``params`` (random walk, linear impact, one-way trading only)."""
        if params.mean_reversion > 0.0 or not params.linear_impact or params.two_way:
            raise ValueError("trade-space costs need the random walk (mean_reversion=0), linear impact "
                             "(impact_exponent=1) and one-way trading")
        gamma = params.permanent_impact
        return cls(linear=params.half_spread + waiting_costs(params),
                   quadratic=2.0 * params.impact_per_period / params.tau - gamma,
                   smoothness=params.smoothness,
                   target=None if params.completes else params.target_penalty - 0.5 * gamma,
                   risk=params.period_risk,
                   constant=trade_space_constant(params))

    def cost(self, params: OptimalExecParams, trades: np.ndarray) -> np.ndarray:
        """U(n), currency, for trades (..., N)."""
        trades = np.asarray(trades, dtype=np.float64)
        holdings = params.shares - np.cumsum(trades, axis=-1)
        total = (self.constant + (self.linear * trades + 0.5 * self.quadratic * trades**2).sum(axis=-1)
                 + self.smoothness * (np.diff(trades, axis=-1) ** 2).sum(axis=-1)
                 + self.risk * (holdings**2).sum(axis=-1))
        if self.target is not None:
            total = total + self.target * (trades.sum(axis=-1) - params.shares) ** 2
        return total


def waiting_costs(params: OptimalExecParams) -> np.ndarray:
    """s·μτ·(N − k + 1) (N,), currency per share: under the random walk −s·μτ·Σ_k x_k, the drift's
    expected cost on the shares still held, equals −s·μτ·N·X + Σ_k s·μτ·(N − k + 1)·n_k."""
    return params.side_sign * params.drift * params.tau * (params.periods - np.arange(params.periods))


def trade_space_constant(params: OptimalExecParams) -> float:
    """½γX² − s·μτ·N·X, currency: the part of U that does not depend on the trades (see
    :class:`TradeSpaceCosts`)."""
    drift = params.side_sign * params.drift * params.tau
    return 0.5 * params.permanent_impact * params.shares**2 - drift * params.periods * params.shares
