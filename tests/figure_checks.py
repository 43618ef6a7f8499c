"""What a figure must never do, measured on matplotlib's own layout: two pieces of text over each
other, a legend over the data, two series that look alike. Shared by the figure tests and the
12-level build test."""

from __future__ import annotations

import itertools
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


class Captured(list):
    """Figures `plt.close` was asked to close, kept open for a look (monkeypatch it in)."""

    def close(self, fig: Any = None) -> None:
        if fig is not None and not isinstance(fig, str):
            self.append(fig)


def capture_figures(monkeypatch) -> Captured:
    captured = Captured()
    monkeypatch.setattr(plt, "close", captured.close)
    return captured


def _in_view(axis: Any, loc: float) -> bool:
    lo, hi = sorted(axis.get_view_interval())
    span = (hi - lo) or 1.0
    return lo - 1e-9 * span <= loc <= hi + 1e-9 * span


def drawn_texts(fig: Any) -> list[Any]:
    """Every Text the figure draws: tick labels inside the view, axis labels, titles, texts,
    legend entries."""
    fig.draw_without_rendering()
    texts: list[Any] = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        if ax.axison:
            for axis in (ax.xaxis, ax.yaxis):
                for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                    if _in_view(axis, tick.get_loc()):
                        texts += [tick.label1, tick.label2]
                texts += [axis.label, axis.get_offset_text()]
        texts += [ax.title, ax._left_title, ax._right_title, *ax.texts]
        if ax.get_legend() is not None:
            texts += ax.get_legend().get_texts()
    for legend in fig.legends:
        texts += legend.get_texts()
    texts += [*fig.texts]
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def _corners(text: Any, renderer: Any) -> np.ndarray:
    """The text's own rectangle in display pixels, turned as it is drawn (the axis-aligned box of
    a turned label covers its neighbours' boxes without the glyphs touching)."""
    box = text.get_window_extent(renderer)
    angle = text.get_rotation()
    if not angle % 180:
        return np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])
    text.set_rotation(0)
    flat = text.get_window_extent(renderer)
    text.set_rotation(angle)
    w, h = flat.width / 2, flat.height / 2
    t = np.radians(angle)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    centre = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
    return centre + np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) @ rot.T


def _separated(a: np.ndarray, b: np.ndarray, tolerance_px: float) -> bool:
    """Separating-axis test for two convex quadrilaterals (overlap up to tolerance_px allowed)."""
    for poly in (a, b):
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            normal = np.array([-edge[1], edge[0]]) / (np.hypot(*edge) or 1.0)
            pa, pb = a @ normal, b @ normal
            if pa.max() <= pb.min() + tolerance_px or pb.max() <= pa.min() + tolerance_px:
                return True
    return False


def overlapping_texts(fig: Any, tolerance_px: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of drawn texts whose rectangles overlap by more than `tolerance_px`."""
    renderer = fig.canvas.get_renderer()
    texts = drawn_texts(fig)
    boxes = [_corners(t, renderer) for t in texts]
    return [(texts[i].get_text(), texts[j].get_text())
            for i, j in itertools.combinations(range(len(texts)), 2)
            if not _separated(boxes[i], boxes[j], tolerance_px)]


def legends_over_data(fig: Any) -> list[str]:
    """Legends whose box lies over an axes' plotting area."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    legends = list(fig.legends) + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    found = []
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if ax.get_visible() and ax.axison and box.overlaps(ax.get_window_extent(renderer)):
                found.append(", ".join(t.get_text() for t in legend.get_texts())[:60])
    return found


def series_looks(ax: Any) -> list[tuple[str, str, str]]:
    """(colour, marker, line style) of every labelled series of an axes."""
    looks = []
    for handle in ax.get_legend_handles_labels()[0]:
        line = handle.lines[0] if hasattr(handle, "lines") else handle  # an errorbar's data line
        looks.append((matplotlib.colors.to_hex(line.get_color()), str(line.get_marker()), str(line.get_linestyle())))
    return looks
