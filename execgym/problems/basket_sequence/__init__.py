"""BasketSequence-v0: the order of n basket trades with path-dependent cross-impact cost; Held–Karp oracle."""
