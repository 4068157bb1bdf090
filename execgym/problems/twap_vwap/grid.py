"""TwapVwapSwitch-v0 as a table: its reachable (day type, bucket, remaining) states indexed, its paces as they are.

| | |
|---|---|
| Observation | Discrete((B+1)·S): index t·S + s, t buckets done (B: the end), s the reachable state of bucket t (sorted by day type, then remaining), S = max_t S_t |
| Action | Discrete(A): the env's pace, 0 TWAP, 1 VWAP (2 POV with ``pov_rate``) |
| Reward | the env's own reward (bps of arrival notional, noisy), unchanged |
| Termination | as TwapVwapSwitch-v0: after B buckets, no truncation |
| Oracle | the env's own: backward induction over the reachable states (:mod:`execgym.problems.twap_vwap.oracle`) |

Nothing is discretised: the env's states reachable from the start are
finitely many (:mod:`execgym.problems.twap_vwap.reachable`) and the view
indexes exactly those, reading an observation as the oracle does (the
reachable remaining fraction nearest to the observed one, at the observed
bucket and day type). So the "discretised optimum" of this view is the env's
exact optimum, and a tabular agent's regret against it is its regret against
the true optimum.

:meth:`PaceGrid.mdp` writes the whole problem as one
:class:`~execgym.solvers.dp.FiniteMDP`: T = B stages, S states per stage
(indices past the S_t reachable ones are padding: reward 0, leading to state
0), K = 1 successor, the env's expected reward −(η·v² + λσ²·x'²) (the price
move's term at its mean, zero), terminal values 0. Backward induction on it
is a check of the oracle, which solves the same recursion a bucket at a time.

The table has (B+1)·S·A entries: 14·4,096·2 = 114,688 for the default market;
the view accepts up to :data:`MAX_ENTRIES` (10⁷), which POV with the default
13 buckets exceeds (14·262,316·3 with ``pov_rate=0.1``): use fewer buckets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from execgym.tabular.base import ViewMixin, checked_actions
from execgym.policy import Oracle
from execgym.problems.twap_vwap import dynamics
from execgym.problems.twap_vwap.oracle import make_oracle
from execgym.problems.twap_vwap.params import TwapVwapParams
from execgym.problems.twap_vwap.reachable import ReachableStates, reachable_states
from execgym.solvers.dp import FiniteMDP
from execgym.validation import set_field

MAX_ENTRIES = 10_000_000
"""Largest table (B+1)·S·A accepted: its MDP holds about 24 bytes per entry (0.24 GB at the cap)."""


@dataclass(frozen=True)
class PaceGrid(ViewMixin):
    """TwapVwapSwitch-v0 with ``params`` seen as a table of its reachable states.
    A :class:`~execgym.tabular.base.TabularView`."""

    env_id: ClassVar[str] = "TwapVwapSwitch-v0"

    params: TwapVwapParams
    states: ReachableStates = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.params, TwapVwapParams):
            raise ValueError(f"params must be a TwapVwapParams, got {type(self.params).__name__}")
        set_field(self, "states", reachable_states(self.params))
        entries = self.num_states * self.num_actions
        if entries > MAX_ENTRIES:
            raise ValueError(f"PaceGrid's table would have (buckets + 1)·(most reachable states in a bucket)·actions "
                             f"= {self.params.buckets + 1}·{self.states_per_stage:,}·{self.num_actions} = "
                             f"{entries:,} entries, more than {MAX_ENTRIES:,}: lower buckets or set pov_rate=None")

    @property
    def states_per_stage(self) -> int:
        """S = max_t S_t: the most reachable states in one bucket."""
        return int(self.states.counts.max())

    @property
    def num_states(self) -> int:
        """(B + 1)·S: buckets done 0..B × states per bucket (padded to S)."""
        return (self.params.buckets + 1) * self.states_per_stage

    @property
    def num_actions(self) -> int:
        """A: the env's paces."""
        return self.params.num_actions

    def state_index(self, observations: np.ndarray) -> np.ndarray:
        """Grid states (b,) int64 of TwapVwapSwitch observations (b, 2[+R]): t·S + s, s the reachable state of
        the observed bucket t and day type nearest to the observed remaining fraction."""
        elapsed, day, remaining = dynamics.decode(self.params, observations)
        return elapsed * self.states_per_stage + self.states.index(elapsed, day, remaining)

    def stages_and_states(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(buckets done t, reachable state s within bucket t), each (b,), of grid states (b,)."""
        states = np.asarray(states)
        return states // self.states_per_stage, states % self.states_per_stage

    def env_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """TwapVwapSwitch actions (b,) int64: the grid actions themselves, checked integers in 0..A−1."""
        return checked_actions(actions, self.num_actions, "paces: 0 TWAP, 1 VWAP, 2 POV", "the paces − 1")

    def mdp(self) -> FiniteMDP:
        """The problem as one finite MDP over the padded stages (module docstring)."""
        p, width = self.params, self.states_per_stage
        rewards = np.zeros((p.buckets, width, self.num_actions))
        next_states = np.zeros((p.buckets, width, self.num_actions, 1), dtype=np.int64)
        for t in range(p.buckets):
            n = self.states.counts[t]
            rewards[t, :n] = self.states.rewards(t)
            next_states[t, :n, :, 0] = self.states.successors[t]
        return FiniteMDP(rewards=rewards, next_states=next_states,
                         probabilities=np.broadcast_to(np.float64(1.0), next_states.shape))

    def oracle(self) -> Oracle:
        """The env's exact oracle (backward induction over the reachable states): the optimum of this view is
        the optimum of the env."""
        return make_oracle(self.params)
