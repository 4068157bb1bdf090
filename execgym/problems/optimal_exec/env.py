"""OptimalExec-v0: liquidate (or acquire) a block of shares in the discrete-time Almgren–Chriss model.

| | |
|---|---|
| Observation | Box(3) float32: time remaining, inventory remaining, normalised price move (+ previous trade with smoothness, or the book's displacement with transient impact) |
| Action | Box(−1, 1, (1,)): position f = (a + 1)/2 in the period's trade range (without caps: the fraction of remaining shares traded) |
| Reward | −(shortfall increment + λσ_τ²·x_k² [+ smoothness and target penalties]), bps of arrival notional |
| Termination | after N periods (``terminated=True``; no truncation) |
| Oracle | per variant (:mod:`.oracle`): LQ Riccati recursion, O(N); water-filling, O(N log N); blended quadratic, O(N) per active-set step; lot-grid DP |
| Cross-check | Almgren–Chriss closed form (sinh trajectory), :mod:`.closed_form` |
| Variants | registered ids with set kwargs: :mod:`.variants` |

## Description

A trader must sell (or buy) X shares within T days, split into N periods of
length τ = T/N. Trading fast costs temporary impact (η per unit of trading
rate) and moves the price permanently against the trader (γ per share);
trading slowly leaves the position exposed to the price's random walk of
volatility σ. Every share traded also pays the half spread ε. Dynamics and
units: :mod:`execgym.problems.optimal_exec.dynamics` and
:class:`~execgym.problems.optimal_exec.params.OptimalExecParams`.

Keyword arguments turn on the model variants of seeds 000–004, alone or
together: a per-period impact profile η_k (``impact_profile``), power-law
temporary impact η_k·v̄·(v/v̄)^α (``impact_exponent``) or a per-period table of
cost per share against trade size (``impact_table``), per-period liquidity
caps (``trade_caps``), a smoothness penalty on changes of the trade
(``smoothness``), a soft completion target (``target_penalty``), a
mean-reverting price (``mean_reversion``, ``price_mean``), trades in both
directions (``two_way``, ``max_trade``) and transient impact that decays
(``transient_impact``, ``resilience``: Obizhaeva–Wang).

## Action Space

``Box(-1, 1, shape=(1,), float32)``. The action a maps to the trade
n = lo + f·(hi − lo), f = (a + 1)/2, in the period's trade range [lo, hi]
(``dynamics.trade_range``; the inverse is ``dynamics.trade_to_action``):

* by default [0, x]: f is the fraction of the *remaining* shares traded
  (a = −1: nothing, a = 1: everything);
* with ``trade_caps`` [max(0, x − Σ_{j>k} u_j), min(x, u_k)]: never above the
  period's cap, and never leaving more than the later caps can finish;
* with ``two_way`` [−m·X, m·X]: a = 0 trades nothing, negative actions trade
  against the order's side.

Whatever remains at the last period is traded then, whatever the action,
unless the target is soft (``target_penalty``). Actions outside [−1, 1] are
clipped to it; NaN, a wrong shape or an action that is not real numbers (None,
booleans, strings, complex numbers) raises ``ValueError``.

## Observation Space

| Num | Observation | Min | Max |
|-----|-------------|-----|-----|
| 0 | time remaining (N − k)/N | 0 | 1 |
| 1 | inventory remaining x_k/X | 0 | 1 |
| 2 | price move since arrival (S_k − S0)/(σ√T) | −inf | inf |
| 3 | previous trade n_{k}/X (only with ``smoothness`` > 0) | 0 (−inf two-way) | 1 (inf two-way) |
| 3 | the book's displacement s·D_k/(κX) (only with ``transient_impact`` > 0) | −1 (−inf two-way) | 0 (inf two-way) |

With ``two_way`` the inventory (entry 1) may leave [0, 1].

## Rewards

In basis points of the arrival notional X·S0, per period k::

    r_k = −[ |n_k|·g_k(n_k) − s·(S_k − S_{k−1})·x_k + λσ_τ²·x_k² + c·(n_k − n_{k−1})² + ρ·x_N²·[k = N] ] · 10⁴/(X·S0)

with g_k(n) = ε + η_k·|n|/τ the cost per share (ε + η_k·v̄·(|n|/(τv̄))^α with
nonlinear impact; with transient impact the period also pays κ·n_k²/2 − s·n_k·D_{k−1},
:mod:`.dynamics`), the smoothness term from the second period on and the
target term only with a soft target. The bracket's first two terms are the period's implementation-shortfall
increment (temporary impact and half spread on the n_k shares traded; the
price move — drift, noise and the trader's own permanent impact — on the x_k
shares still held); they sum over the episode to the implementation shortfall
IS (with a soft target, the x_N shares left are valued at the final mid).
The third is the risk penalty, σ_τ² being the variance of one period's price
shock (σ²τ for the random walk). Hence the identity::

    E[Σ_k r_k] = −(E[IS] + λ·σ_τ²·E[Σ_k x_k²] + E[penalties]) · 10⁴/(X·S0)

which for a deterministic schedule under the random walk is
−(E[IS] + λ·Var[IS]) in bps: the Almgren–Chriss mean–variance objective. For
adaptive policies the right-hand side is the objective the oracle minimises,
and the oracle is optimal over all adaptive policies (the price shock of
period k multiplies x_k, fixed before it). With ``mean_reversion`` θ > 0 the
price reverts to ``price_mean`` (an Ornstein–Uhlenbeck price, see
:class:`OptimalExecParams`); the optimal policy then adapts to the price, and
the oracle accepts only parameters where it never needs a trade the action
space cannot express (with one-way trading that excludes all but weak
reversion; ``two_way=True`` lifts it, see :mod:`.lq_oracle`).

## Episode End

Terminated after N periods, when the inventory is zero (or, with a soft
target, whatever is left has paid its penalty). No truncation.

## Arguments

``gym.make("OptimalExec-v0", **fields)`` with any field of ``OptimalExecParams``
(or ``params=OptimalExecParams(...)``); ``gym.make_vec("OptimalExec-v0",
num_envs=n, **fields)`` returns the natively batched :class:`OptimalExecVectorEnv`.
The registered variants (``OptimalExecCapped-v0``, ``OptimalExecBlended-v0``,
``OptimalExecNonlinear-v0``, ``OptimalExecMeanReverting-v0``, ``OptimalExecTransient-v0``; :mod:`.variants`)
set some fields; keyword arguments override them.

``info`` (per step): ``shares_traded``, ``execution_price`` (currency per share),
``expected_reward`` (E[reward | state, action], bps: the reward without the price shock's term),
``shortfall`` (implementation shortfall so far, currency), ``inventory``
(shares), ``price`` (mid, currency per share), ``displacement`` (the book's transient displacement D from
the mid, currency per share; 0 without transient impact). After ``reset``: ``inventory``,
``shortfall``, ``price``.

``render_mode``: None (default), ``"rgb_array"``, a picture of the episode so
far: the holdings beside the oracle's optimal schedule (along the expected price
path where the optimum adapts to prices) and the mid price; or ``"ansi"``, a
short text of the current state. The vector env renders one per slot
(:mod:`execgym.rendering`).

``markets="train"`` (or ``"test"``, ``"ood"``, a :class:`~execgym.distributions.MarketSet`; in the scalar env
also a list of markets) draws each episode's market from the family's distribution (:mod:`.distribution`,
which documents its prior, its out-of-distribution regime and its features), the same in the scalar env at
seed s + i as in slot i of the vector env at seed s; the observation then ends with the market's features
(``observe_market=False``: nothing; ``"index"``: its index in the set) and ``info["market"]`` is its index.

## Oracle

``execgym.make_oracle("OptimalExec-v0", **fields)``: the optimal policy from
the shared solver that is exact for the variant (table in :mod:`.oracle`), its
exact E[Σ reward], the optimal holdings, E[IS] and Var[IS] (deterministic
optima). Combinations without an exact solver raise ``ValueError``.

## Version History

* v0: initial version.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from execgym.batched_env import BatchedProblem, BatchedVectorEnv, EpisodeEnv
from execgym.problems.optimal_exec import dynamics
from execgym.problems.optimal_exec.distribution import DISTRIBUTION
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.rendering import Line, Panel, Readout, Scene, Sketch
from execgym.validation import REAL_KINDS, action_array


def observation_space(params: OptimalExecParams) -> gym.spaces.Box:
    """The single-episode observation space (see the table above)."""
    holding = (-np.inf, np.inf) if params.two_way else (0.0, 1.0)
    low, high = [0.0, holding[0], -np.inf], [1.0, holding[1], np.inf]
    if params.smoothness > 0.0:    # two-way: the last period's forced trade is whatever is left, unbounded
        low.append(-np.inf if params.two_way else 0.0)
        high.append(np.inf if params.two_way else 1.0)
    if params.transient:           # one-way trades displace the book against the order by at most κX
        low.append(-np.inf if params.two_way else -1.0)
        high.append(np.inf if params.two_way else 0.0)
    return gym.spaces.Box(low=np.array(low, dtype=np.float32), high=np.array(high, dtype=np.float32),
                          dtype=np.float32)


def action_space() -> gym.spaces.Box:
    """The single-episode action space: one number in [−1, 1]."""
    return gym.spaces.Box(low=-1.0, high=1.0, shape=(1,), dtype=np.float32)


def _reset_info(state: dynamics.State) -> dict:
    """The info after a reset, of one state record (floats) or a table (arrays)."""
    return {"inventory": state.inventory, "shortfall": state.shortfall, "price": state.price}


def _step_info(state: dynamics.State, report: dynamics.Report) -> dict:
    """The info after a step, of one state and report record or a table of each."""
    return {"shares_traded": state.last_trade, "execution_price": report.execution_price,
            "expected_reward": report.expected_reward, "inventory": state.inventory, "shortfall": state.shortfall,
            "price": state.price, "displacement": state.displacement}


ACTION_SPACE = "Box(-1, 1, (1,))"


def fractions(params: OptimalExecParams, actions, n: int | None):
    """The fractions of the trade range the actions ask for (:func:`dynamics.fraction_of`): one action of
    shape (1,) when ``n`` is None (a float back), else ``n`` actions of shape (n, 1) or (n,) (an array back);
    ValueError for a wrong shape, NaN or anything but real numbers."""
    actions = action_array(actions, ACTION_SPACE, REAL_KINDS)
    if n is None:
        if actions.size != 1 or actions.ndim > 1:
            raise ValueError(f"action must have shape (1,), got {actions.shape}")
        value = float(actions.item())
        if value != value:
            raise ValueError(dynamics.NAN_ACTION)
        return dynamics.fraction_of(value)
    if actions.size != n or actions.ndim > 2 or (actions.ndim == 2 and actions.shape[1] != 1):
        expected = "(1,)" if n == 1 else f"({n}, 1) or ({n},)"
        raise ValueError(f"action must have shape {expected}, got {actions.shape}")
    return dynamics.action_to_fraction(actions.reshape(n))


def holdings_panel(scene: Scene) -> list[Line]:
    """The agent's holdings beside the oracle's schedule (its expected holdings where it adapts)."""
    lines = [Line("agent", scene.trace.series("inventory"))]
    if scene.reference is not None:
        lines.append(Line("oracle schedule", scene.reference, color=1, oracle=True))
    return lines


SKETCH = Sketch(
    title="OptimalExec", xlabel="period k", horizon=lambda params: params.periods,
    panels=(Panel("holdings x_k (shares)", holdings_panel),
            Panel("mid price S_k (currency/share)", lambda scene: [Line("mid", scene.trace.series("price"))])),
    readouts=(Readout("inventory", "inventory", "{:,.0f} sh"), Readout("mid", "price", "{:.4f}"),
              Readout("shortfall", "shortfall", "{:,.2f}")),
    reward_units="bps", reference=lambda params, oracle: oracle.schedule)


PROBLEM = BatchedProblem(
    params_class=OptimalExecParams,
    dynamics=dynamics.DYNAMICS,
    observation_space=observation_space,
    action_space=lambda params: action_space(),
    controls=fractions,
    reset_info=_reset_info,
    step_info=_step_info,
    sketch=SKETCH,
    distribution=DISTRIBUTION,
)


class OptimalExecEnv(EpisodeEnv):
    """One episode at a time (see the module docstring): the period of :func:`dynamics.advance` on Python
    floats, the same arithmetic the vector env compiles over its batch. Reset with seed s plays the
    episodes of slot i of a vector env reset with seed s − i."""

    problem = PROBLEM


class OptimalExecVectorEnv(BatchedVectorEnv):
    """``num_envs`` episodes stepped together by the batched dynamics, with no Python loop over them.

    Autoreset is Gymnasium's SAME_STEP mode: an episode that ends is replaced
    in the same call by the next episode of its slot; its last observation and
    info are returned under ``info["final_obs"]`` and ``info["final_info"]``
    (masks ``info["_final_obs"]``, ``info["_final_info"]``), and its ``info``
    entries are those of the new episode's reset, as in
    ``SyncVectorEnv(..., autoreset_mode=AutoresetMode.SAME_STEP)`` (one
    difference: ``final_obs`` is a float32 array (n, 3), not an object array
    of per-slot observations; rows of slots not done are not meaningful). Slot i
    reset with seed s plays the episodes of a scalar env reset with seed s + i.
    """

    problem = PROBLEM
