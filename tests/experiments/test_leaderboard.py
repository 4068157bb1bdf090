"""execgym leaderboard: the committed configs it runs, and the table and plots it writes from trials and baselines."""

import json

import pytest
import yaml

from execgym.experiments import leaderboard, leaderboard_markets
from execgym.experiments.cli import main
from execgym.experiments.config import parse_config

TINY = {"env": {"id": "LimitOrMarket-v0", "params": {"lots": 4, "deadline": 3}},
        "agent": {"algo": "qlearning", "num_envs": 16},
        "training": {"total_steps": 3_000, "eval_every": 1_500, "eval_episodes": 200},
        "seeds": [0], "output": "runs/unused"}


def test_every_committed_config_is_offered_and_unknown_names_are_listed():
    configs = leaderboard.benchmark_configs()
    assert {"ppo_optimal_exec", "trpo_market_making", "qlearning_twap_vwap", "maskable_ppo_basket_sequence"} <= set(configs)
    assert {config.agent.algo for config in configs.values()} == {"ppo", "trpo", "qlearning", "maskable_ppo"}
    with pytest.raises(ValueError, match=r"unknown config\(s\) \['nope'\]; choose from"):
        leaderboard.benchmark_configs(["nope"])


def test_an_agent_of_one_seed_shows_no_interval_and_no_nan(tmp_path):
    config = parse_config(TINY)
    result = {"env_id": "LimitOrMarket-v0", "algo": "qlearning", "seed": 0, "steps": 3_000, "wall_seconds": 2.0,
              "final": {"regret_pct": 4.5}, "curve": [{"steps": 1_500, "regret_pct": 9.0},
                                                      {"steps": 3_000, "regret_pct": 4.5}]}
    markets = {leaderboard.market_key(config): {
        "configs": {"qlearning_tiny": (config, {"default": [result]})},
        "baselines": {"always_market": {"regret_pct": 12.0, "regret_pct_ci95": 0.5}}}}
    text = leaderboard.leaderboard_text(markets, (0,), [], tmp_path)
    assert "4.50 (one seed: no interval) (1 seeds; IQM 4.50 [4.50, 4.50])" in text
    assert "always_market: 12.00 ± 0.50" in text and "nan" not in text


def test_agents_on_markets_get_a_page_of_their_own_from_records_kept_per_config(tmp_path):
    config = parse_config({"env": {"id": "OptimalExec-v0", "markets": "train"},
                           "agent": {"algo": "ppo", "num_envs": 8}, "seeds": [0, 1], "output": "runs/unused",
                           "training": {"total_steps": 416, "eval_every": 208, "eval_markets": ["test", "ood"]}})
    assert leaderboard.market_key(config) == ("OptimalExec-v0", "markets=train")

    def result(seed, test, ood, algo="ppo"):
        sets = {name: {"regret_pct": value, "iqm_pct": value / 2, "worst_decile_pct": 4 * value, "markets": 256}
                for name, value in (("test", test), ("ood", ood))}
        return {"env_id": "OptimalExec-v0", "algo": algo, "seed": seed, "steps": 416, "wall_seconds": 120.0,
                "final": {"regret_pct": test, **sets}, "curve": [{"steps": 416, "regret_pct": test}]}

    baselines = {"median_oracle": {split: {"regret_pct": 25.0, "regret_pct_ci95": 7.0, "iqm_pct": 3.0,
                                           "worst_decile_pct": 170.0} for split in ("test", "ood")}}
    compute = lambda wall: leaderboard.compute_lines(wall, [])   # noqa: E731
    leaderboard_markets.save_records(tmp_path, "ppo_markets", "OptimalExec-v0", "markets=train", "ppo",
                                     [result(1, 4.0, 8.0), result(0, 2.0, 6.0)], baselines)
    leaderboard_markets.write_page(tmp_path, 256, compute)
    # a later run of another config keeps the first one's rows
    leaderboard_markets.save_records(tmp_path, "trpo_markets", "OptimalExec-v0", "markets=train", "trpo",
                                     [result(0, 9.0, 9.5, "trpo")], baselines)
    text = leaderboard_markets.write_page(tmp_path, 256, compute)
    assert text == (tmp_path / "leaderboard_markets.md").read_text()
    assert text.startswith("# execgym leaderboard: markets") and "| [OptimalExec-v0]" not in text
    assert ("| OptimalExec-v0 | markets=train | PPO (2 seeds) | test | 3.00 ± 12.71 | 1.50 | 12.00 | 416 steps, 2 min "
            "per seed |") in text
    assert "| OptimalExec-v0 | markets=train | PPO (2 seeds) | ood | 7.00 ± 12.71 | 3.50 | 28.00 |" in text
    assert "| OptimalExec-v0 | markets=train | TRPO (1 seeds) | test | 9.00 (one seed: no interval) |" in text
    assert "| OptimalExec-v0 | markets=train | median_oracle | ood | 25.00 ± 7.00 | 3.00 | 170.00 | – |" in text
    assert text.count("median_oracle | ood") == 1                                  # one family, one baselines record
    assert "0.10 CPU-hours" in text                                               # 3 trials of 120 s
    record = json.loads((tmp_path / "leaderboard" / "markets" / "ppo_markets.json").read_text())
    assert [run["seed"] for run in record["runs"]] == [0, 1] and "curve" not in record["runs"][0]
    assert (tmp_path / "leaderboard" / "markets" / "baselines" / "OptimalExec-v0_markets-train.json").exists()
    assert "[leaderboard_markets.md](leaderboard_markets.md)" in leaderboard.leaderboard_text({}, (0,), [], tmp_path)


pytest.importorskip("ray")


@pytest.mark.slow
def test_leaderboard_trains_scores_the_baselines_and_writes_the_table_and_plots(tmp_path, monkeypatch):
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "qlearning_tiny.yaml").write_text(yaml.safe_dump(TINY))
    monkeypatch.setattr(leaderboard, "CONFIGS", configs)
    monkeypatch.setattr(leaderboard, "BASELINE_EPISODES", 500)
    code = main(["leaderboard", "--seeds", "0-1", "--cpus", "2", "--output", str(tmp_path / "runs"),
                 "--docs", str(tmp_path / "docs")])
    assert code == 0
    text = (tmp_path / "docs" / "leaderboard.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| [LimitOrMarket-v0]"))
    assert "deadline=3, lots=4" in row and "(2 seeds; IQM" in row and row.count("–") == 2   # no PPO, no TRPO
    for baseline in ("always_market", "touch_then_market", "depth_4"):
        assert f"| LimitOrMarket-v0 | deadline=3, lots=4 | {baseline} |" in text
    assert "CPU-hours" in text
    plots = list((tmp_path / "docs" / "leaderboard").glob("*.png"))
    assert len(plots) == 1 and plots[0].read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "runs" / "qlearning_tiny" / "summary.csv").exists()
