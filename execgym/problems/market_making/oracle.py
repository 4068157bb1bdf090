"""The oracle of MarketMaking: exact backward induction over (step, inventory).

| objective | Bellman recursion (q' after the step's fills) | per-state maximisation |
|---|---|---|
| risk neutral | V_N(q) = −α·q²;  V_n(q) = max E[δ_b·1_b + δ_a·1_a + g_n(q')], g_n(q') = V_{n+1}(q') + μ·dt·q' − φ·dt·q'² | :func:`~execgym.solvers.quotes.risk_neutral_quotes` |
| exponential utility | θ_N(q) = e^{γα q²};  θ_n(q) = min E[e^{−γ(δ_b·1_b + δ_a·1_a)}·h_n(q')], h_n(q') = M(q')·e^{γφ dt q'²}·θ_{n+1}(q') | :func:`~execgym.solvers.quotes.utility_quotes` |
| either, quotes on ticks | the same recursion | exhaustive over tick pairs, :func:`~execgym.solvers.quotes.grid_quotes` |

The price enters only through E[q'·ΔS] = q'·μ·dt (risk neutral) or
M(q') = E[e^{−γ q' ΔS}] = exp(−γq'μdt + γ²q'²σ²dt/2) (Gaussian shocks),
e^{−γq'μdt}·cosh(γq'σ√dt) (binomial), and the cash and mark-to-market wealth
factor out (E[e^{−γΠ}] = θ_0(q_0)), so (step, inventory) is the whole state
and the observation carries it. ``expected_return``: V_0(q_0) (currency), or
E[u(Π)] = (1 − θ_0(q_0))/γ for the utility objective.

Cost: O(N·(2Q̄+1)·I) time for continuous depths, I the iterations of the
one-step solver (about 5–15), and O(N·(2Q̄+1)·(M+1)²) on a grid of M + 1
depths; memory O(N·(2Q̄+1)) for the quote tables, at most :data:`MAX_CELLS` cells.
Parameters whose backward induction leaves float64's range (a quote or value
not finite, or an expected utility beyond it) raise ``ValueError``.

:func:`discounted_quotes` solves the infinite-horizon discounted variant by
value iteration on the same one-step maximisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execgym.policy import Oracle
from execgym.problems.market_making.dynamics import decode, quoted_sides
from execgym.problems.market_making.env import depth_actions
from execgym.problems.market_making.params import MarketMakingParams
from execgym.solvers.quotes import (FillModel, grid_quotes, risk_neutral_quotes, risk_neutral_value, utility_quotes,
                                   utility_value)
from execgym.validation import require_int


def fill_model(params: MarketMakingParams) -> FillModel:
    """The fill probability of one step of ``params``."""
    return FillModel(rate_dt=params.arrival_rate * params.dt, decay=params.depth_decay,
                     poisson=params.fill_probability == "poisson", max_depth=params.max_depth)


def running_reward(params: MarketMakingParams, inventories: np.ndarray) -> np.ndarray:
    """E[q'·ΔS] − φ·q'²·dt: the expected reward of holding q' through a step, apart from the spread."""
    return (params.drift * inventories - params.inventory_penalty * inventories**2) * params.dt


def log_price_factor(params: MarketMakingParams, inventories: np.ndarray) -> np.ndarray:
    """log E[e^{−γ q' ΔS}] + γφ·dt·q'²: the log-factor of holding q' through a step under exponential utility."""
    gamma, q = params.risk_aversion, inventories.astype(np.float64)
    drift = -gamma * q * params.drift * params.dt
    if params.price_shocks == "gaussian":
        risk = 0.5 * (gamma * q * params.volatility) ** 2 * params.dt
    else:
        x = np.abs(gamma * q * params.volatility * np.sqrt(params.dt))
        risk = x + np.log1p(np.exp(-2.0 * x)) - np.log(2.0)  # log cosh x, stable
    return drift + risk + gamma * params.inventory_penalty * params.dt * q**2


def _recursion_ends(params: MarketMakingParams) -> tuple[np.ndarray, np.ndarray]:
    """(terminal values, holding term), each (2Q̄+1,), of the backward recursion: V_N = −α·q² and
    :func:`running_reward` (risk neutral), or log θ_N = γα·q² and :func:`log_price_factor` (utility)."""
    q = params.inventories
    if params.objective == "cara":
        return params.risk_aversion * params.terminal_penalty * q**2, log_price_factor(params, q)
    return -params.terminal_penalty * q**2, running_reward(params, q)


def _expected_return(params: MarketMakingParams, start: float) -> float:
    """E[Σ reward] from the recursion's start value: V_0(q_0), or E[u] = (1 − θ_0(q_0))/γ under "cara"."""
    return float(-np.expm1(start) / params.risk_aversion) if params.objective == "cara" else float(start)


def _certainty_equivalent(params: MarketMakingParams, start: float) -> float:
    """−ln θ_0(q_0)/γ under "cara" (currency; finite where E[u] overflows), V_0(q_0) under "risk_neutral"."""
    return float(-start / params.risk_aversion) if params.objective == "cara" else float(start)


@dataclass(frozen=True)
class QuoteTables:
    """The optimal quotes and values of every (step, inventory).

    ``bid``, ``ask``: (N, 2Q̄+1) depths (currency; δ_max on a side not quoted); ``values``: (N+1, 2Q̄+1),
    V_n(q) (risk neutral) or log θ_n(q) (utility), row N the terminal one; ``certified``: (N, 2Q̄+1) True
    where the quotes are proven optimal (:mod:`execgym.solvers.quotes`: exhaustive on a tick grid, the
    concavity certificate for continuous risk-neutral quotes; never for continuous utility quotes, which
    are checked by a grid search instead).
    """

    bid: np.ndarray
    ask: np.ndarray
    values: np.ndarray
    certified: np.ndarray


MAX_CELLS = 2 * 10**7
"""Most (step, inventory) cells of the oracle's tables (some 500 MB)."""


def solve(params: MarketMakingParams) -> QuoteTables:
    """Backward induction (module docstring) for ``params``; ValueError beyond :data:`MAX_CELLS` cells, or where
    a value or quote leaves float64's range (an overflow, or a value whose logarithm is −inf)."""
    if params.steps * params.levels > MAX_CELLS:
        raise ValueError(f"the oracle's tables would have steps·(2·max_inventory + 1) = "
                         f"{params.steps * params.levels:,} cells, more than {MAX_CELLS:,}: lower steps or "
                         "max_inventory")
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            return _induction(params)
    except FloatingPointError as error:
        raise ValueError(f"the backward induction for {params!r} leaves float64's range ({error}): its parameters "
                         "are too extreme for the oracle") from None


def _induction(params: MarketMakingParams) -> QuoteTables:
    levels, steps = params.levels, params.steps
    bid, ask = np.empty((steps, levels)), np.empty((steps, levels))
    values = np.empty((steps + 1, levels))
    certified = np.ones((steps, levels), dtype=bool)
    utility = params.objective == "cara"
    gamma = params.risk_aversion
    values[steps], holding = _recursion_ends(params)
    fills = fill_model(params)
    if params.discrete:
        grid = params.depth_grid
        probabilities = fills.probability(grid)
    step = None
    for n in range(steps - 1, -1, -1):
        continuation = values[n + 1] + holding
        if params.discrete:
            i, j, values[n] = grid_quotes(probabilities, grid, continuation, gamma)
            bid[n], ask[n] = grid[i], grid[j]
            bid[n, -1] = ask[n, 0] = params.max_depth  # the sides not quoted, as for continuous depths
            continue
        if utility:
            step = utility_quotes(fills, continuation, gamma, step)
        else:
            step = risk_neutral_quotes(fills, continuation, step)
        bid[n], ask[n], values[n], certified[n] = step.bid, step.ask, step.value, step.certified
    return QuoteTables(bid=bid, ask=ask, values=values, certified=certified)


def _start_value(params: MarketMakingParams, bid: np.ndarray, ask: np.ndarray) -> float:
    """V_0(q_0) (risk neutral) or log θ_0(q_0) (utility) of quoting the tables ``bid``, ``ask``: the oracle's
    recursion with the quotes given instead of maximised."""
    bid, ask = np.asarray(bid, dtype=np.float64), np.asarray(ask, dtype=np.float64)
    shape = (params.steps, params.levels)
    if bid.shape != shape or ask.shape != shape:
        raise ValueError(f"bid and ask must have shape (steps, 2·max_inventory + 1) = {shape}, got {bid.shape} "
                         f"and {ask.shape}")
    if min(bid.min(), ask.min()) < 0.0 or max(bid.max(), ask.max()) > params.max_depth:
        raise ValueError(f"depths must lie in [0, max_depth] = [0, {params.max_depth:g}]")
    if params.discrete:
        ticks = np.stack([bid, ask]) / params.tick_size
        if np.abs(ticks - np.rint(ticks)).max() > 1e-9:
            raise ValueError(f"depths must be whole numbers of ticks (tick_size = {params.tick_size:g}): the env "
                             "quotes only those")
    utility = params.objective == "cara"
    gamma = params.risk_aversion
    value, holding = _recursion_ends(params)
    fills = fill_model(params)
    quoted = np.stack(quoted_sides(params, params.inventories))
    for n in range(params.steps - 1, -1, -1):
        depth = np.stack([bid[n], ask[n]])
        probability = np.where(quoted, fills.probability(depth), 0.0)
        continuation = value + holding
        value = (utility_value(continuation, depth, probability, gamma) if utility
                 else risk_neutral_value(continuation, depth, probability))
    return float(value[params.initial_inventory + params.max_inventory])


def policy_value(params: MarketMakingParams, bid: np.ndarray, ask: np.ndarray) -> float:
    """The exact E[Σ reward] of quoting the depths ``bid``, ``ask`` (N, 2Q̄+1) at (step, inventory), in the
    env's reward units (−inf under "cara" when E[e^{−γΠ}] overflows: see :func:`policy_certainty_equivalent`)."""
    return _expected_return(params, _start_value(params, bid, ask))


def policy_certainty_equivalent(params: MarketMakingParams, bid: np.ndarray, ask: np.ndarray) -> float:
    """The exact certainty equivalent −ln E[e^{−γΠ}]/γ of the quote tables under "cara" (currency; finite
    where the expected utility overflows), or E[Π] under "risk_neutral"."""
    return _certainty_equivalent(params, _start_value(params, bid, ask))


class QuotePolicy:
    """Quotes from a table of depths per (step, inventory), acting from observations: continuous actions
    2δ/δ_max − 1 (float32), or tick indices δ/h (int64) on a tick grid."""

    def __init__(self, params: MarketMakingParams, bid: np.ndarray, ask: np.ndarray) -> None:
        self.params = params
        self.bid, self.ask = bid, ask

    def depths(self, observations: np.ndarray) -> np.ndarray:
        """(b, 2) [bid, ask] depths of the table at the observed (step, inventory)."""
        elapsed, inventory = decode(self.params, observations)
        level = inventory + self.params.max_inventory
        return np.stack([self.bid[elapsed, level], self.ask[elapsed, level]], axis=1)

    def __call__(self, observations: np.ndarray) -> np.ndarray:
        return depth_actions(self.params, self.depths(observations))


@dataclass(frozen=True)
class QuoteOracle(Oracle):
    """:class:`~execgym.policy.Oracle` with the quote tables and, for the utility objective, the certainty
    equivalent −ln(θ_0(q_0))/γ (currency) of the optimum."""

    tables: QuoteTables | None = None
    certainty_equivalent: float | None = None


def make_oracle(params: MarketMakingParams) -> QuoteOracle:
    """The optimal policy of ``params`` and its exact value (module docstring)."""
    tables = solve(params)
    start = tables.values[0, params.initial_inventory + params.max_inventory]
    with np.errstate(over="ignore"):      # an expected utility beyond float64 is refused below
        expected = _expected_return(params, start)
    if not np.isfinite(expected):
        raise ValueError(f"the optimal expected utility E[u(Π)] = (1 − e^{start:.4g})/γ is beyond float64 (its "
                         f"certainty equivalent is {_certainty_equivalent(params, start):.6g}; "
                         "policy_certainty_equivalent values quote tables): lower risk_aversion")
    return QuoteOracle(policy=QuotePolicy(params, tables.bid, tables.ask),
                       expected_return=expected, tables=tables,
                       certainty_equivalent=_certainty_equivalent(params, start))


@dataclass(frozen=True)
class DiscountedSolution:
    """Stationary optimum of the discounted infinite-horizon problem: ``values`` (2Q̄+1,), ``bid``, ``ask``
    (2Q̄+1,), the ``iterations`` run, the last sup-norm change ``change`` and ``error_bound`` =
    β·change/(1 − β) >= sup |values − V*|."""

    values: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    iterations: int
    change: float
    error_bound: float


def discounted_quotes(params: MarketMakingParams, discount_rate: float, tolerance: float = 1e-9,
                      max_iterations: int = 1_000_000) -> DiscountedSolution:
    """Value iteration for V(q) = max E[δ_b·1_b + δ_a·1_a + μ·dt·q' − φ·dt·q'² + β·V(q')], β = e^{−ρ·dt}
    (ρ = ``discount_rate`` per unit time; risk-neutral objective, continuous depths), from V = 0 until the
    error bound β·‖V_{i+1} − V_i‖/(1 − β) is below ``tolerance`` (currency). The Bellman operator is a
    β-contraction, so the bound holds and the greedy quotes are optimal up to it."""
    if not discount_rate > 0.0:
        raise ValueError(f"discount_rate must be > 0 (per unit time), got {discount_rate!r}")
    if not tolerance > 0.0:
        raise ValueError(f"tolerance must be > 0, got {tolerance!r}")
    max_iterations = require_int("max_iterations", max_iterations, low=1)
    if params.objective != "risk_neutral" or params.discrete:
        raise ValueError("discounted_quotes solves the risk-neutral objective with continuous depths; got "
                         f"objective = {params.objective!r}, tick_size = {params.tick_size!r}")
    beta = float(np.exp(-discount_rate * params.dt))
    holding = running_reward(params, params.inventories)
    fills = fill_model(params)
    values = np.zeros(params.levels)
    step = None
    for iteration in range(1, max_iterations + 1):
        step = risk_neutral_quotes(fills, beta * values + holding, step)
        change = float(np.abs(step.value - values).max())
        values = step.value
        bound = beta * change / (1.0 - beta)
        if bound <= tolerance:
            return DiscountedSolution(values, step.bid, step.ask, iteration, change, bound)
    raise RuntimeError(f"value iteration did not reach tolerance {tolerance:g} in {max_iterations} iterations "
                       f"(error bound {bound:g})")
