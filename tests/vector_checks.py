"""Shared check for natively batched envs: step for step equal to Gymnasium's SyncVectorEnv, infos included."""

import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv


def assert_equals_sync_vector_env(native, make_scalar, steps, choose_actions, seed=5):
    """Run ``native`` and a SAME_STEP ``SyncVectorEnv`` of ``make_scalar()`` envs (or of ``make_scalar[i]()`` in
    slot i, given a list) side by side for ``steps`` steps from ``seed``; ``choose_actions(info)`` picks each
    batch of actions. Everything must be equal."""
    makers = make_scalar if isinstance(make_scalar, list) else [make_scalar] * native.num_envs
    sync = SyncVectorEnv(makers, autoreset_mode=AutoresetMode.SAME_STEP)
    a, ia = native.reset(seed=seed)
    b, ib = sync.reset(seed=seed)
    np.testing.assert_array_equal(a, b)
    assert ia.keys() == ib.keys()
    for _ in range(steps):
        actions = choose_actions(ia)
        a, ra, ta, _, ia = native.step(actions)
        b, rb, tb, _, ib = sync.step(actions)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ra, rb)
        np.testing.assert_array_equal(ta, tb)
        assert ia.keys() == ib.keys()
        for key in ia:
            if key == "final_obs":
                for i in np.flatnonzero(ib["_final_obs"]):
                    np.testing.assert_array_equal(ia[key][i], ib[key][i])
            elif key == "final_info":
                assert ia[key].keys() == ib[key].keys()
                for k in ia[key]:
                    np.testing.assert_array_equal(ia[key][k], ib[key][k], err_msg=k)
            else:
                np.testing.assert_array_equal(ia[key], ib[key], err_msg=key)
