"""Pure-math solvers shared by the oracles (no gymnasium)."""
