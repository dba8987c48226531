"""Server-rendered SVG line charts of a score over time, with the treatment sessions as markers.

Pure and dependency-free: numbers in, an SVG string out (every text escaped). No script, no inline style, so
the strict Content-Security-Policy holds. Each chart carries a <title> and a <desc> that say in words what
it shows; pages put the same numbers in a table for those who would rather read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 260
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 16, 28, 40


@dataclass(frozen=True)
class Point:
    day: date
    value: float
    label: str = ""


@dataclass(frozen=True)
class Marker:
    day: date
    label: str


def _nice_range(low: float, high: float) -> tuple[float, float, float]:
    """Axis bounds and a tick step that are round numbers."""
    if math.isclose(low, high):
        low, high = low - 1, high + 1
    raw = (high - low) / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _fmt(value: float, step: float | None = None) -> str:
    """A tick label with as many decimals as the tick step needs; a value with three significant digits."""
    if step is not None:
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        return f"{value:.{decimals}f}"
    return f"{value:.3g}"


def line_chart(points: list[Point], markers: list[Marker], *, title: str, unit: str = "",
               y_range: tuple[float, float] | None = None, lower_is_better: bool = True,
               chart_id: str = "chart") -> Markup:
    """An accessible SVG chart. ``y_range`` fixes the axis (a scale's own range); otherwise it fits the data."""
    days = [p.day for p in points] + [m.day for m in markers]
    if not points:
        return Markup(f'<p class="muted">{escape(title)}: no values yet.</p>')  # text escaped # nosec B704
    first, last = min(days), max(days)
    span = max((last - first).days, 1)
    values = [p.value for p in points]
    low, high = y_range if y_range else (min(values), max(values))
    y0, y1, step = _nice_range(low, high)

    def x(day: date) -> float:
        return PAD_LEFT + (day - first).days / span * (WIDTH - PAD_LEFT - PAD_RIGHT)

    def y(value: float) -> float:
        return PAD_TOP + (y1 - value) / (y1 - y0) * (HEIGHT - PAD_TOP - PAD_BOTTOM)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(_describe(points, markers, unit, lower_is_better))}</desc>',
    ]
    tick = y0
    while tick <= y1 + step / 2:
        parts.append(f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}"/><text class="tick" x="{PAD_LEFT - 6}" y="{y(tick) + 4:.1f}" '
                     f'text-anchor="end">{escape(_fmt(tick, step))}</text>')
        tick += step
    for marker in markers:
        parts.append(f'<line class="session" x1="{x(marker.day):.1f}" x2="{x(marker.day):.1f}" y1="{PAD_TOP - 8}" '
                     f'y2="{HEIGHT - PAD_BOTTOM}"/><text class="session-label" x="{x(marker.day):.1f}" '
                     f'y="{PAD_TOP - 12}" text-anchor="middle">{escape(marker.label)}</text>')
    ordered = sorted(points, key=lambda p: p.day)
    path = " ".join(f"{'M' if i == 0 else 'L'}{x(p.day):.1f},{y(p.value):.1f}" for i, p in enumerate(ordered))
    parts.append(f'<path class="series" d="{path}"/>')
    for p in ordered:
        text = f"{p.day.isoformat()}: {_fmt(p.value)}{unit}{' (' + p.label + ')' if p.label else ''}"
        parts.append(f'<circle class="point" cx="{x(p.day):.1f}" cy="{y(p.value):.1f}" r="4">'
                     f'<title>{escape(text)}</title></circle>')
    parts.append(f'<text class="tick" x="{PAD_LEFT}" y="{HEIGHT - 12}">{escape(first.isoformat())}</text>')
    parts.append(f'<text class="tick" x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 12}" text-anchor="end">'
                 f'{escape(last.isoformat())}</text>')
    direction = "lower is better" if lower_is_better else "higher is better"
    parts.append(f'<text class="tick" x="{WIDTH / 2:.0f}" y="{HEIGHT - 12}" text-anchor="middle">'
                 f'{escape(direction)}</text></svg>')
    return Markup("".join(parts))  # all text escaped # nosec B704


def _describe(points: list[Point], markers: list[Marker], unit: str, lower_is_better: bool) -> str:
    ordered = sorted(points, key=lambda p: p.day)
    values = ", ".join(f"{p.day.isoformat()} {_fmt(p.value)}{unit}" for p in ordered)
    sessions = ", ".join(f"{m.label} on {m.day.isoformat()}" for m in sorted(markers, key=lambda m: m.day))
    direction = "lower is better" if lower_is_better else "higher is better"
    return f"Values ({direction}): {values}." + (f" Sessions: {sessions}." if sessions else "")
