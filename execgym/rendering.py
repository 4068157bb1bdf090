"""Rendering of every env: the episode so far, drawn beside the oracle's plan, or as one line of text.

``render_mode="rgb_array"``: ``render()`` returns a (480, 640, 3) uint8 picture
of the episode so far, drawn by matplotlib's Agg backend (no display) on one
figure the env reuses, the same size every frame. ``render_mode="ansi"``: a
short text of the current state (step, the problem's readouts, last reward).
``render_mode=None`` (default): ``render()`` warns and returns None, as
Gymnasium's envs do, and the env keeps no history.

Each problem describes what to draw in a :class:`Sketch` (its panels, which
series of the infos they plot, labels and units, and what they need from the
oracle); :class:`Renderer` draws any sketch. The oracle is built once per env,
at its first render, from :mod:`execgym.registry`; parameters without an exact
oracle are drawn without its lines.

The history is a :class:`Trace`: what reset and each step returned (the
observations, infos, actions and rewards of the running episode). A vector
env keeps one per slot (:class:`SlotTraces`) and renders a tuple with one
frame (or text) per slot, as ``SyncVectorEnv.render`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np

from execgym.validation import require_choice

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RENDER_MODES = ("rgb_array", "ansi")
RENDER_FPS = 4
"""Frames per second a video of the frames plays at (one frame per step)."""
FRAME_WIDTH, FRAME_HEIGHT = 640, 480
"""Pixels of every frame (multiples of 16, as video encoders want)."""
DPI = 100
MARKERS_UP_TO = 60
"""Lines of at most this many points mark each point."""


def checked_render_mode(render_mode: str | None) -> str | None:
    """``render_mode``: None or one of :data:`RENDER_MODES` (ValueError naming them otherwise)."""
    return None if render_mode is None else require_choice("render_mode", render_mode, RENDER_MODES)


def warn_unset() -> None:
    """What ``render()`` does without a render mode, as Gymnasium's envs do: warn, and return None."""
    gym.logger.warn(f"render() was called without a render_mode: pass render_mode= one of {list(RENDER_MODES)} "
                    "when making the env")


def metadata(**extra: Any) -> dict[str, Any]:
    """An env class's ``metadata``: its render modes and frame rate, and ``extra`` entries."""
    return {"render_modes": list(RENDER_MODES), "render_fps": RENDER_FPS, **extra}


@dataclass
class Trace:
    """One episode so far, as the env returned it: the reset's observation and info, then each step's
    action, observation, reward and info (``observations`` and ``infos`` have one more entry than
    ``actions`` and ``rewards``)."""

    observations: list = field(default_factory=list)
    infos: list = field(default_factory=list)
    actions: list = field(default_factory=list)
    rewards: list = field(default_factory=list)

    @classmethod
    def started(cls, observation, info: dict) -> "Trace":
        """The trace of an episode just reset."""
        return cls([observation], [info])

    def record(self, action, observation, reward: float, info: dict) -> None:
        """Add one step (the action is copied: callers may reuse their array)."""
        self.actions.append(np.array(action))
        self.observations.append(observation)
        self.rewards.append(float(reward))
        self.infos.append(info)

    @property
    def elapsed(self) -> int:
        """Steps taken in the episode."""
        return len(self.actions)

    def series(self, key: str) -> np.ndarray:
        """``info[key]`` after the reset and after each step, float64 (elapsed + 1, *shape)."""
        return np.array([info[key] for info in self.infos], dtype=np.float64)


def _row(info: dict[str, np.ndarray], slot: int) -> dict[str, Any]:
    return {key: value[slot] for key, value in info.items()}


def _copied(info: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: np.array(value) for key, value in info.items()}


class SlotTraces:
    """The running episode of every slot of a vector env, kept as the batch arrays of the steps since the
    oldest one started (older steps are dropped); :meth:`trace` is one slot's as a :class:`Trace`."""

    def __init__(self, observations: np.ndarray, info: dict[str, np.ndarray]) -> None:
        self._starts: list[tuple[np.ndarray, dict]] = [(np.array(observations), _copied(info))]
        """Per entry: the observations and infos a slot restarted with there."""
        self._steps: list[tuple | None] = [None]
        """Per entry: the step that led there (actions, observations, rewards, infos)."""
        self._first = np.zeros(observations.shape[0], dtype=np.int64)
        """Entry (counted from the first ever) where each slot's episode started."""
        self._dropped = 0

    def record(self, actions, observations: np.ndarray, rewards: np.ndarray, info: dict[str, np.ndarray],
               done: np.ndarray, restarts: np.ndarray, restart_info: dict[str, np.ndarray]) -> None:
        """One vector step: every slot's action, observation, reward and info of the step (before any
        autoreset), the slots ``done``, and the observations and reset infos the done slots restarted with."""
        self._steps.append((np.array(actions), np.array(observations), np.array(rewards), _copied(info)))
        self._starts.append((np.array(restarts), _copied(restart_info)))
        self._first[done] = self._dropped + len(self._steps) - 1
        unused = int(self._first.min()) - self._dropped
        if unused > 0:
            del self._steps[:unused], self._starts[:unused]
            self._dropped += unused

    def trace(self, slot: int) -> Trace:
        """Slot ``slot``'s running episode."""
        start = int(self._first[slot]) - self._dropped
        observations, info = self._starts[start]
        trace = Trace.started(observations[slot], _row(info, slot))
        for actions, observations, rewards, info in self._steps[start + 1:]:
            trace.record(actions[slot], observations[slot], rewards[slot], _row(info, slot))
        return trace


@dataclass(frozen=True)
class Line:
    """One line of a panel: ``y`` at ``x`` (default 0, 1, ...), colour ``C{color}``, dashed for the
    oracle's, held between points (``steps``) for quantities that change only at steps. An empty label
    leaves the line out of the legend."""

    label: str
    y: np.ndarray
    x: np.ndarray | None = None
    color: int = 0
    oracle: bool = False
    steps: bool = False


@dataclass(frozen=True)
class Scene:
    """What a sketch's functions read: the params, the episode so far and the reference (None when the
    params have no exact oracle)."""

    params: Any
    trace: Trace
    reference: Any


@dataclass(frozen=True)
class Panel:
    """One plot of a frame: its y label (with units), its lines and where its legend goes (a matplotlib
    ``loc``: a corner the lines usually leave free)."""

    ylabel: str
    lines: Callable[[Scene], list[Line]]
    legend: str = "upper right"


@dataclass(frozen=True)
class Readout:
    """One quantity of the text render: ``label`` and ``info[key]`` formatted by ``fmt`` (units included);
    arrays are formatted entry by entry."""

    label: str
    key: str
    fmt: str


@dataclass(frozen=True)
class Sketch:
    """What a problem's frames and texts show."""

    title: str
    xlabel: str
    horizon: Callable[[Any], int]
    """params -> the steps of an episode (the x axis runs from 0 to it)."""
    panels: tuple[Panel, ...]
    readouts: tuple[Readout, ...]
    reward_units: str
    reference: Callable[[Any, Any], Any]
    """(params, oracle) -> what the oracle's lines need (its schedule, order, policy ...), built once."""
    caption: Callable[[Scene], str] | None = None
    """scene -> one more line of text under the title (and in the text render), or None."""


class PicklesWithoutRenderer:
    """Base of the envs that own a :class:`Renderer` (``_renderer``, None without a render mode) or one per
    market (``_renderers``, a dict made when first drawn): pickles and deep copies leave them out (a figure
    does not pickle, nor do the lambdas of the problem's sketch) and build a fresh one from the class's
    ``problem`` (oracle and figure built again at the first render)."""

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if "_renderer" in state:
            state["_renderer"] = None
        if "_renderers" in state:
            state["_renderers"] = {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.render_mode is not None and "_renderer" in state:
            self._renderer = Renderer(self.problem.sketch, self.params, self.render_mode)


def oracle_of(params):
    """The oracle of the problem whose params class ``params`` is (:mod:`execgym.registry`); ValueError where it
    refuses them or its estimated build time exceeds :data:`execgym.scoring.MAX_ORACLE_SECONDS`."""
    from execgym.registry import PROBLEMS   # the registry imports every env, and every env this module
    from execgym.scoring import MAX_ORACLE_SECONDS
    problem = next(p for p in PROBLEMS.values() if p.params_class is type(params))
    cost = problem.oracle_cost(params)
    if cost.refusal is not None or cost.seconds > MAX_ORACLE_SECONDS:
        raise ValueError(f"building it would take {cost}")
    return problem.oracle_factory(params)


def _formatted(fmt: str, value) -> str:
    if np.ndim(value) == 0:
        return fmt.format(float(value))
    return "[" + ", ".join(fmt.format(float(v)) for v in np.ravel(value)) + "]"


class Renderer:
    """Draws one env's frames and texts from its :class:`Sketch`; builds the oracle's reference and the
    figure on first use and reuses them."""

    def __init__(self, sketch: Sketch, params, render_mode: str) -> None:
        self.sketch, self.params, self.render_mode = sketch, params, render_mode
        self._reference: tuple[Any, str] | None = None
        self._figure: Figure | None = None
        self._title = None
        self._artists: list[list] = []
        self._background = None
        self._limits: list[tuple[float, float]] = []

    def _scene(self, trace: Trace) -> tuple[Scene, str]:
        """The scene of ``trace``, and a note when the params have no exact oracle."""
        if self._reference is None:
            try:
                self._reference = (self.sketch.reference(self.params, oracle_of(self.params)), "")
            except ValueError as error:     # parameters without an exact oracle: drawn without its lines
                self._reference = (None, f"no exact oracle: {error}")
        reference, note = self._reference
        return Scene(self.params, trace, reference), note

    def _status(self, scene: Scene) -> str:
        trace, sketch = scene.trace, self.sketch
        total = sum(trace.rewards)
        last = f", last reward {trace.rewards[-1]:+.4g}" if trace.rewards else ""
        return (f"step {trace.elapsed}/{sketch.horizon(self.params)}: return {total:+.4g} {sketch.reward_units}"
                f"{last}")

    def render(self, trace: Trace) -> np.ndarray | str:
        """The render of ``trace`` in the render mode: :meth:`frame` or :meth:`text`."""
        return self.text(trace) if self.render_mode == "ansi" else self.frame(trace)

    def text(self, trace: Trace) -> str:
        """The ``"ansi"`` render: the status, the readouts of the last info and the caption."""
        scene, note = self._scene(trace)
        info = trace.infos[-1]
        readouts = " | ".join(f"{r.label} {_formatted(r.fmt, info[r.key])}" for r in self.sketch.readouts)
        lines = [f"{self.sketch.title} {self._status(scene)} | {readouts}"]
        if self.sketch.caption is not None:
            lines.append(self.sketch.caption(scene))
        return "\n".join(lines + ([note] if note else [])) + "\n"

    def frame(self, trace: Trace) -> np.ndarray:
        """The ``"rgb_array"`` render: (FRAME_HEIGHT, FRAME_WIDTH, 3) uint8.

        Only the lines, legends and title are drawn each frame, over a saved background of the axes that is
        drawn again only when the y limits (:func:`view_limits`) change."""
        scene, note = self._scene(trace)
        panels = [panel.lines(scene) for panel in self.sketch.panels]
        if self._figure is None:
            self._figure = self._new_figure()
        figure, canvas = self._figure, self._figure.canvas
        if [len(lines) for lines in panels] != [len(artists) for artists in self._artists]:
            self._artists = [self._new_lines(ax, lines, panel.legend)
                             for ax, lines, panel in zip(figure.axes, panels, self.sketch.panels)]
            self._background = None
        for lines, artists in zip(panels, self._artists):
            for line, artist in zip(lines, artists):
                artist.set_data(np.arange(len(line.y)) if line.x is None else line.x, line.y)
                artist.set_marker("." if len(line.y) <= MARKERS_UP_TO else "")
        limits = [view_limits([np.ravel(line.y) for line in lines]) for lines in panels]
        if self._background is None or limits != self._limits:
            for ax, (low, high) in zip(figure.axes, limits):
                ax.set_ylim(low, high)
            canvas.draw()    # all but the animated artists: lines, legends and title
            self._background, self._limits = canvas.copy_from_bbox(figure.bbox), limits
        else:
            canvas.restore_region(self._background)
        caption = self.sketch.caption(scene) if self.sketch.caption is not None else ""
        subtitle = "\n".join(text for text in (caption, note[:100]) if text)
        self._title.set_text(f"{self.sketch.title}: {self._status(scene)}" + (f"\n{subtitle}" if subtitle else ""))
        for ax, artists in zip(figure.axes, self._artists):
            for artist in artists + ([ax.get_legend()] if ax.get_legend() else []):
                ax.draw_artist(artist)
        figure.draw_artist(self._title)
        return np.asarray(canvas.buffer_rgba())[:, :, :3].copy()

    def _new_figure(self) -> Figure:
        from matplotlib.backends.backend_agg import FigureCanvasAgg   # only envs that draw load matplotlib
        from matplotlib.figure import Figure

        figure = Figure(figsize=(FRAME_WIDTH / DPI, FRAME_HEIGHT / DPI), dpi=DPI)
        FigureCanvasAgg(figure)
        figure.subplots_adjust(left=0.13, right=0.98, bottom=0.09, top=0.88, hspace=0.12)   # fixed: no layout pass
        axes = figure.subplots(len(self.sketch.panels), 1, sharex=True, squeeze=False)[:, 0]
        self._title = figure.text(0.5, 0.985, "", ha="center", va="top", fontsize=9, animated=True)
        for ax, panel in zip(axes, self.sketch.panels):
            ax.set_ylabel(panel.ylabel, fontsize=8)
            ax.yaxis.set_label_coords(-0.1, 0.5)     # fixed: not placed beside the tick labels each frame
            ax.set_xlim(0, self.sketch.horizon(self.params))
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        axes[-1].set_xlabel(self.sketch.xlabel, fontsize=8)
        return figure

    @staticmethod
    def _new_lines(ax, lines: list[Line], legend: str) -> list:
        for artist in list(ax.lines):
            artist.remove()
        artists = [ax.plot([], [], color=f"C{line.color}", linestyle="--" if line.oracle else "-",
                           drawstyle="steps-post" if line.steps else "default", markersize=4,
                           label=line.label or "_", animated=True)[0] for line in lines]
        if any(line.label for line in lines):
            ax.legend(loc=legend, fontsize=7).set_animated(True)
        return artists


def round_step(size: float) -> float:
    """The smallest of 1, 2, 5 × 10^k at least ``size`` (> 0)."""
    unit = 10.0 ** math.floor(math.log10(size))
    return next(unit * m for m in (1.0, 2.0, 5.0, 10.0) if unit * m >= size * (1.0 - 1e-12))


def view_limits(series: list[np.ndarray]) -> tuple[float, float]:
    """The y limits of a panel: the range of its finite values with a 4 % margin, widened out to multiples of
    a round step (:func:`round_step` of an eighth of the range), so that they change only now and then while a
    path grows; (0, 1) with no values."""
    values = np.concatenate(series) if series else np.zeros(0)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    span = max(high - low, 1e-3 * max(abs(low), abs(high)), 1e-9)
    step = round_step(span / 8.0)
    return math.floor((low - 0.04 * span) / step) * step, math.ceil((high + 0.04 * span) / step) * step
