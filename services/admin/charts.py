"""The 30-day growth chart of the admin overview, as a PNG.

matplotlib with the Agg backend, through the object API (a Figure per call, no pyplot state), so it is
safe to render in a worker thread: `growth_chart` runs the drawing off the event loop.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass

from services.analytics.metrics import DayPoint


@dataclass(frozen=True, slots=True)
class ChartLabels:
    """The chart's words, in the admin's language (the handler translates them)."""

    title: str
    total_users: str
    new_users: str
    active_users: str
    questions: str


def render_growth_chart(points: Sequence[DayPoint], labels: ChartLabels) -> bytes:
    """Two panels: total users above; new users (bars), active users and questions (lines) below."""
    # Imported here, when an admin asks for the chart: matplotlib costs ~30 MB of every process at start.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    days = [p.day for p in points]
    figure = Figure(figsize=(9, 6), dpi=100)
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1.3]})
    top.plot(days, [p.total_users for p in points], color="#2b6cb0", linewidth=2, label=labels.total_users)
    top.fill_between(days, [p.total_users for p in points], color="#2b6cb0", alpha=0.12)
    top.set_title(labels.title)
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    bottom.bar(days, [p.new_users for p in points], color="#68d391", label=labels.new_users)
    bottom.plot(
        days,
        [p.active_users for p in points],
        color="#dd6b20",
        marker="o",
        markersize=3,
        label=labels.active_users,
    )
    bottom.plot(days, [p.questions for p in points], color="#805ad5", linestyle="--", label=labels.questions)
    bottom.legend(loc="upper left")
    bottom.grid(alpha=0.3)
    for axis in (top, bottom):
        axis.yaxis.get_major_locator().set_params(integer=True)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


async def growth_chart(points: Sequence[DayPoint], labels: ChartLabels) -> bytes:
    return await asyncio.to_thread(render_growth_chart, list(points), labels)
