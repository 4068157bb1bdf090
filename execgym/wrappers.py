"""Discretisation for tabular agents: the names of :mod:`execgym.grids`, importable from here as before.

:mod:`execgym.grids` holds the tabular views (OptimalExec-v0 on a lot grid,
two-asset PortfolioExec-v0 on a lot grid, BasketSequence-v0 as a table), the
discrete scalar and vector envs over any view, and :func:`~execgym.grids.tabular_view`,
which picks the view of an env id. :mod:`execgym.grids.lot_grid` documents
:class:`LotGrid`.
"""

from execgym.grids import (TABULAR_VIEWS, BasketGrid, DiscreteEnv, DiscretePolicy, DiscreteVectorEnv, GridPolicy,
                           PortfolioLotGrid, TablePolicy, TabularView, tabular_view)
from execgym.grids.lot_grid import MAX_LOTS, DiscreteOptimalExecEnv, DiscreteOptimalExecVectorEnv, LotGrid

__all__ = ["MAX_LOTS", "TABULAR_VIEWS", "BasketGrid", "DiscreteEnv", "DiscreteOptimalExecEnv",
           "DiscreteOptimalExecVectorEnv", "DiscretePolicy", "DiscreteVectorEnv", "GridPolicy", "LotGrid",
           "PortfolioLotGrid", "TablePolicy", "TabularView", "tabular_view"]
