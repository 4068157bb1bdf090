"""The cost of a wrong model: each model's optimum in every model's market, against that market's optimum."""

import numpy as np
import pytest
import yaml

import execgym
from execgym.experiments.cli import main
from execgym.problems.optimal_exec.params import OptimalExecParams
from execgym.stress import executed_schedule, stress_matrix

BASE = {"shares": 2e5, "arrival_price": 50.0, "volatility": 0.94}


def test_twap_in_a_risk_averse_market_costs_its_closed_form():
    """λ = 0 makes the optimum TWAP; in the market with λ > 0 its objective is, by hand,
    U = ½γX² + εX + (η − γτ/2)·X²/(Nτ) + λσ²τ·X²(N − 1)(2N − 1)/(6N)."""
    averse = {**BASE, "risk_aversion": 2e-6}
    matrix = stress_matrix("OptimalExec-v0", {"neutral": {**BASE, "risk_aversion": 0.0}, "averse": averse})
    p = OptimalExecParams(**averse)
    x, n, tau = p.shares, p.periods, p.tau
    twap = (0.5 * p.permanent_impact * x**2 + p.half_spread * x
            + (p.temporary_impact - 0.5 * p.permanent_impact * tau) * x**2 / (n * tau)
            + p.risk_aversion * p.volatility**2 * tau * x**2 * (n - 1) * (2 * n - 1) / (6 * n))
    optimum = -execgym.make_oracle("OptimalExec-v0", params=p).expected_return * p.notional / 1e4
    cell = matrix["neutral"]["averse"]
    # the schedule executed is the float32 actions' (trades exact to ~1e-7 of X)
    assert cell.exact and cell.regret_pct == pytest.approx(100 * (twap - optimum) / optimum, rel=1e-6)
    assert cell.regret_pct > 1.0
    neutral = OptimalExecParams(**{**BASE, "risk_aversion": 0.0})
    policy = execgym.make_oracle("OptimalExec-v0", params=neutral).policy
    np.testing.assert_allclose(executed_schedule("OptimalExec-v0", neutral, policy), np.linspace(x, 0, n + 1),
                               atol=1e-6 * x)


def test_each_optimum_is_exact_at_home_and_beaten_nowhere():
    models = {"as given": BASE, "square-root": {**BASE, "impact_exponent": 0.5},
              "volatile": {**BASE, "volatility": 1.88}, "neutral": {**BASE, "risk_aversion": 0.0},
              "reverting": {**BASE, "mean_reversion": 5.0, "two_way": True, "half_spread": 0.0}}
    matrix = stress_matrix("OptimalExec-v0", models, episodes=200)
    for name, row in matrix.items():
        assert row[name].regret_pct == pytest.approx(0.0, abs=1e-6)     # float32 actions
        for cell in row.values():
            if cell.regret_pct is not None:
                assert cell.regret_pct >= -1e-6 - cell.half_width
    assert matrix["reverting"]["as given"].regret_pct is None          # a two-way policy cannot act one-way
    assert not matrix["reverting"]["reverting"].exact                  # it trades on prices: Monte Carlo
    assert all(cell.exact for cell in matrix["volatile"].values())


def test_the_command_writes_the_table_and_heat_map_and_names_bad_models(tmp_path, capsys):
    models = tmp_path / "models.yaml"
    models.write_text(yaml.safe_dump({"base": {}, "calm": {"volatility": "0.5x"}}))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(BASE))
    assert main(["stress", "--params", str(params), "--models", str(models), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "stress.md").read_text()
    assert "| calm | " in text and (tmp_path / "out" / "stress.png").read_bytes()[:4] == b"\x89PNG"
    models.write_text(yaml.safe_dump({"base": {}, "odd": {"side": "2x"}}))
    assert main(["stress", "--params", str(params), "--models", str(models), "--out", str(tmp_path / "o2")]) == 1
    assert "model 'odd': side: '2x' multiplies the base's side, which is not a number" in capsys.readouterr().err


def test_a_schedule_the_other_market_cannot_execute_is_not_priced_exactly():
    """Caps below the schedule's first trade, or another number of periods: no exact (negative) regret."""
    caps = {**BASE, "trade_caps": [20_000.0] * 13}
    longer = {**BASE, "periods": 26}
    matrix = stress_matrix("OptimalExec-v0", {"free": BASE, "capped": caps, "longer": longer}, episodes=300)
    for market in ("capped", "longer"):
        cell = matrix["free"][market]
        assert not cell.exact or cell.regret_pct is None
        if cell.regret_pct is not None:
            assert cell.regret_pct >= -cell.half_width


EXACT_CASES = [  # env id, home market, other market, the regret there at least, tolerance at home
    pytest.param("MarketMaking-v0", {"steps": 50}, {"steps": 50, "arrival_rate": 70.0}, 0.05, 1e-9, id="quotes"),
    pytest.param("LimitOrMarket-v0", {}, {"drift": 0.3}, 1.0, 1e-9, id="limit_or_market", marks=pytest.mark.slow),
    pytest.param("TwapVwapSwitch-v0", {}, {"volatility": 150.0}, 1.0, 1e-9, id="pace", marks=pytest.mark.slow),
    pytest.param("PortfolioExec-v0", {}, {"risk_aversion": 1.5e-6}, 1.0, 1e-6, id="book", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("env_id, home, other, least, tolerance", EXACT_CASES)
def test_a_policy_is_priced_exactly_in_another_market(env_id, home, other, least, tolerance):
    """A market maker's quote table, a child order's actions, a pace policy (backward induction over the other
    market's states) or a book's schedule (closed form): 0 at home, and inside the interval of 20,000 paired
    episodes in the other market."""
    matrix = stress_matrix(env_id, {"home": home, "other": other})
    assert matrix["home"]["home"].exact and matrix["home"]["home"].regret_pct == pytest.approx(0.0, abs=tolerance)
    cell = matrix["home"]["other"]
    assert cell.exact and cell.regret_pct > least
    policy, optimum = execgym.make_oracle(env_id, **home).policy, execgym.make_oracle(env_id, **other)
    result = execgym.score(policy, env_id, episodes=20_000, oracle=optimum, **other)
    assert abs(result.regret_pct.mean - cell.regret_pct) < 4 * result.regret_pct.half_width / 1.96 + tolerance
