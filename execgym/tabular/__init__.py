"""Tabular views of execgym envs, for tabular agents (Q-learning): the machinery every view shares.

Each problem's view lives in its folder (``execgym/problems/<name>/grid.py``)
and is named in its spec (:attr:`execgym.registry.Problem.tabular_view`). What
does not belong to any one problem lives here, in one package, so that a view
is a single file of its problem and the discrete envs, the policy adapters and
the finite-MDP env are written once: :mod:`execgym.tabular.base` (the
:class:`TabularView` protocol, :class:`ViewMixin`, the policy adapters and the
discrete scalar and vector envs over any view) and :mod:`execgym.tabular.mdp_env`
(any :class:`~execgym.solvers.dp.FiniteMDP` as a natively batched env).

| env id | view and options | states × actions | the view's optimum |
|---|---|---|---|
| OptimalExec-v0 | :class:`~execgym.problems.optimal_exec.grid.LotGrid`: ``lots`` L (20), ``max_trade_lots`` M (L) | (N+1)(L+1) × (M+1) | DP on the grid → LQ oracle as L grows |
| PortfolioExec-v0, 2 assets | :class:`~execgym.problems.portfolio_exec.grid.PortfolioLotGrid`: ``lots`` L (10), ``max_trade_lots`` M (L) | (N+1)(L+1)² × (M+1)² | DP on the grid → LQ oracle as L grows |
| BasketSequence-v0, n ≤ 12 | :class:`~execgym.problems.basket_sequence.grid.BasketGrid`: no options | 2ⁿ(n+1) × n, masked | Held–Karp: the env's exact optimum |
| MarketMaking-v0, ``tick_size`` set, risk neutral | :class:`~execgym.problems.market_making.grid.QuoteGrid`: no options | (N+1)(2Q̄+1) × (M+1)² | the env's oracle: exact on the tick grid |
| TwapVwapSwitch-v0 | :class:`~execgym.problems.twap_vwap.grid.PaceGrid`: no options | (B+1)·S × A, S the most reachable states in a bucket | the env's oracle: exact on the reachable states |
| LimitOrMarket-v0 | :class:`~execgym.problems.limit_or_market.grid.LimitOrMarketGrid`: no options | (K+1)(N+1) × (L+1+F) | the env's oracle (nothing discretised) |

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

from execgym import registry
from execgym.problems import ViewSpec
from execgym.tabular.base import (DiscreteEnv, DiscretePolicy, DiscreteVectorEnv, GridPolicy, TablePolicy, TabularView,
                                  ViewMixin)
from execgym.tabular.mdp_env import TabularEnv, TabularVectorEnv

__all__ = ["DiscreteEnv", "DiscretePolicy", "DiscreteVectorEnv", "GridPolicy", "TablePolicy", "TabularEnv",
           "TabularVectorEnv", "TabularView", "ViewMixin", "ViewSpec", "tabular_views", "tabular_view", "view_options",
           "view_spec"]


def tabular_views() -> dict[str, ViewSpec]:
    """The :class:`ViewSpec` of every env id that has a tabular view, in the order of the table of problems."""
    return {env_id: spec.tabular_view for env_id, spec in registry.PROBLEMS.items() if spec.tabular_view is not None}


def view_spec(env_id: str) -> ViewSpec:
    """The :class:`ViewSpec` of ``env_id``; ValueError naming the ids that have one."""
    spec = registry.problem(env_id).tabular_view
    if spec is None:
        raise ValueError(f"env {env_id!r} has no tabular view (execgym.tabular), so tabular agents cannot run on it; "
                         f"envs with one: {sorted(tabular_views())}")
    return spec


def tabular_view(env_id: str, params=None, **options) -> TabularView:
    """The tabular view of ``env_id`` with ``params`` (the env's params object; default: the env's defaults)
    and the view's ``options`` (see the table above); unknown options raise ``ValueError``."""
    return view_spec(env_id).view_class(registry.problem(env_id).params(params), **view_options(env_id, **options))


def view_options(env_id: str, **options) -> dict:
    """``options`` over the defaults of ``env_id``'s tabular view; ValueError naming unknown ones and the valid."""
    spec = view_spec(env_id)
    unknown = sorted(set(options) - set(spec.defaults))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for the tabular view of {env_id} "
                         f"({spec.view_class.__name__}); valid: {sorted(spec.defaults)}")
    return {**spec.defaults, **options}
