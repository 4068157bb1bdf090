"""TensorBoard event files: writing scalars, reading them back, and cutting them at a step on resume.

A run resumed from the checkpoint at step C first drops every event logged
after C by the interrupted run (:func:`truncate_events`), so the curves
continue from C without a gap or a duplicate point.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.record_writer import RecordWriter
from torch.utils.tensorboard import SummaryWriter

from execgym.atomic import TEMPORARY_SUFFIX, write_atomically

EVENT_FILE_MARK = "tfevents"


class ScalarLog:
    """Scalars written to TensorBoard event files in ``log_dir``, flushed on demand."""

    def __init__(self, log_dir: Path) -> None:
        self.writer = SummaryWriter(log_dir=str(log_dir))

    def add(self, values: dict[str, float], step: int) -> None:
        """Record every ``tag: value`` of ``values`` at ``step``."""
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, global_step=step)

    def layout(self, layout: dict) -> None:
        """A custom-scalars layout (charts combining several tags, e.g. a value with its interval)."""
        self.writer.add_custom_scalars(layout)

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def event_files(log_dir: Path) -> list[Path]:
    """Every event file under ``log_dir`` (any depth), not the temporaries of interrupted rewrites."""
    return sorted(path for path in Path(log_dir).rglob(f"*{EVENT_FILE_MARK}*")
                  if path.is_file() and not (path.name.startswith(".") and path.name.endswith(TEMPORARY_SUFFIX)))


def truncate_events(log_dir: Path, last_step: int) -> int:
    """Drop the events logged at steps after ``last_step`` from every event file; returns how many.

    Each file is rewritten atomically (:func:`execgym.experiments.files.write_atomically`), so an
    interruption leaves either the old file or the new one.
    """
    dropped = 0
    for path in event_files(log_dir):
        records = list(RawEventFileLoader(str(path)).Load())
        kept = [record for record in records if event_pb2.Event.FromString(record).step <= last_step]
        if len(kept) == len(records):
            continue
        dropped += len(records) - len(kept)
        write_atomically(path, partial(_write_records, kept))
    return dropped


def _write_records(records: list[bytes], file) -> None:
    writer = RecordWriter(file)
    for record in records:
        writer.write(record)
    writer.flush()


def read_scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar under ``log_dir`` (its event files, any depth) as tag -> [(step, value)], by step."""
    scalars: dict[str, list[tuple[int, float]]] = {}
    for folder in sorted({path.parent for path in event_files(log_dir)}):
        accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
        accumulator.Reload()
        for tag in accumulator.Tags()["scalars"]:
            scalars.setdefault(tag, []).extend((event.step, event.value) for event in accumulator.Scalars(tag))
    return {tag: sorted(points) for tag, points in scalars.items()}
