"""PortfolioExec-v0: liquidate a book of m assets with correlated prices and cross-impact (multi-asset Almgren–Chriss).

| | |
|---|---|
| Observation | Box(1 + 2m) float32: time remaining, holdings remaining per asset, normalised price moves |
| Action | Box(−1, 1, (m,)): fraction of each asset's remaining position traded, f_i = (a_i + 1)/2 |
| Reward | −(shortfall increment + λτ·x_kᵀΣx_k), bps of the book's arrival notional |
| Termination | after N periods (``terminated=True``; no truncation) |
| Oracle | LQ Riccati recursion with matrix state (:mod:`.oracle`), O(N·m³) time, O(N·m²) memory |
| Cross-checks | uncorrelated diagonal book = m single-asset closed forms; scalar impact = closed form per eigen-portfolio of Σ |

## Description

A trader holds X_i shares of each of m assets (negative: a short to buy back)
and must bring every position to zero within T days, in N periods. Trading
asset j moves the execution price of every asset i (temporary cross-impact
H_ij) and its mid-price for good (permanent cross-impact Γ_ij); prices follow
a correlated random walk with daily covariance Σ. Dynamics and units:
:mod:`.dynamics` and :class:`~.params.PortfolioExecParams`.

## Action Space

``Box(-1, 1, shape=(m,), float32)``: a_i maps to the fraction f_i = (a_i + 1)/2
of asset i's remaining position traded this period (towards zero). The last
period trades whatever is left. Actions outside [−1, 1] are clipped; NaN, a
wrong shape or an action that is not real numbers (None, booleans, strings,
complex numbers) raises ``ValueError``.

## Observation Space

| Num | Observation | Min | Max |
|-----|-------------|-----|-----|
| 0 | time remaining (N − k)/N | 0 | 1 |
| 1..m | holdings remaining x_i/X_i (0 where X_i = 0) | 0 | 1 |
| m+1..2m | price moves (S_i − S0_i)/(σ_i√T) | −inf | inf |

## Rewards

In bps of the arrival notional Σ_i |X_i|·S0_i, per period k::

    r_k = −[ n_kᵀH n_k/τ + ε·|n_k| − (S_k − S_{k−1})ᵀx_k + λτ·x_kᵀΣx_k ] · 10⁴/notional

The first three terms sum to the implementation shortfall IS; the last is the
risk penalty, so E[Σ r_k] = −(E[IS] + λ·Var[IS]) for any schedule.

## Episode End

Terminated after N periods, when every position is zero. No truncation.

## Arguments

``gym.make("PortfolioExec-v0", **fields)`` with any field of ``PortfolioExecParams``
(or ``params=``); ``PortfolioExecParams.from_market_data(...)`` builds a book from
prices, volatilities, volumes and spreads. ``gym.make_vec(..., num_envs=n)``
returns the natively batched :class:`PortfolioExecVectorEnv`.

``info`` (per step): ``shares_traded`` (m,), ``execution_prices`` (m,),
``shortfall`` (currency), ``holdings`` (m,), ``prices`` (m,). After ``reset``:
``holdings``, ``shortfall``, ``prices``.

``render_mode``: None (default), ``"rgb_array"``, a picture of the episode so
far: each asset's holdings beside the oracle's optimal schedule, and each mid's
move since arrival (bps); or ``"ansi"``, a short text of the current state. The
vector env renders one per slot (:mod:`execgym.rendering`).

## Oracle

``execgym.make_oracle("PortfolioExec-v0", **fields)``: the optimal linear
feedback n = K_k·x, its exact E[Σ reward], holdings, E[IS] and Var[IS].

## Version History

* v0: initial version.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from execgym.batched_env import BatchedProblem, BatchedVectorEnv, EpisodeEnv
from execgym.problems.portfolio_exec import dynamics
from execgym.problems.portfolio_exec.params import PortfolioExecParams
from execgym.rendering import Line, Panel, Readout, Scene, Sketch
from execgym.validation import REAL_KINDS, action_array


def observation_space(params: PortfolioExecParams) -> gym.spaces.Box:
    """The single-episode observation space (table above)."""
    m = params.assets
    low = np.concatenate([[0.0], np.zeros(m), np.full(m, -np.inf)]).astype(np.float32)
    high = np.concatenate([[1.0], np.ones(m), np.full(m, np.inf)]).astype(np.float32)
    return gym.spaces.Box(low=low, high=high, dtype=np.float32)


def action_space(params: PortfolioExecParams) -> gym.spaces.Box:
    """The single-episode action space: one number in [−1, 1] per asset."""
    return gym.spaces.Box(low=-1.0, high=1.0, shape=(params.assets,), dtype=np.float32)


def _fractions(actions, n: int, m: int) -> np.ndarray:
    """The fractions (n, m) of a batch of actions (:func:`dynamics.action_fractions`); ValueError for a wrong
    shape, NaN or an action that is not real numbers."""
    actions = action_array(actions, f"Box(-1, 1, ({m},))", REAL_KINDS)
    if actions.size != n * m or (actions.ndim == 2 and actions.shape != (n, m)) or actions.ndim > 2:
        expected = f"({m},)" if n == 1 else f"({n}, {m})"
        raise ValueError(f"action must have shape {expected}, got {actions.shape}")
    return dynamics.action_fractions(actions).reshape(n, m)


def _episode_fractions(action, m: int, space) -> list[float]:
    """:func:`_fractions` of one action, as a list of m floats (the same bits); errors name the action space
    ``space``."""
    action = action_array(action, space, REAL_KINDS)
    if action.dtype.char not in "fd":     # float32/64 arrays convert exactly
        action = action.astype(np.float64)
    if action.size != m or (action.ndim == 2 and action.shape != (1, m)) or action.ndim > 2:
        raise ValueError(f"action must have shape ({m},), got {action.shape}")
    values = (action if action.ndim == 1 else action.reshape(m)).tolist()
    for value in values:
        if value != value:
            raise ValueError("action contains NaN; actions must be numbers in [-1, 1]")
    return [dynamics.action_fraction(value) for value in values]


def _reset_info(batch: dynamics.Batch) -> dict[str, np.ndarray]:
    return {"holdings": batch.holdings, "shortfall": batch.shortfall, "prices": batch.prices}


def _step_info(transition: dynamics.Transition) -> dict[str, np.ndarray]:
    return {"shares_traded": transition.traded, "execution_prices": transition.execution_prices,
            **_reset_info(transition.batch)}


def _holdings(scene: Scene) -> list[Line]:
    """One line per asset, and the oracle's schedule of each, dashed in its colour."""
    held = scene.trace.series("holdings")
    lines = [Line(f"asset {i}", held[:, i], color=i) for i in range(held.shape[1])]
    if scene.reference is not None:
        lines += [Line("", scene.reference[:, i], color=i, oracle=True) for i in range(held.shape[1])]
    return lines


def _price_moves(scene: Scene) -> list[Line]:
    """Each asset's mid price move since arrival, bps."""
    prices = scene.trace.series("prices")
    moves = (prices / prices[0] - 1.0) * 1e4
    return [Line("", moves[:, i], color=i) for i in range(moves.shape[1])]


SKETCH = Sketch(
    title="PortfolioExec", xlabel="period k", horizon=lambda params: params.periods,
    panels=(Panel("holdings (shares)\ndashed: oracle", _holdings),
            Panel("mid move since arrival (bps)", _price_moves)),
    readouts=(Readout("holdings", "holdings", "{:,.0f}"), Readout("mids", "prices", "{:.3f}"),
              Readout("shortfall", "shortfall", "{:,.2f}")),
    reward_units="bps", reference=lambda params, oracle: oracle.schedule)


PROBLEM = BatchedProblem(
    params_class=PortfolioExecParams,
    dynamics=dynamics,
    observation_space=observation_space,
    action_space=action_space,
    controls=lambda params, actions, n: _fractions(actions, n, params.assets),
    reset_info=_reset_info,
    step_info=_step_info,
    sketch=SKETCH,
)


class PortfolioExecEnv(EpisodeEnv):
    """One episode at a time (see the module docstring): the period of :func:`dynamics.advance` on lists of Python
    floats, the same arithmetic the vector env compiles over its batch. Reset with seed s plays the episodes of
    slot i of a vector env reset with seed s − i."""

    problem = PROBLEM

    def __init__(self, params: PortfolioExecParams | None = None, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self._market, self._book = dynamics.scalar_market(self.params)
        self._assets = self.params.assets

    def _reset(self, seed: int | None):
        self._shocks = dynamics.episode_shocks(self.params, self._start_episode(seed))
        self._elapsed, self._shortfall = 0, 0.0
        self._holdings, self._prices = list(self.params.holdings), list(self._book.prices)
        return self._observation(), {"holdings": np.array(self._holdings), "shortfall": 0.0,
                                     "prices": np.array(self._prices)}

    def _step(self, action):
        market, book = self._market, self._book
        m, k = self._assets, self._elapsed
        fractions = _episode_fractions(action, m, self.action_space)
        traded, remaining, prices, execution_prices = [0.0] * m, [0.0] * m, [0.0] * m, [0.0] * m
        cost, reward = dynamics.advance(market, m, book.spreads, book.eta, book.gamma, book.loadings, book.sigma, k,
                                        self._holdings, self._prices, self._shocks[k], fractions, 0, traded,
                                        remaining, prices, execution_prices)
        self._elapsed, self._holdings, self._prices = k + 1, remaining, prices
        self._shortfall += cost
        info = {"shares_traded": np.array(traded), "execution_prices": np.array(execution_prices),
                "holdings": np.array(remaining), "shortfall": self._shortfall, "prices": np.array(prices)}
        return self._observation(), reward, k + 1 == market.periods, False, info

    def _finished(self) -> bool:
        return self._elapsed >= self._market.periods

    def _observation(self) -> np.ndarray:
        obs = [0.0] * (1 + 2 * self._assets)
        book = self._book
        dynamics.write_observation(self._market, self._assets, book.prices, book.inverse_shares, book.inverse_scales,
                                   self._elapsed, self._holdings, self._prices, 0, obs, 0)
        return np.array(obs, dtype=np.float32)


class PortfolioExecVectorEnv(BatchedVectorEnv):
    """``num_envs`` episodes stepped together by the batched dynamics, with Gymnasium's SAME_STEP autoreset
    (as :class:`~execgym.problems.optimal_exec.env.OptimalExecVectorEnv`; infos as in SyncVectorEnv).
    Slot i reset with seed s plays the episodes of a scalar env reset with seed s + i."""

    problem = PROBLEM
