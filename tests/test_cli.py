"""The ``execgym`` command line: ``quickstart`` output files and numbers, ``list``, ``evaluate --reference``, argument
errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from execgym.experiments.cli import main
from execgym.experiments.quickstart import quickstart

POLICIES = ("oracle", "twap", "vwap", "pov", "front_loaded", "back_loaded")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EPISODES = 2000


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return quickstart(episodes=EPISODES, seed=0, out=tmp_path_factory.mktemp("quickstart"),
                      console=Console(file=io.StringIO(), width=120))


def summary_rows(text: str) -> dict[str, list[str]]:
    """Table rows of summary.md by policy name, cells stripped; header and rule excluded."""
    rows = [line.strip("|").split("|") for line in text.splitlines() if line.startswith("|")]
    return {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in rows[2:]}


def interval(cell: str) -> tuple[float, float]:
    mean, half_width = cell.split("±")
    return float(mean), float(half_width)


def test_quickstart_writes_table_and_figures(tmp_path, capsys):
    assert main(["quickstart", "--episodes", str(EPISODES), "--out", str(tmp_path)]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["frontier.png", "summary.md", "trajectories.png"]
    for name in ("trajectories.png", "frontier.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    printed = " ".join(capsys.readouterr().out.split())
    assert "oracle's exact cost 48.006 bps" in printed
    rows = summary_rows((tmp_path / "summary.md").read_text())
    assert tuple(rows) == POLICIES
    assert all(name in printed for name in POLICIES)
    assert rows["oracle"][1] == "0.00 ± 0.00"
    twap_regret, twap_half_width = interval(rows["twap"][1])
    assert twap_regret > twap_half_width > 0


def test_oracle_regret_is_exactly_zero(result):
    oracle = next(row for row in result.rows if row.name == "oracle")
    assert (oracle.regret.mean, oracle.regret.half_width) == (0.0, 0.0)
    assert abs(oracle.cost.mean - result.oracle_cost) < oracle.cost.half_width * 3


def test_baseline_regrets_match_their_exact_values(result):
    scale, lam = result.params.bps_per_currency, result.params.risk_aversion
    oracle_objective = result.points["oracle"].objective(lam)
    for row in result.rows[1:]:
        exact = (result.points[row.name].objective(lam) - oracle_objective) * scale
        assert row.regret.low > 0, row.name
        assert abs(row.regret.mean - exact) < 3 * row.regret.half_width, (row.name, row.regret, exact)


def test_baselines_lie_on_or_above_the_frontier(result):
    frontier, points = result.frontier, result.points
    lam = result.params.risk_aversion
    at_default = np.flatnonzero(frontier.risk_aversion == lam)[0]
    oracle = points["oracle"]
    assert frontier.expected_shortfall[at_default] == pytest.approx(oracle.expected_shortfall, rel=1e-9)
    assert frontier.variance[at_default] == pytest.approx(oracle.variance, rel=1e-9)
    frontier_objective = frontier.expected_shortfall + frontier.risk_aversion * frontier.variance
    for name in POLICIES[1:]:
        point = points[name]
        assert point.objective(lam) >= oracle.objective(lam), name
        objectives = np.array([point.objective(value) for value in frontier.risk_aversion])
        assert (objectives >= frontier_objective * (1 - 1e-12)).all(), name
    assert points["back_loaded"].objective(lam) > points["twap"].objective(lam) > oracle.objective(lam)


def test_frontier_trades_mean_for_variance(result):
    frontier = result.frontier
    assert np.all(np.diff(frontier.risk_aversion) > 0) and frontier.risk_aversion[0] == 0.0
    assert np.all(np.diff(frontier.expected_shortfall) > 0)
    assert np.all(np.diff(frontier.variance) < 0)
    assert frontier.risk_aversion[1] == pytest.approx(1e-9) and frontier.risk_aversion[-1] == pytest.approx(1e-5)


def test_list_prints_every_env(capsys):
    assert main(["list"]) == 0
    assert "OptimalExec-v0" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    ([], "required: COMMAND"),
    (["quickstart", "--episodes", "1"], "must be at least 2"),
    (["quickstart", "--seed", "x"], "expected an integer"),
    (["quickstart", "--bogus"], "unrecognized arguments"),
])
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_unwritable_output_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["quickstart", "--episodes", "2", "--out", str(blocker / "out")]) == 1
    assert capsys.readouterr().err.startswith("execgym quickstart: error: ")


def test_evaluate_against_a_baseline_where_the_oracle_would_take_too_long(capsys):
    market = ["--env", "TwapVwapSwitch-v0", "--param", "buckets=390", "--episodes", "50"]
    assert main(["evaluate", "--baseline", "vwap", *market, "--reference", "twap"]) == 0
    out = capsys.readouterr().out
    assert "twap − policy" in out and "no oracle: compared with twap as asked" in out and " years (" in out
    assert main(["evaluate", "--baseline", "vwap", *market]) == 1
    assert "has no oracle for these parameters: about " in capsys.readouterr().err
    assert main(["evaluate", "--oracle", "--episodes", "50", "--max-oracle-seconds", "1e-9"]) == 1
    assert "more than max_oracle_seconds = 1e-09" in capsys.readouterr().err
