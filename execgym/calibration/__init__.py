"""Bring your own market: estimate a problem's parameters from market data files (:mod:`.formats`,
:mod:`.estimates`), and the simulated stock the calibration is tested on (:mod:`.synthetic`).

Needs ``pip install "execgym[calibrate]"`` (pandas, statsmodels, pyarrow).
"""
