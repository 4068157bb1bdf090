"""The ``info`` dict of a natively batched env in Gymnasium's SAME_STEP autoreset layout.

Gymnasium's vector info puts each entry beside a boolean mask ``_name`` of the
slots that set it. When slots finish in a step, ``SyncVectorEnv(...,
autoreset_mode=AutoresetMode.SAME_STEP)`` reports their last step's info under
``final_info`` (with ``final_obs``) and, under the top-level names, the info
of the reset that replaced them. :func:`same_step_info` builds exactly that
dict from whole-batch arrays, so that native vector envs can be tested equal
to SyncVectorEnv over scalar envs, infos included.
"""

from __future__ import annotations

import numpy as np


def with_masks(info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each entry beside a mask ``_name`` set for every slot."""
    out: dict[str, np.ndarray] = {}
    for name, value in info.items():
        out[name] = value
        out[f"_{name}"] = np.ones(value.shape[0], dtype=bool)
    return out


def _rows(mask: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``mask`` (n,) shaped to broadcast over the rows of ``like`` (n, ...)."""
    return mask.reshape(mask.shape + (1,) * (like.ndim - 1))


def same_step_info(step: dict[str, np.ndarray], done: np.ndarray, final_obs: np.ndarray,
                   reset: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The SAME_STEP info of one vector step.

    ``step``: every slot's info of the step just taken; ``done``: (n,) the slots whose episode ended;
    ``final_obs``: their last observations (rows of other slots are not read); ``reset``: every slot's
    reset info after the finished slots were restarted (rows of other slots are not read). Entries of
    ``step`` that a reset does not report are zero and unmasked in restarted slots, and absent when
    every slot restarted, as in SyncVectorEnv.
    """
    info = with_masks(step)
    if not done.any():
        return info
    info["final_obs"], info["_final_obs"] = final_obs, done.copy()
    info["final_info"] = {}
    for name, value in step.items():
        info["final_info"][name] = np.where(_rows(done, value), value, 0.0)
        info["final_info"][f"_{name}"] = done.copy()
    info["_final_info"] = done.copy()
    for name, value in reset.items():
        info[name] = np.where(_rows(done, value), value, info[name])
    for name in set(step) - set(reset):
        if done.all():
            del info[name], info[f"_{name}"]
        else:
            info[name] = np.where(_rows(done, info[name]), 0.0, info[name])
            info[f"_{name}"] = ~done
    return info


def step_values(info: dict, name: str, done: np.ndarray) -> np.ndarray:
    """Every slot's entry ``name`` of the step just taken, from a SAME_STEP info (:func:`same_step_info`): from
    ``final_info`` where the slot's episode ended (``done``), else from the info itself."""
    if not done.any():
        return info[name]
    final = info["final_info"][name]
    return final if done.all() else np.where(done, final, info[name])
