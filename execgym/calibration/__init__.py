"""Bring your own market: estimate a problem's parameters from market data files (:mod:`.data`, :mod:`.formats`,
:mod:`.lobster`, :mod:`.estimates`); the params of OptimalExec (:mod:`.optimal_exec`), MarketMaking
(:mod:`.market_making`), LimitOrMarket (:mod:`.limit_or_market`), TwapVwapSwitch (:mod:`.twap_vwap`),
PortfolioExec (:mod:`.portfolio_exec`) and BasketSequence (:mod:`.basket_sequence`), with the optimum's value under the
estimates' uncertainty (:mod:`.uncertainty`) and a report (:mod:`.report`); and the simulated stock the
calibration is tested on (:mod:`.synthetic`).

Needs ``pip install "execgym[calibrate]"`` (pandas, statsmodels, pyarrow).
"""

from execgym.calibration.calibrate import Calibration, calibrate

__all__ = ["Calibration", "calibrate"]
