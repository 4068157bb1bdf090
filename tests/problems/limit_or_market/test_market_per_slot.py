"""LimitOrMarket-v0 with a market per slot: each slot plays, bit for bit across autoresets, the episodes of a
scalar env of its market, and markets set at reset are played as if given at construction."""

from vector_checks import assert_market_per_slot_plays_scalar_envs, assert_markets_set_at_reset

ENV = "LimitOrMarket-v0"
# four markets with the default action space Discrete(7) (5 depths and 2 market orders, or 6 and 1) that differ
# in the order, the deadline, the book, the fills and the price walk
MARKETS = [{},
           dict(lots=6, deadline=3, tick_bps=0.5, spread_ticks=2, book_lots=None, touch_fill_probability=0.4,
                fill_decay=1.0, move_probability=0.8, drift=0.3, adverse_selection=0.2),
           dict(lots=35, deadline=6, book_lots=2, market_fractions=(0.25, 1.0), adverse_selection=1.0,
                fill_probabilities=(0.3, 0.25, 0.1, 0.05, 0.0)),
           dict(lots=3, deadline=2, max_depth=5, market_fractions=(1.0,), drift=-0.4)]


def test_a_market_per_slot_plays_the_scalar_envs_of_those_markets():
    assert_market_per_slot_plays_scalar_envs(ENV, MARKETS, steps=60)


def test_markets_set_at_reset_for_chosen_slots():
    assert_markets_set_at_reset(ENV, MARKETS, steps=30)
