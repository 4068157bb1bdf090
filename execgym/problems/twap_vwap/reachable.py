"""The finite set of states TwapVwapSwitch can reach, and the problem on it as a finite MDP.

From x = 1 at bucket 0, every pace sends a remaining fraction x to one value
x' (:func:`~.dynamics.expected_buckets`, the env's own step; the price never
enters), so after t buckets a day of type r is in one of at most A^t states.
They are built forward, bucket by bucket, with the env's own arithmetic (so
they equal the env's remaining fractions bit for bit), and values closer than
:data:`MERGE_TOLERANCE` are one state (paces that agree in exact arithmetic
may differ in the last bits, e.g. TWAP and VWAP on a flat profile); a state
stands for its smallest member.

Stage t's states are sorted by (day type, x) and indexed 0..S_t − 1. The
problem on them is a finite MDP with K = 1 successor: its reward is the env's
expected reward −(η_{r,t}·v² + λσ²·x'²) (:func:`~.dynamics.expected_buckets`;
the merged members of a state differ by ~10⁻¹⁰ bps at most) and nothing is
paid after the last bucket. :meth:`ReachableStates.stage_mdp` writes one
bucket of it as a one-stage :class:`~execgym.solvers.dp.FiniteMDP` (states
0..max(S_t, S_{t+1}) − 1, the indices past S_t padding), so the shared
backward induction solves it a bucket at a time in O(S_t·A) memory.

Size: without POV the states double each bucket (2^{B−1} per day type in the
last bucket, 8,192 in all with the end by default); with POV they can triple. The
state–action pairs Σ_t S_t·A are capped at :data:`MAX_STATE_ACTIONS`, checked
bucket by bucket while building.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execgym.problems.twap_vwap import dynamics
from execgym.problems.twap_vwap.params import TwapVwapParams
from execgym.solvers.dp import FiniteMDP

MERGE_TOLERANCE = 1e-12
"""Remaining fractions (of the order) closer than this are one state."""
MAX_STATE_ACTIONS = 4_000_000
"""Most state–action pairs Σ_t S_t·A accepted: about 100 MB for the tables of states, successors and values."""
TOO_LARGE_REMEDY = "lower buckets, use fewer day types or set pov_rate=None"
COUNTED_STATES = 50_000
"""Reachable states :func:`estimated_counts` counts exactly before it extrapolates (a few ms)."""


@dataclass(frozen=True)
class ReachableStates:
    """Every state reachable from the start, per stage t = 0..B (module docstring)."""

    params: TwapVwapParams
    remaining: tuple[np.ndarray, ...]
    """Per stage, (S_t,) float64: x of each state, sorted by (day type, x)."""
    day: tuple[np.ndarray, ...]
    """Per stage, (S_t,) int64: the day type of each state."""
    offsets: tuple[np.ndarray, ...]
    """Per stage, (R+1,) int64: the states of day type r are offsets[r]..offsets[r+1] − 1."""
    traded: tuple[np.ndarray, ...]
    """Per stage t < B, (S_t, A) float64: v of each action."""
    successors: tuple[np.ndarray, ...]
    """Per stage t < B, (S_t, A) int64: the state of stage t + 1 each action leads to."""

    @property
    def counts(self) -> np.ndarray:
        """(B+1,) S_t, states per stage."""
        return np.array([x.shape[0] for x in self.remaining])

    @property
    def total(self) -> int:
        """Σ_t S_t, the states of every stage."""
        return int(self.counts.sum())

    def index(self, elapsed: np.ndarray, day: np.ndarray, remaining: np.ndarray) -> np.ndarray:
        """(b,) int64 the state within stage ``elapsed`` (0..B) of day type ``day`` whose x is nearest to
        ``remaining`` (ties: the smaller x)."""
        elapsed, day = np.asarray(elapsed, dtype=np.int64), np.asarray(day, dtype=np.int64)
        remaining = np.asarray(remaining, dtype=np.float64)
        out = np.empty(elapsed.shape[0], dtype=np.int64)
        groups = elapsed * self.params.day_types + day
        for group in np.unique(groups):
            t, r = divmod(int(group), self.params.day_types)
            rows = groups == group
            low, high = self.offsets[t][r], self.offsets[t][r + 1]
            values = self.remaining[t][low:high]
            x = remaining[rows]
            right = np.minimum(np.searchsorted(values, x), values.shape[0] - 1)
            left = np.maximum(right - 1, 0)
            nearer_left = np.abs(x - values[left]) <= np.abs(values[right] - x)
            out[rows] = low + np.where(nearer_left, left, right)
        return out

    def observations(self, stage: int) -> np.ndarray:
        """(S_t, obs) float32: the env's observation of each state of ``stage``."""
        return dynamics.observation(self.params, np.full(self.counts[stage], stage), self.day[stage],
                                    self.remaining[stage])

    def rewards(self, stage: int) -> np.ndarray:
        """(S_t, A) the expected reward of each action in each state of ``stage`` < B, bps."""
        return dynamics.expected_buckets(self.params, self.day[stage][:, None], stage, self.remaining[stage][:, None],
                                         np.arange(self.params.num_actions))[1]

    def stage_mdp(self, stage: int, next_values: np.ndarray) -> FiniteMDP:
        """Bucket ``stage`` < B as a one-stage FiniteMDP over max(S_t, S_{t+1}) states whose terminal values are
        ``next_values`` (S_{t+1},), the return-to-go of stage t + 1 (module docstring)."""
        n, following = self.counts[stage], self.counts[stage + 1]
        width, actions = max(n, following), self.params.num_actions
        rewards = np.zeros((1, width, actions))
        rewards[0, :n] = self.rewards(stage)
        next_states = np.zeros((1, width, actions, 1), dtype=np.int64)
        next_states[0, :n, :, 0] = self.successors[stage]
        terminal = np.zeros(width)
        terminal[:following] = next_values
        return FiniteMDP(rewards=rewards, next_states=next_states,
                         probabilities=np.broadcast_to(np.float64(1.0), next_states.shape), terminal_values=terminal)


def _too_large(params: TwapVwapParams, bucket: int, pairs: int) -> ValueError:
    paces = "TWAP, VWAP and POV" if params.pov_rate is not None else "TWAP and VWAP"
    return ValueError(
        f"the exact oracle indexes every reachable (day type, bucket, remaining) state; with buckets = "
        f"{params.buckets}, {params.day_types} day type(s) (volume_profiles) and {params.num_actions} actions "
        f"({paces}; pov_rate = {params.pov_rate!r}) buckets 0..{bucket} already have {pairs:,} "
        f"state-action pairs, more than {MAX_STATE_ACTIONS:,}: {TOO_LARGE_REMEDY}")


@dataclass(frozen=True)
class _Stage:
    """Stage t + 1 built from stage t: its states and the paces' trades and successors from stage t."""

    remaining: np.ndarray
    day: np.ndarray
    offsets: np.ndarray
    traded: np.ndarray
    successors: np.ndarray


def _following_stages(params: TwapVwapParams):
    """Yield stages 1..B one after another, each built from the one before (module docstring)."""
    days, actions = params.day_types, params.num_actions
    remaining, day = np.ones(days), np.arange(days, dtype=np.int64)
    every_action = np.arange(actions)[None, :]
    for t in range(params.buckets):
        x, r = remaining[:, None], day[:, None]
        v = dynamics.expected_buckets(params, r, t, x, every_action)[0]
        after = (x - v).ravel()
        after_day = np.broadcast_to(r, v.shape).ravel()
        order = np.lexsort((after, after_day))
        xs, rs = after[order], after_day[order]
        first = np.ones(xs.shape[0], dtype=bool)
        first[1:] = (rs[1:] != rs[:-1]) | (xs[1:] - xs[:-1] > MERGE_TOLERANCE)
        state = np.empty(xs.shape[0], dtype=np.int64)
        state[order] = np.cumsum(first) - 1
        remaining, day = xs[first], rs[first]
        yield _Stage(remaining=remaining, day=day,
                     offsets=np.searchsorted(day, np.arange(days + 1)).astype(np.int64), traded=v,
                     successors=state.reshape(v.shape))


def reachable_states(params: TwapVwapParams) -> ReachableStates:
    """Build the reachable states forward from x = 1 (module docstring); ValueError past
    :data:`MAX_STATE_ACTIONS`."""
    days = params.day_types
    remaining, day = [np.ones(days)], [np.arange(days, dtype=np.int64)]
    offsets = [np.arange(days + 1, dtype=np.int64)]
    traded, successors = [], []
    pairs = days * params.num_actions
    for t, stage in enumerate(_following_stages(params)):
        remaining.append(stage.remaining)
        day.append(stage.day)
        offsets.append(stage.offsets)
        traded.append(stage.traded)
        successors.append(stage.successors)
        pairs += stage.remaining.shape[0] * params.num_actions
        if pairs > MAX_STATE_ACTIONS:
            raise _too_large(params, t + 1, pairs)
    return ReachableStates(params=params, remaining=tuple(remaining), day=tuple(day), offsets=tuple(offsets),
                           traded=tuple(traded), successors=tuple(successors))


def estimated_counts(params: TwapVwapParams, counted: int = COUNTED_STATES) -> np.ndarray:
    """(B+1,) S_t, the reachable states per stage: counted exactly while Σ_t S_t <= ``counted`` (the forward
    pass of :func:`reachable_states`, without the cap), then extrapolated at the growth of the last stage
    counted, S_{t+1} = S_t·S_t/S_{t−1} (at most A-fold; the last stage, where every pace finishes the order,
    has one state per day type). float64: the extrapolation may exceed any integer type."""
    counts = [float(params.day_types)]
    total = counts[0]
    for stage in _following_stages(params):
        counts.append(float(stage.remaining.shape[0]))
        total += counts[-1]
        if total > counted:
            break
    growth = min(counts[-1] / counts[-2], params.num_actions)
    with np.errstate(over="ignore"):
        extrapolated = counts[-1] * growth ** np.arange(1, params.buckets + 2 - len(counts))
    estimate = np.concatenate([counts, extrapolated])
    if len(counts) < params.buckets + 1:
        estimate[-1] = params.day_types
    return estimate
