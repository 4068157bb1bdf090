"""Dynamics of PortfolioExec: one period of one episode.

Per episode (m assets; x the signed holdings still to trade, S the mid-prices,
f ∈ [0, 1]^m the fraction of each asset's remaining holdings traded, f = 1 in
the last period, ξ ~ N(0, I_m) the period's shocks)::

    n      = f ∘ x                                  shares traded (signed like x)
    S̃      = S − H·n/τ − ε ∘ sign(n)                execution prices
    x'     = x − n
    ΔS     = √τ·L·ξ − Γ·n                           mid-price moves, L·Lᵀ = Σ
    cost   = nᵀH·n/τ + ε·|n| − ΔSᵀx'                implementation-shortfall increment, currency
    reward = −(cost + λτ·x'ᵀΣx') · 10⁴/(Σ_i |X_i|·S0_i)

With transient impact (``transient_impact`` κ, ``resilience`` ρ per asset; Obizhaeva–Wang, as in
:mod:`execgym.problems.optimal_exec.dynamics`) each book is displaced from its mid by D (0 at arrival),
and ψ = e^{−ρτ} per asset::

    S̃      = S + D − H·n/τ − ε ∘ sign(n) − κ ∘ n/2
    D'     = ψ ∘ (D − κ ∘ n)
    cost  += Σ_i n_i·(κ_i·n_i/2 − D_i)

Summed over the episode the cost is the implementation shortfall
Σ_i X_i·S0_i − Σ_k n_kᵀS̃_k, and E[Σ reward] = −(E[IS] + λ·Var[IS]) in bps
for any deterministic schedule (Var[IS] = τ·Σ_k x_kᵀΣx_k).
Shock j of period k is standard_normals(key, k·m + j): a function of
(seed, episode, period, asset) only.

The period is written once, for one episode, in plain Python on floats
(:func:`advance` on a :class:`State` in a :class:`Market`); the scalar env runs
it as it is, on lists, and the engine (:mod:`execgym.engine`) compiles it over
a batch, each slot with its own market or all sharing one, so the two give the
same bits: every sum runs over the assets in index order, whatever the batch
(no BLAS, whose summation order depends on the batch size). The step writes
the state's per-asset vectors into given ones, allocating nothing
(:mod:`execgym.engine`), and the number of assets is a compile-time constant
(:class:`Variant`), so the compiled loops over the assets unroll.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numba
import numpy as np
from numba.extending import register_jitable

from execgym.engine import Dynamics
from execgym.noise import normals_of
from execgym.problems.portfolio_exec.params import PortfolioExecParams


class Variant(NamedTuple):
    """The model's compile-time constants."""

    assets: int      # m: the loops over the assets unroll (about 1.15x faster than with m read at run time)
    transient: bool  # transient impact on some asset: the books' displacements are updated and observed


class Market(NamedTuple):
    """The params as the period's arithmetic reads them: numbers, per-asset vectors (m,) and m×m matrices
    flattened row-major (m·m,), indexed ``[i·m + j]`` (tuples of floats for plain Python, float64 arrays for
    compiled code)."""

    periods: int            # N
    inverse_tau: float      # 1/τ, τ = T/N days: the temporary impact multiplies (faster than dividing)
    root_tau: float         # √τ
    risk: float             # λτ
    bps: float              # 10⁴/(Σ_i |X_i|·S0_i)
    inverse_periods: float  # 1/N: observations multiply by reciprocals (faster than dividing)
    shares: tuple           # X, signed shares
    prices: tuple           # S0, currency per share
    inverse_shares: tuple   # 1/X_i (0 where X_i = 0), the observation's holdings scale
    inverse_scales: tuple   # 1/(σ_i√T) (0 where σ_i = 0), the observation's price scale
    spreads: tuple          # ε, currency per share
    eta: tuple              # H, temporary impact
    gamma: tuple            # Γ, permanent impact
    loadings: tuple         # L, L·Lᵀ = Σ
    sigma: tuple            # Σ
    no_trade: tuple         # zeros (m,): the trades and execution prices of the state before the first period
    kappa: tuple            # κ, transient impact (zeros without it)
    decays: tuple           # ψ = e^{−ρτ}
    inverse_depths: tuple   # 1/(κ_i·X_i) (0 where κ_i·X_i = 0), the observation's displacement scale


class State(NamedTuple):
    """One episode's state after ``elapsed`` periods; per-asset vectors (m,) of floats (:func:`advance` writes
    the next ones into given vectors)."""

    elapsed: int            # periods done, 0..N
    shortfall: float        # implementation shortfall so far, currency
    holdings: list          # x: signed shares still to trade
    prices: list            # S: mid-prices, currency per share
    traded: list            # n: shares traded in the last period (0 before the first)
    execution_prices: list  # S̃: their execution prices, currency per share (0 before the first)
    displacements: list     # D: each book's transient displacement from its mid, currency per share (0 without)


class Report(NamedTuple):
    """What a period reports beside the state (which keeps the last period's trades)."""

    expected_reward: float    # E[reward | state, action]: the reward without the shocks' term √τ·(L·ξ)ᵀx'·bps


def variant(params: PortfolioExecParams) -> Variant:
    """The :class:`Variant` of ``params``."""
    return Variant(assets=params.assets, transient=params.transient)


def _market(params: PortfolioExecParams, sequence) -> Market:
    scales = params.volatilities * np.sqrt(params.horizon)
    return Market(
        periods=params.periods, inverse_tau=1.0 / params.tau, root_tau=math.sqrt(params.tau),
        risk=params.risk_aversion * params.tau, bps=params.bps_per_currency, inverse_periods=1.0 / params.periods,
        shares=sequence(params.shares), prices=sequence(params.prices),
        inverse_shares=sequence(_inverse(params.shares)), inverse_scales=sequence(_inverse(scales)),
        spreads=sequence(params.spreads), eta=sequence(params.eta.ravel()), gamma=sequence(params.gamma.ravel()),
        loadings=sequence(params.shock_loadings.ravel()), sigma=sequence(params.sigma.ravel()),
        no_trade=sequence(np.zeros(params.assets)), kappa=sequence(params.kappa),
        decays=sequence(params.transient_decays), inverse_depths=sequence(_inverse(params.kappa * params.shares)))


def _inverse(values: np.ndarray) -> np.ndarray:
    """1/v elementwise, 0 where v = 0."""
    return np.divide(1.0, values, out=np.zeros_like(values), where=values != 0)


@lru_cache(maxsize=64)
def market(params: PortfolioExecParams) -> Market:
    """The :class:`Market` of ``params`` as compiled code reads it (sequences as float64 arrays)."""
    return _market(params, lambda values: np.ascontiguousarray(values, dtype=np.float64))


@lru_cache(maxsize=64)
def scalar_market(params: PortfolioExecParams) -> Market:
    """The :class:`Market` of ``params`` as plain Python reads it fastest (sequences as tuples of floats)."""
    return _market(params, lambda values: tuple(np.asarray(values, dtype=np.float64).tolist()))


NAN_ACTION = "action contains NaN; actions must be numbers in [-1, 1]"


@register_jitable(inline="always")
def action_fraction(action: float) -> float:
    """f = (clip(a, −1, 1) + 1)/2: the fraction of an asset's remaining position that the action's entry a asks
    for (a = −1: nothing, a = 1: everything); NaN stays NaN."""
    return 0.5 * ((-1.0 if action < -1.0 else (1.0 if action > 1.0 else action)) + 1.0)


def action_fractions(actions: np.ndarray) -> np.ndarray:
    """:func:`action_fraction` of every entry of ``actions`` (real numbers, any shape), compiled; NaN raises."""
    actions = np.asarray(actions)
    if actions.dtype.char not in "fd":     # float32 and float64 are read as they are
        actions = actions.astype(np.float64)
    fractions, nan = _fractions_loop(np.ascontiguousarray(actions).reshape(-1))
    if nan:
        raise ValueError(NAN_ACTION)
    return fractions.reshape(actions.shape)


@numba.njit(cache=True)
def _fractions_loop(actions):
    fractions = np.empty(actions.size)
    nan = False
    for i in range(actions.size):
        action = float(actions[i])
        nan |= action != action
        fractions[i] = action_fraction(action)
    return fractions, nan


@register_jitable(inline="always")
def initial_state(v: Variant, market: Market, key) -> State:
    """Nothing traded yet: the whole book at the arrival prices."""
    return State(0, 0.0, market.shares, market.prices, market.no_trade, market.no_trade, market.no_trade)


@register_jitable(inline="always")
def advance(v: Variant, market: Market, state: State, fractions, shocks, out: State):
    """One period from ``state`` with price shocks ξ = ``shocks`` (m,), trading ``fractions`` f (m,) of each
    remaining position (f = 1 in the last period; module docstring). Writes x', S + ΔS, n, S̃ and D' into the
    vectors of ``out`` (which may be ``state``: each entry is read before it is written) and returns (next
    state, reward in bps, :class:`Report`)."""
    m = v.assets
    elapsed, holdings, prices = state.elapsed, state.holdings, state.prices
    remaining, new_prices, traded, execution_prices = out.holdings, out.prices, out.traded, out.execution_prices
    eta, gamma, loadings, sigma, spreads = market.eta, market.gamma, market.loadings, market.sigma, market.spreads
    inverse_tau, root_tau = market.inverse_tau, market.root_tau
    last = elapsed == market.periods - 1
    for j in range(m):
        x = holdings[j]
        n = x if last else fractions[j] * x
        traded[j] = n
        remaining[j] = x - n
    impact_cost = 0.0    # nᵀH·n/τ
    spread_cost = 0.0    # ε·|n|
    gain = 0.0           # ΔSᵀx'
    expected_gain = 0.0  # E[ΔS]ᵀx' = −(Γ·n)ᵀx'
    exposure = 0.0       # x'ᵀΣx'
    transient_cost = 0.0  # Σ_i n_i·(κ_i·n_i/2 − D_i)
    for i in range(m):
        row = i * m
        temporary = 0.0  # (H·n)_i
        shock = 0.0      # (L·ξ)_i
        permanent = 0.0  # (Γ·n)_i
        risk = 0.0       # (Σ·x')_i
        for j in range(m):
            entry = row + j
            n = traded[j]
            temporary += n * eta[entry]
            shock += shocks[j] * loadings[entry]
            permanent += n * gamma[entry]
            risk += remaining[j] * sigma[entry]
        temporary = temporary * inverse_tau
        move = root_tau * shock - permanent
        n = traded[i]
        left = remaining[i]
        spread = spreads[i]
        impact_cost += n * temporary
        spread_cost += abs(n) * spread
        gain += move * left
        expected_gain -= permanent * left
        exposure += left * risk
        price = prices[i]
        new_prices[i] = price + move
        execution_prices[i] = price - temporary - (spread if n > 0.0 else (-spread if n < 0.0 else 0.0))
        if v.transient:
            displacement, walk = state.displacements[i], market.kappa[i] * n
            transient_cost += n * (0.5 * walk - displacement)
            execution_prices[i] += displacement - 0.5 * walk
            out.displacements[i] = market.decays[i] * (displacement - walk)
        else:
            out.displacements[i] = 0.0
    cost = impact_cost + spread_cost - gain + transient_cost
    next_state = State(elapsed + 1, state.shortfall + cost, remaining, new_prices, traded, execution_prices,
                       out.displacements)
    penalty = market.risk * exposure
    expected_cost = impact_cost + spread_cost - expected_gain + transient_cost
    return next_state, -(cost + penalty) * market.bps, Report(-(expected_cost + penalty) * market.bps)


@register_jitable(inline="always")
def finished(market: Market, state: State) -> bool:
    """True after the N-th period."""
    return state.elapsed >= market.periods


@register_jitable(inline="always")
def write_observation(v: Variant, market: Market, state: State, out, row: int) -> None:
    """The observation into row ``row`` of ``out`` (float32, 1 + 2m entries, 1 + 3m with transient impact):
    [time remaining (N−k)/N, holdings remaining x_j/X_j (0 where X_j = 0), price moves (S_j − S0_j)/(σ_j√T)
    (0 where σ_j = 0)[, displacements D_j/(κ_j·X_j) (0 where κ_j·X_j = 0; −1: the whole position traded at
    once)]], each a product with the reciprocal (:class:`Market`)."""
    m = v.assets
    holdings, prices = state.holdings, state.prices
    arrival, inverse_shares, inverse_scales = market.prices, market.inverse_shares, market.inverse_scales
    line = out[row]
    line[0] = (market.periods - state.elapsed) * market.inverse_periods
    for j in range(m):
        line[1 + j] = holdings[j] * inverse_shares[j]
        line[1 + m + j] = (prices[j] - arrival[j]) * inverse_scales[j]
        if v.transient:
            line[1 + 2 * m + j] = state.displacements[j] * market.inverse_depths[j]


def price_shocks(v: Variant, keys: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    """ξ (n, m) of period ``elapsed`` (n,) of the episodes with noise keys ``keys`` (n,): entry (i, j) is
    ``standard_normals(key_i, k_i·m + j)`` (:func:`execgym.noise.standard_normals`)."""
    return _draw_shocks(keys, elapsed, v.assets).reshape(keys.shape[0], v.assets)


@numba.njit(cache=True)
def _draw_shocks(keys, elapsed, m):
    """:func:`price_shocks` flattened (n·m,): :func:`execgym.noise.normals_of` of each episode's key at the
    counters k·m + j (the bits of :func:`~execgym.noise.standard_normals`)."""
    flat_keys, counters = np.empty(keys.size * m, dtype=np.uint64), np.empty(keys.size * m, dtype=np.int64)
    for i in range(keys.size):
        for j in range(m):
            flat_keys[i * m + j] = keys[i]
            counters[i * m + j] = elapsed[i] * m + j
    return normals_of(flat_keys, counters, 0, 1)


def episode_shocks(v: Variant, market: Market, key) -> list[list[float]]:
    """ξ of the episode with noise key ``key`` in ``market``, N lists (one per period) of m floats:
    :func:`price_shocks` of its periods 0..N−1. The scalar env draws them at reset."""
    periods = market.periods
    return price_shocks(v, np.full(periods, key, dtype=np.uint64), np.arange(periods)).tolist()


DYNAMICS = Dynamics(
    State=State, Report=Report, variant=variant, market=market, scalar_market=scalar_market,
    initial_state=initial_state, advance=advance, finished=finished, write_observation=write_observation,
    noise=price_shocks, episode_noise=episode_shocks, observation_size=lambda params: params.observation_size)


def decode(params: PortfolioExecParams, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(periods elapsed k in 0..N−1, holdings x (n, m)) from a batch of observations."""
    observations = np.asarray(observations, dtype=np.float64)
    periods = params.periods
    elapsed = np.clip(np.rint(periods * (1.0 - observations[:, 0])).astype(np.int64), 0, periods - 1)
    return elapsed, observations[:, 1:1 + params.assets] * params.shares
