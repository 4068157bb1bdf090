"""MarketMaking-v0: market making with inventory risk (see :mod:`.env`)."""
