"""The A/B view's messages: the experiment's progress line and table of latest numbers, and both runs' new
rows for the overlaid charts. Pure functions of the runner's progress and its two Snapshots (rows held in
memory by the runner, never re-read from metrics.csv); no Streamlit."""

from __future__ import annotations

import math
from typing import Any

from dashboard.live.messages import chart_message
from gan_core.control.ab import ABProgress, describe_value
from gan_core.control.snapshot import Snapshot

SOURCES = ("A", "B")
SUMMARY_METRICS = ("d_loss", "g_loss", "d_real", "d_fake", "grad_norm_g")


def run_labels(progress: ABProgress) -> tuple[str, str]:
    """'A: loss.loss=minimax' and 'B: loss.loss=non_saturating', as the runs' display names."""
    return tuple(f"{SOURCES[side]}: {progress.field}={describe_value(progress.values[side])}" for side in range(2))


def number_text(value: Any) -> str:
    """A number as the summary shows it ('-' when there is none): whole numbers without a decimal point."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "-"
    if not math.isfinite(number):
        return "-"
    return str(int(number)) if number.is_integer() and abs(number) < 1e12 else f"{number:.4g}"


def summary_rows(progress: ABProgress, quality: tuple[tuple[dict, ...], tuple[dict, ...]]) -> list[list[str]]:
    """[name, A, B] rows: status, steps, each run's last metrics row and its latest quality row."""
    rows = [["status", *(progress.ended[side] or progress.status for side in range(2))],
            ["step", *(str(progress.step[side]) for side in range(2))]]
    for name in SUMMARY_METRICS:
        rows.append([name, *(number_text((progress.last_rows[side] or {}).get(name)) for side in range(2))])
    latest = [rows_[-1] if rows_ else None for rows_ in quality]
    if any(latest):
        rows.append(["quality at step", *(number_text(row.get("step")) if row else "-" for row in latest)])
        names = dict.fromkeys(name for row in latest if row for name in row if name not in ("step", "eval_s"))
        for name in names:
            rows.append([name, *(number_text(row.get(name)) if row else "-" for row in latest)])
    return rows


def ab_status_message(progress: ABProgress, snapshots: tuple[Snapshot | None, Snapshot | None]) -> dict[str, Any]:
    """The progress line and bar, the latest numbers of both runs, and the phase (a change reruns the page)."""
    labels = run_labels(progress)
    done = sum(progress.step)
    text = (f"{progress.status}: A {progress.step[0]} and B {progress.step[1]} of {progress.steps} steps · "
            f"{progress.field}: A {describe_value(progress.values[0])}, B {describe_value(progress.values[1])}")
    quality = tuple(snapshot.quality if snapshot is not None else () for snapshot in snapshots)
    return {"progress": {"fraction": min(1.0, done / max(1, 2 * progress.steps)), "text": text},
            "table": {"columns": ["latest", *labels], "rows": summary_rows(progress, quality)},
            "phase": [progress.status]}


def ab_charts_message(snapshots: tuple[Snapshot | None, Snapshot | None], sent: dict[str, dict[str, Any]]
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
    """(message, record): each run's chart message (rows since what the browser holds), under its source name.

    snapshots[i] must have been taken with since=sent[SOURCES[i]]["cursor"]."""
    message: dict[str, Any] = {"sources": {}}
    record: dict[str, Any] = {}
    for source, snapshot in zip(SOURCES, snapshots):
        if snapshot is None:
            continue
        message["sources"][source], record[source] = chart_message(snapshot, sent.get(source, {}))
    return message, record
