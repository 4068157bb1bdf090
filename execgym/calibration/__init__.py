"""Bring your own market: estimate a problem's parameters from market data files (:mod:`.data`, :mod:`.formats`,
:mod:`.lobster`, :mod:`.estimates`), OptimalExec params for an order and their report (:mod:`.optimal_exec`,
:mod:`.report`), and the simulated stock the calibration is tested on (:mod:`.synthetic`).

Needs ``pip install "execgym[calibrate]"`` (pandas, statsmodels, pyarrow).
"""
