"""OptimalExecRegimes-v0: single-asset liquidation in a market that switches between observed regimes."""
