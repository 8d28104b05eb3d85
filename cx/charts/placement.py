"""Point labels that never collide: a slot (side and pixel offset) per label of a scatter plot,
chosen so that no two labels, and no label and point, overlap at any plot size in a range.

Offsets are in pixels and the points move with the plot's size, so a layout checked at one size
can collide at another (the screen stretches a chart, a report fits it to a box). Each candidate
is therefore tested over the whole range of widths and heights: along one axis, two boxes whose
edges move as ``f * size + offset`` overlap on an interval of sizes, computed exactly. A layout
holds on plots from 360 px wide when one exists, else from 480, 640 or 800 px (a crowd of long
names on nearly one spot); only past those can two names touch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cx.charts.theme import text_width

LABEL_HEIGHT = 20.0
"""Height (px) of a one-line point label at 16 px, with its padding."""
GAP = 3.0
"""Room (px) kept around every label box."""
WIDTHS = (360.0, 1500.0)
"""Plot widths (px) a layout must hold at: a report's narrow box to a wide screen."""
HEIGHTS = (300.0, 720.0)
"""Plot heights (px) a layout must hold at."""


@dataclass(frozen=True)
class Slot:
    """Where a label sits against its point: text ``align``, and its anchor ``dx``, ``dy`` px
    away; ``leader``: far enough to be tied to its point by a thin line."""

    align: str
    dx: float
    dy: float

    @property
    def leader(self) -> bool:
        return abs(self.dy) > 26


def _slots() -> tuple[Slot, ...]:
    near = (
        Slot("left", 16, 0),
        Slot("right", -16, 0),
        Slot("center", 0, -26),
        Slot("center", 0, 26),
        Slot("left", 16, -22),
        Slot("left", 16, 22),
        Slot("right", -16, -22),
        Slot("right", -16, 22),
    )
    # Further out, tied by a line: clear of the point's neighbours too, up or down, either side.
    far = tuple(
        Slot(align, dx, sign * (20 + 22 * ring))
        for ring in range(1, 6)
        for sign in (-1, 1)
        for align, dx in (("left", 28), ("right", -28), ("center", 0))
    )
    return near + far


SLOTS = _slots()
"""Candidate slots, nearest first; a label takes the first one that collides with nothing."""


@dataclass(frozen=True)
class Box:
    """An axis-aligned box whose edges are ``f * size + offset`` along each axis."""

    fx: float
    x0: float
    x1: float
    fy: float
    y0: float
    y1: float


def label_box(fx: float, fy: float, width: float, slot: Slot) -> Box:
    """The box of a label ``width`` px wide in ``slot`` of the point at ``fx``, ``fy`` (shares of
    the plot from its left and top edges)."""
    if slot.align == "left":
        x0, x1 = slot.dx, slot.dx + width
    elif slot.align == "right":
        x0, x1 = slot.dx - width, slot.dx
    else:
        x0, x1 = slot.dx - width / 2, slot.dx + width / 2
    half = LABEL_HEIGHT / 2
    return Box(fx, x0 - GAP, x1 + GAP, fy, slot.dy - half - GAP, slot.dy + half + GAP)


def point_box(fx: float, fy: float, radius: float) -> Box:
    return Box(fx, -radius, radius, fy, -radius, radius)


def _meet(
    f: float, a0: float, a1: float, g: float, b0: float, b1: float, lo: float, hi: float
) -> bool:
    """Whether intervals ``[f*s + a0, f*s + a1]`` and ``[g*s + b0, g*s + b1]`` overlap for some
    size ``s`` in ``[lo, hi]``: ``(f - g) * s`` must lie strictly between ``b0 - a1`` and ``b1 - a0``."""
    d, low, high = f - g, b0 - a1, b1 - a0
    if abs(d) < 1e-12:
        return low < 0 < high
    start, end = sorted((low / d, high / d))
    return max(start, lo) < min(end, hi)


def collide(
    a: Box, b: Box, widths: Sequence[float] = WIDTHS, heights: Sequence[float] = HEIGHTS
) -> bool:
    """Whether the boxes can overlap at some plot size (the axes move independently)."""
    return _meet(a.fx, a.x0, a.x1, b.fx, b.x0, b.x1, widths[0], widths[1]) and _meet(
        a.fy, a.y0, a.y1, b.fy, b.y0, b.y1, heights[0], heights[1]
    )


def inside(box: Box, widths: Sequence[float] = WIDTHS, heights: Sequence[float] = HEIGHTS) -> bool:
    """Whether the box stays in the plot at every size (the tightest case is the smallest plot)."""
    w, h = widths[0], heights[0]
    return (
        box.fx * w + box.x0 >= 0
        and box.fx * w + box.x1 <= w
        and box.fy * h + box.y0 >= 0
        and box.fy * h + box.y1 <= h
    )


RELAXED = ((480.0, WIDTHS[1]), (640.0, WIDTHS[1]), (800.0, WIDTHS[1]))
"""Narrowest plots a layout is asked to hold at when none holds at :data:`WIDTHS` (a crowd)."""
BUDGET = 4000
"""Most partial layouts tried per width range before the next, wider, one."""


def place(
    points: Sequence[tuple[float, float]],
    texts: Sequence[str],
    *,
    font_size: float = 16,
    radius: float = 12,
) -> list[Slot]:
    """A slot for each label (points as shares of the plot from its left and top edges): every
    label in the plot, off every point and off every other label at any plot size of
    :data:`WIDTHS` x :data:`HEIGHTS`, nearest slots first; the most constrained label is placed
    first and a dead end is undone (a small constraint search). A crowd that cannot hold on
    the narrowest plots is laid out for wider ones (:data:`RELAXED`); past those, each label
    takes its slot with the fewest collisions.

    >>> slots = place([(0.5, 0.5), (0.505, 0.5), (0.51, 0.505)], ["Price", "Digital", "Cleanliness"])
    >>> len({(s.align, s.dx, s.dy) for s in slots})
    3
    """
    return place_within(points, texts, font_size=font_size, radius=radius)[0]


def place_within(
    points: Sequence[tuple[float, float]],
    texts: Sequence[str],
    *,
    font_size: float = 16,
    radius: float = 12,
) -> tuple[list[Slot], tuple[float, float]]:
    """:func:`place`, and the smallest plot (width, height px) the layout holds at: a chart drawn
    smaller must be drawn at that size and scaled down whole (labels would meet otherwise)."""
    widths = [width for width in (text_width(t, font_size) for t in texts)]
    dots = [point_box(fx, fy, radius) for fx, fy in points]
    for span in (WIDTHS, *RELAXED):
        found = _search(points, widths, dots, span)
        if found is not None:
            return found, (span[0], HEIGHTS[0])
    return _fewest_clashes(points, widths, dots), (RELAXED[-1][0], HEIGHTS[0])


def _candidates(
    fx: float, fy: float, width: float, dots: Sequence[Box], span: Sequence[float]
) -> list[tuple[Slot, Box]]:
    """The slots of one label that stay in the plot and off every point."""
    out = []
    for slot in SLOTS:
        box = label_box(fx, fy, width, slot)
        if inside(box, span) and not any(collide(box, dot, span) for dot in dots):
            out.append((slot, box))
    return out


def _search(
    points: Sequence[tuple[float, float]],
    widths: Sequence[float],
    dots: Sequence[Box],
    span: Sequence[float],
) -> list[Slot] | None:
    """Backtracking with forward checking over each label's candidate slots (None: no layout
    within :data:`BUDGET` tries)."""
    domains = {i: _candidates(fx, fy, widths[i], dots, span) for i, (fx, fy) in enumerate(points)}
    tries = 0

    def solve(
        chosen: dict[int, tuple[Slot, Box]], left: dict[int, list[tuple[Slot, Box]]]
    ) -> dict[int, tuple[Slot, Box]] | None:
        nonlocal tries
        if not left:
            return chosen
        i = min(left, key=lambda k: (len(left[k]), k))
        for slot, box in left[i]:
            tries += 1
            if tries > BUDGET:
                return None
            rest = {
                j: [(t, b) for t, b in options if not collide(box, b, span)]
                for j, options in left.items()
                if j != i
            }
            if all(rest.values()):
                done = solve({**chosen, i: (slot, box)}, rest)
                if done is not None:
                    return done
        return None

    if not all(domains.values()):
        return None
    found = solve({}, domains)
    return None if found is None else [found[i][0] for i in range(len(points))]


def _fewest_clashes(
    points: Sequence[tuple[float, float]], widths: Sequence[float], dots: Sequence[Box]
) -> list[Slot]:
    placed: list[Box] = []
    out: list[Slot] = []
    for (fx, fy), width in zip(points, widths, strict=True):
        scored = []
        for rank, slot in enumerate(SLOTS):
            box = label_box(fx, fy, width, slot)
            clashes = sum(collide(box, other) for other in (*dots, *placed))
            scored.append((clashes + (0 if inside(box) else 1), rank, slot, box))
        _, _, slot, box = min(scored, key=lambda item: (item[0], item[1]))
        out.append(slot)
        placed.append(box)
    return out
