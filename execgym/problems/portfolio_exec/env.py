"""PortfolioExec-v0: liquidate a book of m assets with correlated prices and cross-impact (multi-asset Almgren–Chriss).

| | |
|---|---|
| Observation | Box(1 + 2m) float32: time remaining, holdings remaining per asset, normalised price moves (+ the books' displacements with transient impact: 1 + 3m) |
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
| 2m+1..3m | the books' displacements D_i/(κ_i·X_i) (only with ``transient_impact``; 0 where κ_i·X_i = 0) | −1 | 0 |

## Rewards

In bps of the arrival notional Σ_i |X_i|·S0_i, per period k::

    r_k = −[ n_kᵀH n_k/τ + ε·|n_k| − (S_k − S_{k−1})ᵀx_k + λτ·x_kᵀΣx_k ] · 10⁴/notional

The first three terms sum to the implementation shortfall IS; the last is the
risk penalty, so E[Σ r_k] = −(E[IS] + λ·Var[IS]) for any schedule. With transient
impact the bracket also holds Σ_i n_i·(κ_i·n_i/2 − D_i) (:mod:`.dynamics`).

## Episode End

Terminated after N periods, when every position is zero. No truncation.

## Arguments

``gym.make("PortfolioExec-v0", **fields)`` with any field of ``PortfolioExecParams``
(or ``params=``); ``PortfolioExecParams.from_market_data(...)`` builds a book from
prices, volatilities, volumes and spreads. ``gym.make_vec(..., num_envs=n)``
returns the natively batched :class:`PortfolioExecVectorEnv`.

``info`` (per step): ``shares_traded`` (m,), ``execution_prices`` (m,),
``expected_reward`` (E[reward | state, action], bps: the reward without the price shocks' term),
``shortfall`` (currency), ``holdings`` (m,), ``prices`` (m,), ``displacements`` (m,: each book's transient
displacement from its mid, currency per share; zeros without transient impact). After ``reset``:
``holdings``, ``shortfall``, ``prices``.

``render_mode``: None (default), ``"rgb_array"``, a picture of the episode so
far: each asset's holdings beside the oracle's optimal schedule, and each mid's
move since arrival (bps); or ``"ansi"``, a short text of the current state. The
vector env renders one per slot (:mod:`execgym.rendering`).

``markets="train"`` (or ``"test"``, ``"ood"``, a :class:`~execgym.distributions.MarketSet`; in the scalar env
also a list of markets) draws each episode's market from the family's distribution (:mod:`.distribution`,
which documents its prior, its out-of-distribution regime and its features), the same in the scalar env at
seed s + i as in slot i of the vector env at seed s; the observation then ends with the market's features
(``observe_market=False``: nothing; ``"index"``: its index in the set) and ``info["market"]`` is its index.

## Oracle

``execgym.make_oracle("PortfolioExec-v0", **fields)``: the optimal linear
feedback n = K_k·x, its exact E[Σ reward], holdings, E[IS] and Var[IS].

## Version History

* v0: initial version.
"""

from __future__ import annotations

from functools import lru_cache

import gymnasium as gym
import numpy as np

from execgym.batched_env import BatchedProblem, BatchedVectorEnv, EpisodeEnv
from execgym.problems.portfolio_exec import dynamics
from execgym.problems.portfolio_exec.distribution import DISTRIBUTION
from execgym.problems.portfolio_exec.params import PortfolioExecParams
from execgym.rendering import Line, Panel, Readout, Scene, Sketch
from execgym.validation import REAL_KINDS, action_array


def observation_space(params: PortfolioExecParams) -> gym.spaces.Box:
    """The single-episode observation space (table above)."""
    m = params.assets
    displaced = m if params.transient else 0      # one-way trades displace each book by at most κ_i·X_i
    low = np.concatenate([[0.0], np.zeros(m), np.full(m, -np.inf), np.full(displaced, -1.0)]).astype(np.float32)
    high = np.concatenate([[1.0], np.ones(m), np.full(m, np.inf), np.zeros(displaced)]).astype(np.float32)
    return gym.spaces.Box(low=low, high=high, dtype=np.float32)


def action_space(params: PortfolioExecParams) -> gym.spaces.Box:
    """The single-episode action space: one number in [−1, 1] per asset."""
    return gym.spaces.Box(low=-1.0, high=1.0, shape=(params.assets,), dtype=np.float32)


@lru_cache(maxsize=None)
def _space_name(m: int) -> str:
    """The action space as errors name it."""
    return f"Box(-1, 1, ({m},))"


def fractions(params: PortfolioExecParams, actions, n: int | None):
    """The fractions of each asset's remaining position the actions ask for (:func:`dynamics.action_fraction`):
    one action of shape (m,) when ``n`` is None (a list of m floats back, the same bits), else ``n`` actions of
    shape (n, m) (an array back); ValueError for a wrong shape, NaN or an action that is not real numbers."""
    m = len(params.holdings)
    actions = action_array(actions, _space_name(m), REAL_KINDS)
    count = 1 if n is None else n
    ndim = actions.ndim
    if actions.size != count * m or ndim > 2 or (ndim == 2 and actions.shape != (count, m)):
        expected = f"({m},)" if count == 1 else f"({n}, {m})"
        raise ValueError(f"action must have shape {expected}, got {actions.shape}")
    if n is not None:
        return dynamics.action_fractions(actions).reshape(n, m)
    if actions.dtype.char not in "fd":     # float32/64 arrays convert exactly
        actions = actions.astype(np.float64)
    values = (actions if ndim == 1 else actions.reshape(m)).tolist()
    for value in values:
        if value != value:
            raise ValueError(dynamics.NAN_ACTION)
    return [dynamics.action_fraction(value) for value in values]


def _reset_info(state: dynamics.State) -> dict:
    """The info after a reset, of one state record (lists: copied, as the step updates them) or a table."""
    return {"holdings": np.asarray(state.holdings), "shortfall": state.shortfall, "prices": np.asarray(state.prices)}


def _step_info(state: dynamics.State, report: dynamics.Report) -> dict:
    """The info after a step, of one state record or a table (as :func:`_reset_info`)."""
    return {"shares_traded": np.asarray(state.traded), "execution_prices": np.asarray(state.execution_prices),
            "expected_reward": report.expected_reward, "holdings": np.asarray(state.holdings),
            "shortfall": state.shortfall, "prices": np.asarray(state.prices),
            "displacements": np.asarray(state.displacements)}


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
    dynamics=dynamics.DYNAMICS,
    observation_space=observation_space,
    action_space=action_space,
    controls=fractions,
    reset_info=_reset_info,
    step_info=_step_info,
    sketch=SKETCH,
    distribution=DISTRIBUTION,
)


class PortfolioExecEnv(EpisodeEnv):
    """One episode at a time (see the module docstring): the period of :func:`dynamics.advance` on lists of Python
    floats, the same arithmetic the vector env compiles over its batch. Reset with seed s plays the episodes of
    slot i of a vector env reset with seed s − i."""

    problem = PROBLEM


class PortfolioExecVectorEnv(BatchedVectorEnv):
    """``num_envs`` episodes stepped together by the batched dynamics, with Gymnasium's SAME_STEP autoreset
    (as :class:`~execgym.problems.optimal_exec.env.OptimalExecVectorEnv`; infos as in SyncVectorEnv).
    Slot i reset with seed s plays the episodes of a scalar env reset with seed s + i."""

    problem = PROBLEM
