"""TwapVwapSwitch-v0: execute an intraday order bucket by bucket, choosing each bucket between TWAP and VWAP pace.

| | |
|---|---|
| Observation | Box(0, 1, (2,) or (2+R,)) float32: time remaining (B − t)/B, remaining fraction x, one-hot day type if R > 1 |
| Action | Discrete(2): 0 TWAP pace, 1 VWAP pace; Discrete(3) with ``pov_rate``: 2 POV |
| Reward | −(η_t·v² − x'·ΔP + λσ²·x'²), bps of the order's arrival notional |
| Termination | after B buckets (``terminated=True``; no truncation); the last bucket trades whatever is left |
| Oracle | exact backward induction over the reachable (day type, bucket, remaining) states (:mod:`.oracle`); 8,192 states in 7 ms by default, O(Σ_t S_t·A) |

## Description

A trader sells an order (one unit: quantities are fractions of it) over a
day of B buckets (default 13 half-hours). Each bucket they pick a pace, an
execution algorithm's rule for the bucket's trade given what remains, x:

* TWAP: x/(B − t), an equal share of what remains for each bucket left;
* VWAP: x·m_t/Σ_{s>=t} m_s, in proportion to the market volume m_t still to
  come (from x = 1 it trades m_t/Σm: the day's volume profile);
* POV (with ``pov_rate`` ρ): min(x, ρ·m_t/order_size), a fixed share ρ of the
  bucket's market volume (``order_size`` is the order in units of the volume).

The market's volume follows a U-shaped intraday profile (by default one day
type; with several rows of ``volume_profiles`` the day type is drawn at reset
and shown in the observation, and VWAP follows that day's profile). Trading a
fraction v in bucket t costs temporary impact η_t·v²; by default η_t is the
cost per unit of participation (high where volume is thin) with a premium at
the open, so trading is dearest early and cheapest at the close. Holding x'
through a bucket exposes it to the price move ΔP ~ N(0, σ²). This is seed
004's scenario: VWAP pace, which trades most in the costly opening buckets,
costs more than TWAP pace, and the best policy switches between them (TWAP for
the first three buckets, then VWAP). Dynamics: :mod:`.dynamics`; parameters
and units: :mod:`.params`.

Without POV every pace is linear in x, so the optimal pace depends on
(day type, bucket) only: the optimum is one fixed sequence of paces per day
type, which the agent must discover. With POV the choice depends on x too.

## Action Space

``Discrete(2)``: 0 TWAP, 1 VWAP; ``Discrete(3)`` with ``pov_rate``: 2 POV.
A non-integer, a wrong shape or an index out of range raises ``ValueError``.
In the last bucket everything left is traded whatever the action, so every
policy completes the order.

## Observation Space

| Num | Observation | Min | Max |
|-----|-------------|-----|-----|
| 0 | time remaining (B − t)/B | 0 | 1 |
| 1 | remaining fraction of the order x | 0 | 1 |
| 2..R+1 | one-hot of the day type (only when R > 1) | 0 | 1 |

This is a sufficient state: the price does not enter the costs still to come
(its moves have mean zero and multiply holdings fixed before them).

## Rewards

In basis points of the order's arrival notional, per bucket t, with v the
fraction traded, x' = x − v what is still held, P_t the price (bps of the
arrival price, P_0 = 0) and ΔP_t = P_{t+1} − P_t = σ·ξ_t::

    r_t = −(η_{r,t}·v_t² − x'_t·ΔP_t + λσ²·x'_t²)

the bucket's impact cost, minus the price P&L on what is still held, plus the
risk penalty. The order sells v_t at P_t − η_{r,t}·v_t, so the implementation
shortfall is IS = Σ_t v_t·(P_0 − P_t + η_{r,t}·v_t), and since
Σ_t v_t·P_t = Σ_t x'_t·ΔP_t (x' = 0 after the last bucket)::

    Σ_t r_t = −(IS + λσ²·Σ_t x'_t²),     E[Σ_t r_t] = −(E[IS] + λ·E[Var(IS | day type)])

because no policy can react to the price (it is not observed), the path of
x is fixed given the day type and Var(IS | r) = σ²·Σ_t x'_t². With one day
type this is the mean–variance objective −(E[IS] + λ·Var[IS]).

## Episode End

Terminated after B buckets, the order complete. No truncation.

## Arguments

``gym.make("TwapVwapSwitch-v0", **fields)`` with any field of
:class:`~.params.TwapVwapParams` (or ``params=``):
``buckets``, ``volume_profiles``, ``day_probabilities``, ``impact``,
``volatility``, ``risk_aversion``, ``pov_rate``, ``order_size``;
``gym.make_vec("TwapVwapSwitch-v0", num_envs=k, ...)`` returns the natively
batched :class:`TwapVwapVectorEnv`; with ``markets=[...]`` (a params object or
a dict of fields per slot) each slot plays its own market, of any number of
buckets, profiles, impacts, σ, λ and POV caps, so long as the markets share
the observation space (the number of day types, when more than one) and the
actions (POV or not).

``info`` (after reset and per step), bps of arrival unless said:
``day_type`` r; ``remaining`` x; ``price`` the current price P;
``impact_cost`` Σ η·v² so far; ``shortfall`` the implementation shortfall
of what is sold so far, Σ v·(P_0 − P + η·v); ``market_vwap`` the market's
VWAP so far, Σ m·P/Σ m (0, the arrival price, before the first bucket);
``vwap_shortfall`` (1 − x)·market_vwap + shortfall, what is sold so far
against the market VWAP, at the end the tracking error VWAP − average sale
price. After a step also ``traded`` v, ``bucket_price`` P_t, the price the
bucket traded at, and ``expected_reward`` −(η·v² + λσ²·x'²), E[reward | state,
action] (the reward without the price move's term). VWAP pace's tracking error is its impact cost exactly:
v_t = m_t/Σm makes the price terms cancel, whatever the prices.

``render_mode``: None (default), ``"rgb_array"``, a picture of the episode so
far: the remaining order beside the oracle's path on the episode's day type, the
price and the market VWAP, with the paces taken and the oracle's; or ``"ansi"``,
a short text of the current state. The vector env renders one per slot
(:mod:`execgym.rendering`).

``markets="train"`` (or ``"test"``, ``"ood"``, a :class:`~execgym.distributions.MarketSet`; in the scalar env
also a list of markets) draws each episode's market from the family's distribution (:mod:`.distribution`,
which documents its prior, its out-of-distribution regime and its features), the same in the scalar env at
seed s + i as in slot i of the vector env at seed s; the observation then ends with the market's features
(``observe_market=False``: nothing; ``"index"``: its index in the set) and ``info["market"]`` is its index.

## Oracle

``execgym.make_oracle("TwapVwapSwitch-v0", **fields)`` (:mod:`.oracle`):
the reachable states, built forward with the env's arithmetic, solved by the
shared backward induction (:mod:`execgym.solvers.dp`); ``expected_return``
is the exact E[Σ reward] of the policy as it acts on (float32) observations,
``paces`` and ``holdings`` the optimal path per day type. Default market:
−14.923 bps, against −16.270 (always TWAP) and −16.528 (always VWAP).
More than 4,000,000 state–action pairs (POV with many buckets) raise
``ValueError``. Baselines: :mod:`.policies`; :func:`~.oracle.policy_value`
prices any deterministic policy of the observation exactly.

## Version History

* v0: initial version.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from execgym.batched_env import BatchedProblem, BatchedVectorEnv, EpisodeEnv
from execgym.problems.twap_vwap import dynamics
from execgym.problems.twap_vwap.distribution import DISTRIBUTION
from execgym.problems.twap_vwap.params import TwapVwapParams
from execgym.rendering import Line, Panel, Readout, Scene, Sketch
from execgym.validation import INTEGER_KINDS, action_array

PACES = "TVP"
"""The letter of each action in the text renders: TWAP, VWAP, POV."""


def observation_space(params: TwapVwapParams) -> gym.spaces.Box:
    """The single-episode observation space: time remaining, remaining fraction, one-hot day type if R > 1."""
    return gym.spaces.Box(low=0.0, high=1.0, shape=(params.observation_size,), dtype=np.float32)


def paces(params: TwapVwapParams, actions, n: int | None):
    """The paces the actions ask for, checked: integers in 0..A−1 (0 TWAP, 1 VWAP, 2 POV). One action when ``n``
    is None (an int back; an int in range is taken as it is, without building an array), else ``n`` actions
    ((n,) int64 back)."""
    if n is None and (type(actions) is int or isinstance(actions, np.integer)) and 0 <= actions < params.num_actions:
        return int(actions)
    count = 1 if n is None else n
    actions = action_array(actions, f"Discrete({params.num_actions})", INTEGER_KINDS)
    last = params.num_actions - 1
    if actions.size != count or actions.ndim > 1:
        expected = "an integer" if count == 1 else f"{count} integers (shape ({count},))"
        raise ValueError(f"action must be {expected} in 0..{last} (0 TWAP, 1 VWAP{', 2 POV' if last == 2 else ''}), "
                         f"got {actions!r}")
    actions = actions.reshape(count).astype(np.int64)
    if (actions < 0).any() or (actions > last).any():
        pov = "" if last == 2 else "; action 2 (POV) needs pov_rate"
        raise ValueError(f"action must lie in 0..{last}{pov}, got {actions.min()}..{actions.max()}")
    return int(actions[0]) if n is None else actions


def _reset_info(state: dynamics.State) -> dict:
    """The info after a reset, of one state record (floats) or a table (arrays)."""
    return {"day_type": 1.0 * state.day, "remaining": state.remaining, "price": state.price,
            "impact_cost": state.impact_cost, "shortfall": state.shortfall, "market_vwap": state.market_vwap,
            "vwap_shortfall": state.vwap_shortfall}


def _step_info(state: dynamics.State, report: dynamics.Report) -> dict:
    """The info after a step, of one state and report record or a table of each: the reset info's entries and
    the bucket's ``traded``, ``bucket_price`` and ``expected_reward``."""
    return {"day_type": 1.0 * state.day, "remaining": state.remaining, "price": state.price,
            "impact_cost": state.impact_cost, "shortfall": state.shortfall, "market_vwap": state.market_vwap,
            "vwap_shortfall": state.vwap_shortfall, "traded": report.traded, "bucket_price": report.bucket_price,
            "expected_reward": report.expected_reward}


def _day(scene: Scene) -> int:
    return int(scene.trace.infos[0]["day_type"])


def _remaining(scene: Scene) -> list[Line]:
    lines = [Line("agent", scene.trace.series("remaining"))]
    if scene.reference is not None:
        lines.append(Line("oracle", scene.reference.holdings[_day(scene)], color=1, oracle=True))
    return lines


def _paces(scene: Scene) -> str:
    taken = "".join(PACES[action.item()] for action in scene.trace.actions) or "-"
    text = f"day type {_day(scene)}, paces (TWAP, VWAP, POV): {taken}"
    if scene.reference is None:
        return text
    return f"{text}   oracle: {''.join(PACES[a] for a in scene.reference.paces[_day(scene)])}"


SKETCH = Sketch(
    title="TwapVwapSwitch", xlabel="bucket t", horizon=lambda params: params.buckets,
    panels=(Panel("remaining x (fraction of the order)", _remaining),
            Panel("price (bps of arrival)", lambda scene: [
                Line("price", scene.trace.series("price")),
                Line("market VWAP", scene.trace.series("market_vwap"), color=2)])),
    readouts=(Readout("remaining", "remaining", "{:.3f}"), Readout("price", "price", "{:+.2f} bps"),
              Readout("shortfall", "shortfall", "{:.3f} bps")),
    reward_units="bps", reference=lambda params, oracle: oracle, caption=_paces)


PROBLEM = BatchedProblem(
    params_class=TwapVwapParams,
    dynamics=dynamics.DYNAMICS,
    observation_space=observation_space,
    action_space=lambda params: gym.spaces.Discrete(params.num_actions),
    controls=paces,
    reset_info=_reset_info,
    step_info=_step_info,
    sketch=SKETCH,
    distribution=DISTRIBUTION,
)


class TwapVwapEnv(EpisodeEnv):
    """One episode at a time (see the module docstring): the bucket of :func:`dynamics.advance` on Python floats,
    the same arithmetic the vector env compiles over its batch. Reset with seed s plays the episodes of slot i of
    a vector env reset with seed s − i."""

    problem = PROBLEM


class TwapVwapVectorEnv(BatchedVectorEnv):
    """``num_envs`` episodes stepped together by the batched dynamics, with Gymnasium's SAME_STEP autoreset
    (infos as in SyncVectorEnv). Slot i reset with seed s plays the episodes of a scalar env reset with
    seed s + i."""

    problem = PROBLEM
