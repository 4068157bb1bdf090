"""One sub-package per problem, and the record each one exports.

A problem's folder holds everything of it: ``params.py``, ``dynamics.py``,
``env.py``, ``oracle.py``, its baselines (``policies.py``), its tabular view
(``grid.py``) and ``spec.py``, whose ``SPECS`` is the tuple of its
:class:`Problem` records (its env id and any registered variants).
:mod:`execgym.registry` finds every sub-package here and registers its
``SPECS``, so adding a problem folder edits no shared file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from execgym.policy import Oracle, OracleCost, Policy


@dataclass(frozen=True)
class ViewSpec:
    """How to build the tabular view of one env id: ``view_class(params, **options)``, options defaulting to
    ``defaults`` (see :mod:`execgym.tabular`)."""

    view_class: type
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """Everything the suite knows about one env id."""

    env_id: str
    description: str
    params_class: type
    env_class: type
    vector_env_class: type
    oracle_factory: Callable[[Any], Oracle]
    reward_units: str
    baselines: Callable[[Any], dict[str, Policy]]
    """params -> the problem's named baselines as policies (``execgym evaluate --baseline NAME``)."""
    oracle_cost: Callable[[Any], OracleCost]
    """params -> what building the oracle would take (its oracle module's ``build_cost``), estimated in milliseconds
    without building it: :func:`execgym.score` refuses an oracle estimated past its time budget."""
    defaults: dict = field(default_factory=dict)
    """Keyword arguments the id sets (a registered variant of another id); explicit ones override them."""
    action_masks: Callable[[Any, np.ndarray], np.ndarray] | None = None
    """For problems whose actions are masked (a masked action raises): (params, observations (b, *obs)) ->
    (b, actions) bool, the actions allowed in each observation, the same as the env's ``action_masks()``
    in that state; None where every action is always allowed. Lets a masked agent act from observations
    alone (scoring)."""
    solve_together: Callable[[list], dict[int, Oracle | ValueError]] | None = None
    """markets (params objects) -> the oracles (or refusals) of those one solver builds together, by index
    (:func:`execgym.make_oracles`); None where every oracle is built alone."""
    blind_policy: Callable[[list, list[Oracle]], Policy] | None = None
    """(markets, their oracles) -> the best market-blind policy of those markets: the policy of the problem's
    own observation that minimises the mean regret % over them (``execgym.score(..., markets=...)`` scores it
    as "blind"), or None where it is not exactly computable."""
    tabular_view: ViewSpec | None = None
    """The id's view for tabular agents (:func:`execgym.tabular.tabular_view`), or None: it has none."""
    order: float = float("inf")
    """Where the id is listed in :data:`execgym.registry.PROBLEMS` (``execgym list``, the docs): ascending, ties
    in the order found (a folder's ``SPECS`` in their order); the suite's problems use 10, 20, ..."""

    def params(self, params=None, **kwargs):
        """The params object from ``params=`` or keyword arguments over the id's defaults (validated)."""
        if params is not None:
            return self.params_class.from_kwargs(params, **kwargs)
        return self.params_class.from_kwargs(**{**self.defaults, **kwargs})
