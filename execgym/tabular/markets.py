"""A tabular view of a set of markets: the market's index is part of the state.

Tabular agents learn one table per market of a small set (a handful of markets drawn per episode): the env
observes the market's index (``observe_market="index"``, :mod:`execgym.batched_env`), and the view's state is
j·S + s for market j and state s of market j's own view (every market's view has S states and A actions). The
agent is scored, market by market, against each market's exact optimum (:func:`execgym.score` with
``markets=``, ``observe_market="index"``).
"""

from __future__ import annotations

import numpy as np

from execgym import registry
from execgym.batched_env import MARKET_INDEX
from execgym.distributions import MarketSet
from execgym.tabular.base import DiscreteVectorEnv, TabularView, ViewMixin


class MarketsView(ViewMixin):
    """The tabular view of ``market_set`` (markets of ``env_id``): each market's own view (``view_class(params,
    **options)``), side by side (module docstring). ValueError unless every market's view has the first's
    numbers of states and actions."""

    def __init__(self, env_id: str, market_set: MarketSet, view_class: type, **options) -> None:
        self.env_id = env_id
        self.market_set = market_set
        self.views: list[TabularView] = [view_class(params, **options) for params in market_set]
        first = self.views[0]
        for index, view in enumerate(self.views):
            if (view.num_states, view.num_actions) != (first.num_states, first.num_actions):
                raise ValueError(f"{market_set.label(index)}'s tabular view has {view.num_states} states and "
                                 f"{view.num_actions} actions, the first market's {first.num_states} and "
                                 f"{first.num_actions}: the markets of a tabular set must share them")
        self.params = market_set[0]
        self.states_per_market = first.num_states
        mask = first.action_mask()
        self._mask = None if mask is None else np.concatenate([view.action_mask() for view in self.views])

    @property
    def num_states(self) -> int:
        """M·S: S states of each of the M markets."""
        return len(self.views) * self.states_per_market

    @property
    def num_actions(self) -> int:
        return self.views[0].num_actions

    def action_mask(self) -> np.ndarray | None:
        """Each market's view's mask, stacked (None where the views mask nothing)."""
        return self._mask

    def state_index(self, observations: np.ndarray) -> np.ndarray:
        """j·S + s: the market's index j is the observation's last entry, s its view's state of the rest."""
        observations = np.asarray(observations)
        markets = np.rint(observations[:, -1]).astype(np.int64)
        states = np.empty(observations.shape[0], dtype=np.int64)
        for market, rows in _groups(markets):
            states[rows] = market * self.states_per_market + self.views[market].state_index(observations[rows, :-1])
        return states

    def env_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """The real env's actions, each from its market's view."""
        states, actions = np.asarray(states), np.asarray(actions)
        out = None
        for market, rows in _groups(states // self.states_per_market):
            chosen = self.views[market].env_actions(states[rows] % self.states_per_market, actions[rows])
            if out is None:
                out = np.empty((states.shape[0], *chosen.shape[1:]), dtype=chosen.dtype)
            out[rows] = chosen
        return out

    def vector_env(self, num_envs: int) -> DiscreteVectorEnv:
        """The real env's native vector env drawing a market of the set per episode, observing its index, seen
        through this view."""
        vector_env_class = registry.problem(self.env_id).vector_env_class
        return DiscreteVectorEnv(vector_env_class(num_envs=num_envs, markets=self.market_set,
                                                  observe_market=MARKET_INDEX), self)

def _groups(markets: np.ndarray):
    """(market, rows) for each market present in ``markets`` (n,)."""
    for market in np.unique(markets):
        yield int(market), np.flatnonzero(markets == market)
