"""TwapVwapSwitch-v0: switch between TWAP and VWAP pace (optionally POV) bucket by bucket (see :mod:`.env`)."""
