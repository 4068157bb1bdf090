"""execgym calibrate: from the shipped sample's files to params that gym.make and make_oracle take, a config
`execgym run` takes, and a report."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import yaml

import execgym
from execgym.calibration import optimal_exec
from execgym.calibration.data import load
from execgym.calibration.synthetic import SyntheticStock, simulate
from execgym.experiments.cli import main
from execgym.experiments.config import load_config

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
SAMPLE = str(DATA / "synthetic_stock")


def test_the_sample_calibrates_into_params_gym_make_and_the_oracle_take(tmp_path, capsys):
    assert main(["calibrate", SAMPLE, "--shares", "200000", "--draws", "20", "--out", str(tmp_path)]) == 0
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    env = gym.make("OptimalExec-v0", **params)
    assert env.unwrapped.params.shares == 200_000 and env.unwrapped.params.impact_profile is not None
    oracle = execgym.make_oracle("OptimalExec-v0", **params)
    report = (tmp_path / "report.md").read_text()
    assert f"The oracle's expected cost is **{oracle.expected_shortfall:,.0f}**" in report
    assert load_config(tmp_path / "config.yaml").env_params() == env.unwrapped.params
    for plot in ("volume_profile.png", "impact.png", "schedule.png"):
        assert (tmp_path / plot).read_bytes()[:4] == b"\x89PNG"
    assert "| volatility σ |" in capsys.readouterr().out


def test_a_folder_without_quotes_is_refused_naming_what_is_missing(tmp_path):
    (tmp_path / "trades.csv").write_text("timestamp,price,size\n2026-01-05 09:30:00,10,5\n")
    assert main(["calibrate", str(tmp_path), "--shares", "1000", "--out", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()


def test_the_calibrated_params_are_near_the_true_stocks():
    """Ten days of the default stock: the params' σ, ε and γ within their intervals of the truth, and the
    linear temporary impact the truth's cost at the order's average rate plus γτ/2."""
    stock = SyntheticStock(days=10)
    market = simulate(stock, seed=7)
    estimated = optimal_exec.estimate_stock(market.trades.drop(columns="side"), market.quotes, market.executions)
    order = optimal_exec.Order(shares=2e5)
    params = optimal_exec.order_params(estimated, order)
    for name, truth in (("volatility", stock.volatility), ("half_spread", stock.quoted_half_spread),
                        ("permanent_impact", stock.permanent_impact)):
        low, high = getattr(estimated, name).interval
        assert low <= truth <= high, name
    true_eta = stock.temporary_impact * order.shares ** stock.impact_exponent / order.shares \
        + stock.permanent_impact / order.periods / 2.0
    assert params.temporary_impact == pytest.approx(true_eta, rel=0.3)
    # each period's η̃_k = η_k − γτ/2 is the measured coefficient times w_k = (1/N)/f_k
    raw = np.array(optimal_exec.impact_profile(estimated, order))
    correction = params.permanent_impact * params.tau / 2.0
    np.testing.assert_allclose(params.temporary_impact * np.array(params.impact_profile) - correction,
                               raw * (params.temporary_impact - correction), rtol=1e-12)
    assert params.impact_exponent == 1.0 and np.isclose(np.mean(1.0 / raw), 1.0)
    power = optimal_exec.order_params(estimated, order, impact="power")
    low, high = estimated.temporary.exponent.interval
    assert low <= stock.impact_exponent <= high and power.impact_exponent == estimated.temporary.exponent.value


SAMPLES = {  # folder: (the stock, its seed, the kind of files)
    "synthetic_stock": (SyntheticStock(days=5), 0, "trades"),
    "synthetic_stock_lobster": (SyntheticStock(days=5, daily_trades=1000, mean_trade_size=2000, quote_interval=10.0,
                                               desk_orders_per_day=0, sweep_decay=20.0), 1, "lobster"),
    "synthetic_stock_bars": (SyntheticStock(days=60, desk_orders_per_day=0, day_curvatures=(0.5, 8.0)), 2, "bars"),
}


@pytest.mark.parametrize("folder", sorted(SAMPLES))
def test_the_shipped_samples_are_the_simulators_output(tmp_path, folder):
    """examples/data/<folder> is write_sample of its stock and seed: regenerated, the files are the same bytes
    (the Parquet quotes: the same table)."""
    from execgym.calibration.formats import read_quotes
    from execgym.calibration.synthetic import write_sample

    stock, seed, kind = SAMPLES[folder]
    for path in write_sample(stock, seed, tmp_path, kind).values():
        shipped = DATA / folder / path.name
        if path.suffix == ".parquet":
            assert read_quotes(shipped).equals(read_quotes(path)), path.name
        elif path.name.endswith(".gz"):
            import gzip
            assert gzip.open(shipped).read() == gzip.open(path).read(), path.name
        else:
            assert open(shipped, "rb").read() == path.read_bytes(), path.name


def test_the_lobster_sample_calibrates_a_market_maker_near_its_truth(tmp_path):
    stock = SAMPLES["synthetic_stock_lobster"][0]
    out = tmp_path / "mm"
    assert main(["calibrate", f"{SAMPLE}_lobster", "--problem", "market-making", "--draws", "10", "--out", str(out)]) == 0
    params = yaml.safe_load((out / "params.yaml").read_text())
    assert params["arrival_rate"] == pytest.approx(stock.arrival_rate(), rel=0.05)
    assert params["depth_decay"] == pytest.approx(stock.sweep_decay, rel=0.05)
    oracle = execgym.make_oracle("MarketMaking-v0", **params)
    assert f"**{oracle.expected_return:,.2f}**" in (out / "report.md").read_text()
    assert gym.make("MarketMaking-v0", **params).unwrapped.params.max_depth == pytest.approx(7.5 / params["depth_decay"])
    assert main(["calibrate", f"{SAMPLE}_bars", "--problem", "market-making", "--out", str(tmp_path / "b")]) == 1


def test_limit_fills_estimates_agree_between_a_short_and_a_long_sample():
    """π, μ and a of 5 days against 40 days of the same stock: within their combined intervals."""
    from execgym.calibration.estimates import limit_fills

    stock = SyntheticStock(days=5, sweep_decay=20.0, desk_orders_per_day=0)
    fills = []
    for days, seed in ((5, 1), (40, 2)):
        market = simulate(SyntheticStock(**{**vars(stock), "days": days}), seed)
        fills.append(limit_fills(market.trades, market.trades["side"].to_numpy(), market.quotes, 5.0, 4, 0.01))
    for name in ("move_probability", "drift", "adverse_selection"):
        short, long = getattr(fills[0], name), getattr(fills[1], name)
        assert abs(short.value - long.value) < 4 * np.hypot(short.standard_error, long.standard_error), name
    assert np.all(np.diff(fills[0].fill_probabilities) <= 0) and fills[0].spread_ticks == 4


def test_the_lobster_sample_calibrates_a_child_order(tmp_path):
    out = tmp_path / "lom"
    assert main(["calibrate", f"{SAMPLE}_lobster", "--problem", "limit-or-market", "--draws", "10",
                 "--out", str(out)]) == 0
    params = yaml.safe_load((out / "params.yaml").read_text())
    oracle = execgym.make_oracle("LimitOrMarket-v0", **params)
    assert f"**{oracle.expected_return:.3f} bps**" in (out / "report.md").read_text()
    assert 0.0 <= params["adverse_selection"] <= 1.0 and len(params["fill_probabilities"]) == 5


def test_the_bars_sample_calibrates_its_two_day_types(tmp_path):
    """The bars sample's days have a flat (c = 0.5) or a steep (c = 8) U: clustered into two types, each type's
    profile is its curvature's within 0.01 of the day's volume, in shares of about half the days."""
    from execgym.calibration.twap_vwap import day_types

    stock = SAMPLES["synthetic_stock_bars"][0]
    out = tmp_path / "tv"
    assert main(["calibrate", f"{SAMPLE}_bars", "--problem", "twap-vwap", "--shares", "2e5", "--draws", "10",
                 "--out", str(out)]) == 0
    params = yaml.safe_load((out / "params.yaml").read_text())
    oracle = execgym.make_oracle("TwapVwapSwitch-v0", **params)
    assert f"**{oracle.expected_return:.3f} bps**" in (out / "report.md").read_text()
    profiles = np.array(params["volume_profiles"])
    shapes = profiles / profiles.sum(axis=1, keepdims=True)
    truths = [stock.volume_profile(13, c) for c in stock.day_curvatures]
    for shape in shapes:
        assert min(np.abs(shape - truth).max() for truth in truths) < 0.01
    assert abs(shapes[0][0] - shapes[1][0]) > 0.05 and all(0.3 < p < 0.7 for p in params["day_probabilities"])
    with pytest.raises(ValueError, match="--day-types must be between 1 and the 3 days of data, got 4"):
        day_types(np.full((3, 13), 1 / 13), np.ones(3), 4)


def test_the_book_sample_calibrates_its_covariance_and_factor_loadings(tmp_path):
    """Four stocks loading 0.6, 0.5, 0.7, 0.3 on one market factor (examples/data/synthetic_book): the one-factor
    model of their estimated correlations recovers the loadings within 0.1, and the params rebuild the oracle."""
    out = tmp_path / "pe"
    holdings = "AAA=100000,BBB=-50000,CCC=80000,DDD=60000"
    assert main(["calibrate", str(DATA / "synthetic_book"), "--problem", "portfolio-exec", "--holdings",
                 holdings, "--out", str(out)]) == 0
    params = yaml.safe_load((out / "params.yaml").read_text())
    oracle = execgym.make_oracle("PortfolioExec-v0", **params)
    report = (out / "report.md").read_text()
    assert f"**{-oracle.expected_return:.3f} bps**" in report
    loadings = [float(line.rsplit("|", 2)[1]) for line in report.splitlines() if line.startswith("| AAA |")
                or line.startswith("| BBB |") or line.startswith("| CCC |") or line.startswith("| DDD |")]
    np.testing.assert_allclose(loadings, [0.6, 0.5, 0.7, 0.3], atol=0.1)
    assert params["holdings"] == [100000.0, -50000.0, 80000.0, 60000.0]
    assert main(["calibrate", str(DATA / "synthetic_book"), "--problem", "portfolio-exec", "--holdings",
                 "AAA=1", "--out", str(tmp_path / "bad")]) == 1


def test_the_shipped_book_is_the_simulators_output(tmp_path):
    """examples/data/synthetic_book is write_book_sample of its four stocks at seed 5."""
    from execgym.calibration.formats import read_quotes
    from execgym.calibration.synthetic import write_book_sample
    import gzip

    betas = {"AAA": 0.6, "BBB": 0.5, "CCC": 0.7, "DDD": 0.3}
    stocks = {name: SyntheticStock(days=5, market_loading=beta, desk_orders_per_day=0, daily_trades=1000,
                                   quote_interval=30.0, price=40.0 + 20 * index)
              for index, (name, beta) in enumerate(betas.items())}
    for key, path in write_book_sample(stocks, 5, tmp_path).items():
        shipped = DATA / "synthetic_book" / key.split()[0] / path.name
        if path.suffix == ".parquet":
            assert read_quotes(shipped).equals(read_quotes(path)), key
        else:
            assert gzip.open(shipped).read() == gzip.open(path).read(), key


def test_calibrate_is_a_python_function_that_writes_only_when_asked(tmp_path):
    from execgym.calibration import calibrate

    result = calibrate(f"{SAMPLE}_lobster", "market-making", draws=5)
    assert result.env_id == "MarketMaking-v0" and result.report == "" and not list(tmp_path.iterdir())
    env = gym.make(result.env_id, params=result.params)
    assert env.unwrapped.params == result.params
    assert result.value.low <= result.value.value <= result.value.high
    with pytest.raises(ValueError, match="problem must be one of"):
        calibrate(SAMPLE, "basket")
    with pytest.raises(ValueError, match="optimal-exec needs shares"):
        calibrate(SAMPLE, "optimal-exec")


def test_the_book_sample_calibrates_a_basket_to_sequence(tmp_path):
    """The four stocks as a basket: sides from the positions, impacts from each stock's costs, the correlations
    estimated; the params rebuild the oracle whose order the report gives."""
    from execgym.calibration.basket_sequence import trade_impact_bps

    out = tmp_path / "bs"
    assert main(["calibrate", str(DATA / "synthetic_book"), "--problem", "basket-sequence", "--holdings",
                 "AAA=20000,BBB=-10000,CCC=15000,DDD=12000", "--out", str(out)]) == 0
    params = yaml.safe_load((out / "params.yaml").read_text())
    assert params["sides"] == [-1, 1, -1, -1]
    oracle = execgym.make_oracle("BasketSequence-v0", **params)
    order = " → ".join(["AAA", "BBB", "CCC", "DDD"][i] for i in oracle.order)
    assert f"The optimal order: {order} costs **{-oracle.expected_return:.3f} bps**" in (out / "report.md").read_text()
    stock = optimal_exec.estimate(load(DATA / "synthetic_book" / "AAA"))
    assert params["impact_bps"][0] == pytest.approx(trade_impact_bps(stock, 20000, 0.25))
