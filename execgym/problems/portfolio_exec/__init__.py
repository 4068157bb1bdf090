"""PortfolioExec-v0: multi-asset liquidation with covariance and cross-impact."""
