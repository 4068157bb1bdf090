"""Tabular views of execgym envs, for tabular agents (Q-learning): one per env id that has one.

| env id | view and options | states × actions | the view's optimum |
|---|---|---|---|
| OptimalExec-v0 | :class:`LotGrid`: ``lots`` L (20), ``max_trade_lots`` M (L) | (N+1)(L+1) × (M+1) | DP on the grid → LQ oracle as L grows |
| PortfolioExec-v0, 2 assets | :class:`PortfolioLotGrid`: ``lots`` L (10), ``max_trade_lots`` M (L) | (N+1)(L+1)² × (M+1)² | DP on the grid → LQ oracle as L grows |
| BasketSequence-v0, n ≤ 12 | :class:`BasketGrid`: no options | 2ⁿ(n+1) × n, masked | Held–Karp: the env's exact optimum |
| MarketMaking-v0, ``tick_size`` set, risk neutral | :class:`QuoteGrid`: no options | (N+1)(2Q̄+1) × (M+1)² | the env's oracle: exact on the tick grid |
| TwapVwapSwitch-v0 | :class:`PaceGrid`: no options | (B+1)·S × A, S the most reachable states in a bucket | the env's oracle: exact on the reachable states |
| LimitOrMarket-v0 | :class:`LimitOrMarketGrid`: no options | (K+1)(N+1) × (L+1+F) | the env's oracle (nothing discretised) |

A view (the :class:`TabularView` protocol) has ``num_states`` and
``num_actions``; ``state_index`` (the env's observations to grid states) and
``env_actions`` (grid actions to the env's actions); ``action_mask()`` (which
actions each state allows, or None); ``mdp()`` (the finite MDP of the env's
exact expected rewards) and ``oracle()`` (its optimum, an
:class:`~execgym.policy.Oracle` acting in the real env, with its exact value
there); ``env_policy(discrete_policy)`` (a policy of grid states as a policy
of the real env) and ``vector_env(num_envs)`` (the native vector env seen
through the view: :class:`DiscreteVectorEnv`). :func:`tabular_view` builds
the view of an env id from the env's params and the view's options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from execgym.grids.base import (DiscreteEnv, DiscretePolicy, DiscreteVectorEnv, GridPolicy, TablePolicy, TabularView,
                                ViewMixin)
from execgym.grids.basket import BasketGrid
from execgym.grids.limit_or_market import LimitOrMarketGrid
from execgym.grids.lot_grid import DiscreteOptimalExecEnv, DiscreteOptimalExecVectorEnv, LotGrid
from execgym.grids.market_making import QuoteGrid
from execgym.grids.portfolio import PortfolioLotGrid
from execgym.grids.twap_vwap import PaceGrid
from execgym.registry import problem

__all__ = ["BasketGrid", "DiscreteEnv", "DiscreteOptimalExecEnv", "DiscreteOptimalExecVectorEnv", "DiscretePolicy",
           "DiscreteVectorEnv", "GridPolicy", "LimitOrMarketGrid", "LotGrid", "PaceGrid", "PortfolioLotGrid",
           "QuoteGrid", "TABULAR_VIEWS", "TablePolicy", "TabularView", "ViewMixin", "ViewSpec", "tabular_view"]


@dataclass(frozen=True)
class ViewSpec:
    """How to build the view of one env id: ``view_class(params, **options)``, options defaulting to ``defaults``."""

    view_class: type
    defaults: dict[str, Any] = field(default_factory=dict)


TABULAR_VIEWS: dict[str, ViewSpec] = {
    "OptimalExec-v0": ViewSpec(LotGrid, {"lots": 20, "max_trade_lots": None}),
    "PortfolioExec-v0": ViewSpec(PortfolioLotGrid, {"lots": 10, "max_trade_lots": None}),
    "BasketSequence-v0": ViewSpec(BasketGrid),
    "MarketMaking-v0": ViewSpec(QuoteGrid),
    "TwapVwapSwitch-v0": ViewSpec(PaceGrid),
    "LimitOrMarket-v0": ViewSpec(LimitOrMarketGrid),
}


def view_spec(env_id: str) -> ViewSpec:
    """The :class:`ViewSpec` of ``env_id``; ValueError naming the ids that have one."""
    if env_id not in TABULAR_VIEWS:
        raise ValueError(f"env {env_id!r} has no tabular view (execgym.grids), so tabular agents cannot run on it; "
                         f"envs with one: {sorted(TABULAR_VIEWS)}")
    return TABULAR_VIEWS[env_id]


def tabular_view(env_id: str, params=None, **options) -> TabularView:
    """The tabular view of ``env_id`` with ``params`` (the env's params object; default: the env's defaults)
    and the view's ``options`` (see the table above); unknown options raise ``ValueError``."""
    spec = view_spec(env_id)
    unknown = sorted(set(options) - set(spec.defaults))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for the tabular view of {env_id} "
                         f"({spec.view_class.__name__}); valid: {sorted(spec.defaults)}")
    return spec.view_class(problem(env_id).params(params), **{**spec.defaults, **options})
