"""LimitOrMarket-v0: limit or market orders to finish a child order before a deadline (see :mod:`.env`)."""
