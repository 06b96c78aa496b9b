"""The date-slippage chart as inline SVG: planned dates (y) against version dates (x).

Each planned date (start, primary completion, completion) is a step line: a plan holds from
the version that set it until the version that revised it. A dashed diagonal marks where the
planned date equals the version date: points under it were already in the past when posted.
Pure: strings in, a string out; every text is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

WIDTH, HEIGHT = 760, 340
LEFT, RIGHT, TOP, BOTTOM = 78, 16, 16, 64

SERIES_LABELS: dict[str, str] = {
    "start": "Start",
    "primary_completion": "Primary completion",
    "completion": "Completion",
}
SERIES_COLORS: dict[str, str] = {
    "start": "#2b6cb0",
    "primary_completion": "#c05621",
    "completion": "#2f855a",
}
# Completion is often equal to primary completion: drawn first and wider, with the primary
# completion dashed on top, so where they coincide both colours show.
DRAW_ORDER = ("completion", "primary_completion", "start")
STROKES: dict[str, str] = {
    "completion": 'stroke-width="5"',
    "primary_completion": 'stroke-width="2" stroke-dasharray="8 5"',
    "start": 'stroke-width="2"',
}
RADII = {"completion": 6, "primary_completion": 4, "start": 4}


@dataclass(frozen=True)
class Point:
    """A planned date as given by one version of the record."""

    version_date: str
    planned: str


def parse_day(value: str) -> date:
    """``2025``, ``2025-06`` or ``2025-06-30`` as a date (the first day of a coarser period)."""
    parts = [int(p) for p in value[:10].split("-")]
    return date(parts[0], *(parts[1:] + [1] * (3 - len(parts))))


@dataclass(frozen=True)
class Axis:
    """A linear map from day ordinals onto pixels."""

    low: int
    high: int
    start: float
    end: float

    def __call__(self, day: date) -> float:
        span = max(self.high - self.low, 1)
        return self.start + (day.toordinal() - self.low) * (self.end - self.start) / span


def padded(days: Sequence[date]) -> tuple[int, int]:
    """The range of ``days`` with a margin, reaching down to a labelled tick at or below the
    earliest day (a 2020 start date is drawn at or above the 2020 label, not below 2021)."""
    low, high = min(days).toordinal(), max(days).toordinal()
    pad = max((high - low) // 20, 30)
    return min(low - pad, floor_tick(min(days), low - pad, high + pad)), high + pad


def floor_tick(day: date, low: int, high: int) -> int:
    """The tick :func:`ticks` would label at or below ``day``: its year's or its quarter's start."""
    years = [y for y in range(date.fromordinal(low).year, date.fromordinal(high).year + 2)
             if low <= date(y, 1, 1).toordinal() <= high]  # fmt: skip
    if len(years) >= 2:
        return date(day.year, 1, 1).toordinal()
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1).toordinal()


def ticks(low: int, high: int) -> list[date]:
    """Year starts inside the range, or quarter starts when the range is short."""
    first, last = date.fromordinal(low), date.fromordinal(high)
    years = [date(y, 1, 1) for y in range(first.year, last.year + 2)]
    inside = [d for d in years if low <= d.toordinal() <= high]
    if len(inside) >= 2:
        step = max(1, len(inside) // 8 + (len(inside) % 8 > 0))
        return inside[::step]
    quarters = [date(y, m, 1) for y in range(first.year, last.year + 1) for m in (1, 4, 7, 10)]
    return [d for d in quarters if low <= d.toordinal() <= high]


def tick_label(day: date) -> str:
    return str(day.year) if day.month == 1 else day.strftime("%Y-%m")


def slippage_svg(series: Mapping[str, Sequence[Point]], title: str) -> str:
    """The whole chart; an explanatory note instead when there is nothing to draw."""
    drawn = {name: points for name, points in series.items() if points}
    if not drawn:
        return '<p class="no-chart">No planned dates in the stored versions.</p>'
    all_points = [p for points in drawn.values() for p in points]
    x = Axis(*padded([parse_day(p.version_date) for p in all_points]), LEFT, WIDTH - RIGHT)
    y = Axis(*padded([parse_day(p.planned) for p in all_points]), HEIGHT - BOTTOM, TOP)
    parts = [
        f'<svg class="slippage" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">',
        f"<title>{escape(title)}</title>",
        *grid(x, y),
        diagonal(x, y),
        *(series_svg(name, drawn[name], x, y) for name in DRAW_ORDER if name in drawn),
        *legend(list(drawn)),
        "</svg>",
    ]
    return "\n".join(parts)


def grid(x: Axis, y: Axis) -> list[str]:
    out = []
    for day in ticks(x.low, x.high):
        px = x(day)
        out.append(f'<line class="grid" x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" y2="{y.start}"/>')
        out.append(
            f'<text class="tick tick-x" x="{px:.1f}" y="{y.start + 16}" '
            f'text-anchor="middle">{tick_label(day)}</text>'
        )
    for day in ticks(y.low, y.high):
        py = y(day)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{x.end}" y1="{py:.1f}" y2="{py:.1f}"/>')
        out.append(
            f'<text class="tick tick-y" x="{LEFT - 6}" y="{py + 4:.1f}" '
            f'text-anchor="end">{tick_label(day)}</text>'
        )
    out.append(
        f'<text class="axis-label" x="{(LEFT + x.end) / 2:.0f}" y="{y.start + 36}" '
        f'text-anchor="middle">version date</text>'
    )
    return out


def diagonal(x: Axis, y: Axis) -> str:
    """Where planned date = version date, clipped to both ranges."""
    low, high = max(x.low, y.low), min(x.high, y.high)
    if low >= high:
        return ""
    a, b = date.fromordinal(low), date.fromordinal(high)
    return (
        f'<line class="diagonal" x1="{x(a):.1f}" y1="{y(a):.1f}" x2="{x(b):.1f}" y2="{y(b):.1f}">'
        "<title>planned date = version date</title></line>"
    )


def series_svg(name: str, points: Sequence[Point], x: Axis, y: Axis) -> str:
    color = SERIES_COLORS.get(name, "#555")
    label = SERIES_LABELS.get(name, name)
    circles = "".join(circle(name, label, color, p, x, y) for p in points)
    stroke = STROKES.get(name, 'stroke-width="2"')
    return (
        f'<g class="series series-{name}">'
        f'<polyline class="plan" fill="none" stroke="{color}" {stroke} '
        f'points="{step_points(points, x, y)}"/>{circles}</g>'
    )


def step_points(points: Sequence[Point], x: Axis, y: Axis) -> str:
    """A plan holds until the next version revises it, then until the chart's right edge."""
    coords: list[tuple[float, float]] = []
    for point in points:
        px, py = x(parse_day(point.version_date)), y(parse_day(point.planned))
        if coords:
            coords.append((px, coords[-1][1]))
        coords.append((px, py))
    coords.append((x.end, coords[-1][1]))
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in coords)


def circle(name: str, label: str, color: str, point: Point, x: Axis, y: Axis) -> str:
    px, py = x(parse_day(point.version_date)), y(parse_day(point.planned))
    tip = f"{label}: {point.planned} (version of {point.version_date})"
    return (
        f'<circle class="point point-{name}" cx="{px:.1f}" cy="{py:.1f}" '
        f'r="{RADII.get(name, 4)}" fill="{color}"><title>{escape(tip)}</title></circle>'
    )


def legend(names: Sequence[str]) -> list[str]:
    out, left = [], LEFT
    for name in names:
        color, label = SERIES_COLORS.get(name, "#555"), SERIES_LABELS.get(name, name)
        top = HEIGHT - 6
        out.append(
            f'<g class="legend legend-{name}"><rect x="{left}" y="{top - 9}" width="14" '
            f'height="4" fill="{color}"/><text x="{left + 20}" y="{top}">{escape(label)}</text></g>'
        )
        left += 30 + 8 * len(label)
    return out
