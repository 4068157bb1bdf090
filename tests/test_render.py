"""Rendering of every registered env: render modes, frames, texts, vector envs and the standard clients
(stable-baselines3's make_vec_env and VecVideoRecorder, Gymnasium's RecordVideo)."""

import copy
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import RecordVideo
from stable_baselines3.common.env_util import make_vec_env

import execgym
from execgym.problems.basket_sequence.env import order_costs
from execgym.problems.limit_or_market.oracle import expected_lots_left
from execgym.problems.optimal_exec.env import OptimalExecEnv, OptimalExecVectorEnv
from execgym.rendering import FRAME_HEIGHT, FRAME_WIDTH, RENDER_MODES, round_step, view_limits

IDS = sorted(execgym.PROBLEMS)
ONE_ID_PER_ENV = sorted({spec.env_class: env_id for env_id, spec in reversed(execgym.PROBLEMS.items())}.values())
"""The OptimalExec variants share OptimalExec-v0's env classes."""
AGENT = np.array([31, 119, 180], dtype=np.uint8)
"""Colour C0, the agent's lines."""


def allowed_action(env, info):
    """A random action the env accepts (a trade not yet done on BasketSequence)."""
    mask = info.get("action_mask")
    return env.action_space.sample() if mask is None else env.action_space.sample(mask=mask.astype(np.int8))


def agent_pixels(frame: np.ndarray) -> int:
    return int((frame == AGENT).all(axis=-1).sum())


@pytest.mark.parametrize("env_id", IDS)
def test_frames_draw_the_growing_path_at_one_size(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    env.action_space.seed(0)
    _, info = env.reset(seed=0)
    frames = [env.render()]
    for _ in range(3):
        _, _, _, _, info = env.step(allowed_action(env, info))
        frames.append(env.render())
    for frame in frames:
        assert frame.dtype == np.uint8 and frame.shape == (FRAME_HEIGHT, FRAME_WIDTH, 3)
    drawn = [agent_pixels(frame) for frame in frames]
    assert all(later > earlier for earlier, later in zip(drawn, drawn[1:])), drawn
    assert all((a != b).any() for a, b in zip(frames, frames[1:]))


@pytest.mark.parametrize("env_id", IDS)
def test_ansi_is_a_short_text_of_the_current_step(env_id):
    env = gym.make(env_id, render_mode="ansi")
    env.action_space.seed(0)
    _, info = env.reset(seed=0)
    _, reward, _, _, info = env.step(allowed_action(env, info))
    text = env.render()
    assert isinstance(text, str) and "step 1/" in text and f"last reward {reward:+.4g}" in text
    assert len(text.splitlines()) <= 3


@pytest.mark.parametrize("env_id", IDS)
def test_render_mode_is_checked_and_declared_and_is_not_a_parameter(env_id):
    with pytest.raises(ValueError, match="render_mode must be one of 'rgb_array', 'ansi'; got 'depth_array'"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # gym.make warns about a mode the metadata does not list
            gym.make(env_id, render_mode="depth_array")
    spec = execgym.PROBLEMS[env_id]
    for cls in (spec.env_class, spec.vector_env_class):
        assert cls.metadata["render_modes"] == list(RENDER_MODES) and cls.metadata["render_fps"] > 0
    with pytest.raises(ValueError, match="'rgb_array', 'ansi'; got 'human'"):
        spec.env_class(render_mode="human")
    with pytest.raises(ValueError, match="'rgb_array', 'ansi'; got 'rgb_array_list'"):
        spec.vector_env_class(num_envs=2, render_mode="rgb_array_list")
    rendering = gym.make(env_id, render_mode="ansi").unwrapped
    assert rendering.params == gym.make(env_id).unwrapped.params
    assert not hasattr(rendering.params, "render_mode")


@pytest.mark.parametrize("env_id", ONE_ID_PER_ENV)
def test_gymnasium_env_checker_passes_its_render_checks(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # its remarks on unbounded Box observations
        check_env(gym.make(env_id, render_mode="rgb_array").unwrapped)


@pytest.mark.parametrize("env_id", IDS)
def test_without_a_render_mode_render_warns_returns_none_and_no_history_is_kept(env_id):
    env = gym.make(env_id)
    assert env.render_mode is None
    _, info = env.reset(seed=0)
    env.step(allowed_action(env, info))
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None
    assert env.unwrapped._trace is None
    venv = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    venv.reset(seed=0)
    assert venv.render_mode is None and venv.unwrapped._traces is None


@pytest.mark.parametrize("env_id", IDS)
def test_sb3_make_vec_env_builds_and_steps(env_id):
    venv = make_vec_env(env_id, n_envs=2, seed=0)
    venv.reset()
    if env_id == "BasketSequence-v0":
        actions = np.array([np.flatnonzero(mask)[0] for mask in venv.env_method("action_masks")])
    else:
        actions = np.array([venv.action_space.sample() for _ in range(2)])
    _, rewards, _, _ = venv.step(actions)
    assert np.isfinite(rewards).all()
    assert venv.render_mode == "rgb_array"      # SB3 makes its envs with render_mode="rgb_array"
    assert [image.shape for image in venv.get_images()] == [(FRAME_HEIGHT, FRAME_WIDTH, 3)] * 2


@pytest.mark.parametrize("env_id, kwargs", [
    ("OptimalExec-v0", {"periods": 4}), ("PortfolioExec-v0", {"periods": 4}), ("BasketSequence-v0", {}),
    ("MarketMaking-v0", {"steps": 5}), ("TwapVwapSwitch-v0", {}), ("LimitOrMarket-v0", {"deadline": 4})])
def test_each_vector_slot_renders_the_scalar_env_of_its_seed_across_autoresets(env_id, kwargs):
    spec = execgym.PROBLEMS[env_id]
    venv = spec.vector_env_class(num_envs=2, render_mode="ansi", **kwargs)
    scalar = spec.env_class(render_mode="ansi", **kwargs)
    policy = spec.oracle_factory(venv.params).policy
    obs, _ = venv.reset(seed=3)
    single, _ = scalar.reset(seed=4)
    for _ in range(spec.vector_env_class.problem.sketch.horizon(venv.params) + 2):
        obs, _, _, _, _ = venv.step(policy(obs))
        single, _, done, _, _ = scalar.step(policy(single[None])[0])
        if done:
            single, _ = scalar.reset()
        texts = venv.render()
        assert len(texts) == 2 and texts[1] == scalar.render()


def test_vector_frames_are_the_scalar_frames_of_each_slot():
    venv = OptimalExecVectorEnv(num_envs=2, periods=3, render_mode="rgb_array")
    scalar = OptimalExecEnv(periods=3, render_mode="rgb_array")
    venv.reset(seed=10)
    scalar.reset(seed=11)
    for action in (0.3, -0.5, 0.9, 0.0):
        venv.step(np.full((2, 1), action, dtype=np.float32))
        if scalar.step(np.array([action], dtype=np.float32))[2]:
            scalar.reset()
        frames = venv.render()
        assert len(frames) == 2
        np.testing.assert_array_equal(frames[1], scalar.render())


def test_record_video_writes_an_mp4_of_every_frame(tmp_path):
    imageio = pytest.importorskip("imageio.v2")
    env = RecordVideo(gym.make("OptimalExec-v0", render_mode="rgb_array", periods=5), str(tmp_path / "videos"),
                      episode_trigger=lambda episode: True)
    env.reset(seed=0)
    done = False
    while not done:
        _, _, done, _, _ = env.step(np.zeros(1, dtype=np.float32))
    env.close()
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 1
    with imageio.get_reader(videos[0]) as reader:
        assert reader.count_frames() == 6      # the reset and five steps
        assert reader.get_data(0).shape == (FRAME_HEIGHT, FRAME_WIDTH, 3)


def test_params_without_an_exact_oracle_render_without_its_lines():
    kwargs = dict(trade_caps=(3e5,) * 13, smoothness=1e-6, risk_aversion=1e-6)
    with pytest.raises(ValueError, match="no exact oracle"):
        execgym.make_oracle("OptimalExec-v0", **kwargs)
    env = gym.make("OptimalExec-v0", render_mode="ansi", **kwargs)
    env.reset(seed=0)
    assert "no exact oracle" in env.render()
    frames = OptimalExecEnv(render_mode="rgb_array", **kwargs)
    frames.reset(seed=0)
    assert frames.render().shape == (FRAME_HEIGHT, FRAME_WIDTH, 3)


def test_render_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        OptimalExecEnv(render_mode="ansi").render()
    with pytest.raises(RuntimeError, match="reset"):
        OptimalExecVectorEnv(num_envs=2, render_mode="ansi").render()


def test_the_basket_reference_costs_add_up_to_the_held_karp_optimum():
    oracle = execgym.make_oracle("BasketSequence-v0")
    params = execgym.PROBLEMS["BasketSequence-v0"].params()
    costs = order_costs(params, oracle.order)
    assert costs.shape == (params.trades,)
    assert costs.sum() == pytest.approx(-oracle.expected_return, rel=1e-12)


def test_expected_lots_left_under_the_oracle_matches_simulation():
    params = execgym.PROBLEMS["LimitOrMarket-v0"].params()
    oracle = execgym.make_oracle("LimitOrMarket-v0")
    expected = expected_lots_left(params, oracle.solution.policy)
    assert expected.shape == (params.deadline + 1,) and expected[0] == params.lots and expected[-1] == 0.0
    episodes = 4000
    venv = execgym.PROBLEMS["LimitOrMarket-v0"].vector_env_class(num_envs=episodes)
    obs, info = venv.reset(seed=0)
    lots = [info["lots_left"]]
    running = np.ones(episodes, dtype=bool)
    for _ in range(params.deadline):
        obs, _, done, _, info = venv.step(oracle.policy(obs))
        step_lots = np.where(done, 0.0, info["lots_left"])
        lots.append(np.where(running, step_lots, 0.0))
        running &= ~done
    lots = np.array(lots)
    error = lots.std(axis=1) / np.sqrt(episodes)
    assert np.all(np.abs(lots.mean(axis=1) - expected) <= 4.0 * error + 1e-12)


@pytest.mark.parametrize("values, span, step", [([0.0, 1.0], 1.0, 0.2), ([99.2, 100.9], 1.7, 0.5),
                                               ([5.0], 0.005, 0.001), ([-3e6, 0.0], 3e6, 5e5)])
def test_view_limits_hold_the_values_with_a_margin_on_a_round_step(values, span, step):
    low, high = view_limits([np.array(values), np.array([np.nan])])
    assert low <= min(values) - 0.04 * span and high >= max(values) + 0.04 * span
    assert low / step == pytest.approx(round(low / step)) and high / step == pytest.approx(round(high / step))
    assert high - low < 1.08 * span + 2 * step


def test_round_step_is_the_next_1_2_5():
    assert [round_step(x) for x in (0.7, 1.0, 1.3, 3.0, 7.0, 0.012)] == [1.0, 1.0, 2.0, 5.0, 10.0, 0.02]


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda env: pickle.loads(pickle.dumps(env))])
def test_rendering_envs_pickle_and_copy_with_their_episode(clone):
    action = np.array([0.2], dtype=np.float32)
    for env in (OptimalExecEnv(periods=4, render_mode="ansi"),
                OptimalExecVectorEnv(num_envs=2, periods=4, render_mode="rgb_array")):
        env.reset(seed=0)
        env.step(action if isinstance(env, OptimalExecEnv) else np.stack([action] * 2))
        env.render()
        twin = clone(env)
        assert twin.render_mode == env.render_mode
        for each in (env, twin):
            each.step(action if isinstance(each, OptimalExecEnv) else np.stack([action] * 2))
        np.testing.assert_array_equal(np.asarray(twin.render()), np.asarray(env.render()))


@pytest.mark.parametrize("env_id", list(execgym.PROBLEMS))
@pytest.mark.parametrize("clone", [copy.deepcopy, lambda env: pickle.loads(pickle.dumps(env))])
def test_scalar_envs_pickle_and_copy_mid_episode_and_play_on_alike(env_id, clone):
    env = gym.make(env_id).unwrapped
    env.reset(seed=3)
    env.action_space.seed(0)
    actions = (list(range(3)) if env_id == "BasketSequence-v0"      # trades not done yet; a passive limit order
               else [0] * 3 if isinstance(env.action_space, gym.spaces.Discrete)
               else [env.action_space.sample() for _ in range(3)])
    env.step(actions[0])
    twin = clone(env)
    for action in actions[1:]:
        expected, twin_step = env.step(action), twin.step(action)
        np.testing.assert_array_equal(twin_step[0], expected[0])
        assert twin_step[1:4] == expected[1:4]
        if expected[2]:
            break
