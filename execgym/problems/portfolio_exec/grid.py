"""PortfolioExec-v0 with two assets on a lot grid: a finite MDP for tabular agents, its exact optimum, discrete envs.

| | |
|---|---|
| Observation | Discrete((N+1)·(L+1)²): index k·(L+1)² + q₁·(L+1) + q₂, k periods elapsed, q_i lots of asset i left |
| Action | Discrete((M+1)²): index j₁·(M+1) + j₂, j_i the lots of asset i to trade (M = ``max_trade_lots``, default L) |
| Reward | the env's own reward (bps of the book's arrival notional, noisy), unchanged |
| Termination | as PortfolioExec-v0: after N periods, no truncation |
| Oracle | backward induction (:mod:`execgym.solvers.dp`) on :meth:`PortfolioLotGrid.mdp`: O(N·L²·M²) time and memory |

Two assets only: the table grows as (L+1)^(2m)·(M+1)^m, already 1.5·10⁵
entries per period at L = M = 10 for m = 2.

## Grid

Each position X_i (signed shares) is split into L equal lots of X_i/L shares,
a lot being X_i/L shares *toward zero* (sold for a long position, bought back
for a short). Action (j₁, j₂) trades min(j_i, q_i) lots of asset i: a trade
larger than what remains trades what remains, and in the last period
everything left is traded whatever the action (as the env does). The env's
action is a_i = 2f_i − 1 with f_i = min(j_i, q_i)/q_i the fraction of asset
i's remaining position (f_i = 0 when q_i = 0), so on-grid trades keep the
holdings on the grid up to floating-point rounding. Observations are mapped
back by rounding: k = round(N·(1 − obs[0])), q_i = round(L·obs[1 + i]); the
price moves in the observation are ignored (the optimum does not use them).

## Expected reward

With n = (min(j_i, q_i)·X_i/L)_i shares traded (all q_i·X_i/L in the last
period), x' = ((q_i − min(j_i, q_i))·X_i/L)_i the holdings after the trade::

    r(k, q, j) = −[ nᵀH n/τ + ε·|n| + nᵀΓᵀx' + λτ·x'ᵀΣx' ] · 10⁴/(Σ_i |X_i|·S0_i)

which is the env's reward (:mod:`execgym.problems.portfolio_exec.dynamics`)
with the price-shock term −√τ·(Lξ)ᵀx' at its mean, zero (x' is fixed before ξ
is drawn), and the permanent impact's move −Γn paid on x'. Summed over a
schedule it is −(E[IS] + λ·Var[IS]) in bps, as in
:mod:`execgym.problems.portfolio_exec.schedule`. The MDP's optimal value is
therefore the exact expected return, in PortfolioExec-v0, of the best on-grid
policy; since those are policies of the continuous env it is at most the LQ
oracle's value, and it approaches it as L grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from execgym.tabular.base import TablePolicy, ViewMixin, checked_actions, lot_counts
from execgym.policy import Oracle
from execgym.problems.portfolio_exec import schedule
from execgym.problems.portfolio_exec.params import PortfolioExecParams
from execgym.solvers.dp import FiniteMDP, backward_induction
from execgym.validation import set_field

ASSETS = 2
MAX_LOTS = 1_000


@dataclass(frozen=True)
class PortfolioLotGrid(ViewMixin):
    """The lot grid of a two-asset ``params``: ``lots`` lots of X_i/lots shares per asset (1 to 1000), and
    trades of 0..``max_trade_lots`` lots of each asset per period (1 to ``lots``; default ``lots``).
    A :class:`~execgym.tabular.base.TabularView`."""

    env_id: ClassVar[str] = "PortfolioExec-v0"

    params: PortfolioExecParams
    lots: int
    max_trade_lots: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.params, PortfolioExecParams):
            raise ValueError(f"params must be a PortfolioExecParams, got {type(self.params).__name__}")
        if self.params.transient:
            raise ValueError("PortfolioLotGrid discretises books without transient impact (its state has no "
                             "displacement); these params set transient_impact")
        if self.params.assets != ASSETS:
            raise ValueError(f"PortfolioLotGrid discretises books of exactly {ASSETS} assets (its table grows as "
                             f"(L+1)^(2m)); these params have m = {self.params.assets} assets")
        zero = np.flatnonzero(self.params.shares == 0)
        if zero.size:
            raise ValueError(f"PortfolioLotGrid needs a nonzero position in each asset (lots of X_i/L shares); "
                             f"holdings[{zero[0]}] is 0: use OptimalExec-v0 for a single asset")
        lots, max_trade_lots = lot_counts(self.lots, self.max_trade_lots, MAX_LOTS)
        set_field(self, "lots", lots)
        set_field(self, "max_trade_lots", max_trade_lots)

    @property
    def lot_sizes(self) -> np.ndarray:
        """X_i/L (2,): signed shares per lot of each asset."""
        return self.params.shares / self.lots

    @property
    def states_per_stage(self) -> int:
        """(L + 1)²: lot counts (q₁, q₂) in 0..L each."""
        return (self.lots + 1) ** 2

    @property
    def num_states(self) -> int:
        """(N + 1)·(L + 1)²: size of the discrete observation space."""
        return (self.params.periods + 1) * self.states_per_stage

    @property
    def num_actions(self) -> int:
        """(M + 1)²: trades (j₁, j₂) of 0..M lots each."""
        return (self.max_trade_lots + 1) ** 2

    def state_index(self, observations: np.ndarray) -> np.ndarray:
        """Grid states (n,) int64 of PortfolioExec observations (n, 5): k·(L+1)² + q₁·(L+1) + q₂ with
        k = round(N·(1 − obs[:, 0])) in 0..N and q_i = round(L·obs[:, 1 + i]) in 0..L."""
        observations = np.asarray(observations, dtype=np.float64)
        periods = self.params.periods
        elapsed = np.clip(np.rint(periods * (1.0 - observations[:, 0])), 0, periods).astype(np.int64)
        lots = np.clip(np.rint(self.lots * observations[:, 1:1 + ASSETS]), 0, self.lots).astype(np.int64)
        return elapsed * self.states_per_stage + lots[:, 0] * (self.lots + 1) + lots[:, 1]

    def lots_held(self, states: np.ndarray) -> np.ndarray:
        """(q₁, q₂) (n, 2) of grid states (n,)."""
        within = np.asarray(states) % self.states_per_stage
        return np.stack([within // (self.lots + 1), within % (self.lots + 1)], axis=-1)

    def lots_traded(self, actions: np.ndarray) -> np.ndarray:
        """(j₁, j₂) (n, 2) of grid actions (n,), checked integers in 0..(M+1)² − 1."""
        actions = checked_actions(actions, self.num_actions, "j₁·(M+1) + j₂", "(max_trade_lots + 1)² − 1")
        side = self.max_trade_lots + 1
        return np.stack([actions // side, actions % side], axis=-1)

    def fractions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Fractions of each asset's remaining position to trade (n, 2): min(j_i, q_i)/q_i, 0 when q_i = 0."""
        traded = self.lots_traded(actions)
        held = self.lots_held(states)
        return np.minimum(traded, held) / np.maximum(held, 1)

    def env_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """PortfolioExec actions (n, 2) float64 for grid actions: a_i = 2·f_i − 1."""
        return 2.0 * self.fractions(states, actions) - 1.0

    def step_costs(self, held: np.ndarray, traded: np.ndarray) -> np.ndarray:
        """Expected cost (bps, see the module docstring) of trading ``traded`` lots (..., 2) out of ``held``
        (..., 2): nᵀHn/τ + ε·|n| + nᵀΓᵀx' + λτ·x'ᵀΣx' with n = traded·X/L and x' = (held − traded)·X/L."""
        p = self.params
        n = traded * self.lot_sizes
        left = (held - traded) * self.lot_sizes
        cost = (np.einsum("...i,ij,...j->...", n, p.eta, n) / p.tau + np.abs(n) @ p.spreads
                + np.einsum("...i,ji,...j->...", n, p.gamma, left)
                + p.risk_aversion * p.tau * np.einsum("...i,ij,...j->...", left, p.sigma, left))
        return cost * p.bps_per_currency

    def mdp(self) -> FiniteMDP:
        """The discretised problem: stages k = 0..N−1, state (q₁, q₂) as q₁·(L+1) + q₂, action (j₁, j₂),
        deterministic successor q − min(j, q) (0 in the last period), rewards the expected rewards in bps
        (module docstring), terminal values 0."""
        periods, side = self.params.periods, self.lots + 1
        held = self.lots_held(np.arange(self.states_per_stage))[:, None, :]          # (S, 1, 2)
        wanted = self.lots_traded(np.arange(self.num_actions))[None, :, :]           # (1, A, 2)
        traded = np.broadcast_to(np.minimum(wanted, held), (periods,) + np.broadcast_shapes(held.shape, wanted.shape)
                                 ).copy()
        traded[-1] = held                                                           # the last period clears
        left = held[None] - traded
        return FiniteMDP(rewards=-self.step_costs(held[None], traded),
                         next_states=(left[..., 0] * side + left[..., 1])[..., None],
                         probabilities=np.ones(traded.shape[:-1] + (1,)))

    def oracle(self) -> Oracle:
        """The exact optimum of the discretised problem, acting in PortfolioExec-v0: its policy, its exact
        E[Σ reward] (bps) from (k = 0, q = (L, L)), its holdings (N + 1, 2) in shares, E[IS] and Var[IS].
        The optimal schedule is deterministic (so is the grid problem)."""
        solution = backward_induction(self.mdp())
        start = self.lots * (self.lots + 1) + self.lots
        states = [start]
        for k in range(self.params.periods):
            held = self.lots_held(np.array([states[-1]]))[0]
            traded = np.minimum(self.lots_traded(np.array([solution.policy[k, states[-1]]]))[0], held)
            left = held - traded if k < self.params.periods - 1 else np.zeros(ASSETS, dtype=np.int64)
            states.append(int(left[0] * (self.lots + 1) + left[1]))
        holdings = self.lots_held(np.array(states)) * self.lot_sizes
        table = np.zeros(self.num_states, dtype=np.int64)
        table[:solution.policy.size] = solution.policy.ravel()
        return Oracle(policy=self.env_policy(TablePolicy(table)),
                      expected_return=float(solution.values[0, start]),
                      schedule=holdings,
                      expected_shortfall=float(schedule.expected_shortfall(self.params, holdings)),
                      variance=float(schedule.variance(self.params, holdings)))
