"""OptimalExec-v0: single-asset liquidation in the discrete-time Almgren–Chriss model."""
