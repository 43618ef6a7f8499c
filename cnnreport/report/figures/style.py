"""The one figure style: dpi, palette, rcParams, fonts for every script, the save helper, and
the print width each figure is shown at in the PDF.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import unicodedata
import warnings
from pathlib import Path
from typing import Any, Iterable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from PIL import Image  # noqa: E402

from cnnreport.files import atomic_path  # noqa: E402
from cnnreport.report.figures.figure import Figure  # noqa: E402

# Fonts tried glyph by glyph, in order (matplotlib falls back along the family list): DejaVu
# first, so Latin, Greek and Cyrillic text is drawn exactly as before; then Noto for the scripts
# DejaVu lacks, where installed (Debian's fonts-noto-core and fonts-noto-cjk; the Makefile
# installs them). templates/report.css lists the same families for the PDF's text.
FONT_PREFERENCE = (
    "DejaVu Sans", "Noto Sans", "Noto Sans CJK JP", "Noto Sans Arabic", "Noto Sans Hebrew",
    "Noto Sans Devanagari", "Noto Sans Bengali", "Noto Sans Tamil", "Noto Sans Thai",
    "Noto Sans Armenian", "Noto Sans Georgian", "Noto Sans Ethiopic", "Noto Sans Khmer",
    "Noto Sans Myanmar", "Noto Sans Sinhala", "Noto Sans Gujarati", "Noto Sans Gurmukhi",
    "Noto Sans Kannada", "Noto Sans Malayalam", "Noto Sans Telugu", "Noto Sans Lao", "Noto Sans Symbols",
)


@functools.lru_cache(maxsize=1)
def font_families() -> list[str]:
    """The preferred families installed here with a bold face too (figures draw bold titles; a
    family without one makes matplotlib substitute and say so on stderr). matplotlib keeps its
    own list of fonts, made the first time it ran: a font installed since is found through
    fontconfig and added."""
    known = _with_bold()
    if any(f not in known for f in FONT_PREFERENCE) and shutil.which("fc-list"):
        try:
            listing = subprocess.run(["fc-list", "--format", "%{family[0]}\t%{file}\n"], capture_output=True,
                                     text=True, timeout=20).stdout.splitlines()
        except (OSError, subprocess.SubprocessError):
            listing = []
        for line in listing:
            family, _, path = line.partition("\t")
            if family in FONT_PREFERENCE and family not in known and path.lower().endswith((".ttf", ".otf", ".ttc")):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # a file FreeType cannot read
                    continue
        known = _with_bold()
    return [f for f in FONT_PREFERENCE if f in known] or ["DejaVu Sans"]


def _with_bold() -> set[str]:
    fonts = font_manager.fontManager.ttflist
    return {f.name for f in fonts} & {f.name for f in fonts if isinstance(f.weight, int) and f.weight >= 600}


@functools.lru_cache(maxsize=1)
def _font_files() -> list[Any]:
    from matplotlib.ft2font import FT2Font

    paths = {font_manager.findfont(font_manager.FontProperties(family=f), fallback_to_default=False)
             for f in font_families()}
    return [FT2Font(p) for p in sorted(paths)]


def undrawable(text: str) -> list[str]:
    """The characters of `text` that no font of the figures has a glyph for (a box if drawn)."""
    fonts = _font_files()
    return sorted({ch for ch in text
                   if not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf", "Mn")
                   and all(f.get_char_index(ord(ch)) == 0 for f in fonts)})


_warned: set[str] = set()


def warn_undrawable(names: Iterable[str], what: str) -> list[str]:
    """One warning on stderr per name that cannot be drawn (matplotlib's own glyph warnings are
    silenced: this one names the class and the characters). Returns the warnings."""
    quiet_glyph_warnings()
    said = []
    for name in names:
        missing = undrawable(name)
        if missing and name not in _warned:
            _warned.add(name)
            chars = ", ".join(f"U+{ord(c):04X} {c}" for c in missing)
            said.append(f"{what} {name!r} has characters no installed font can draw ({chars}); the figures show "
                        "a box for each (a font with them, e.g. a Noto package, fixes that)")
            print(f"cnnreport: WARNING: {said[-1]}", file=sys.stderr, flush=True)
    return said


def quiet_glyph_warnings() -> None:
    """matplotlib warns once per glyph, naming only the font; warn_undrawable says it better.
    Set at import and again before drawing (a caller's catch_warnings may have reset filters)."""
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)


quiet_glyph_warnings()

DPI = 160
# Paul Tol's "muted" qualitative scheme (personal.sron.nl/~pault): nine colours that stay apart
# for the common colour-vision deficiencies (tests/test_report_figures_scale.py measures it),
# ordered so that neighbouring levels differ most. Indices 0–3 carry fixed meanings across the
# report: 0 the CNN / training, 1 the MLP / validation, 2 the permuted-pixel runs, 3 pooling.
PALETTE = ["#332288", "#CC6677", "#44AA99", "#DDCC77", "#882255", "#88CCEE", "#117733", "#AA4499", "#999933"]
# Beyond the palette a series is told apart by its line style; every series has its own marker.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "p", "h", "*", "d", "H", "8")
LINE_STYLES = ("-", "--", ":", "-.")
STYLE = {
    "figure.dpi": DPI, "savefig.dpi": DPI, "font.size": 9, "axes.titlesize": 10,
    "axes.labelsize": 9, "legend.fontsize": 8, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "font.family": font_families(),
}
FULL_WIDTH = 6.8  # inches: the PDF's text width
FEW_EPOCHS = 2  # curves this short are drawn as points: a line needs three to say anything


def series_style(i: int) -> dict[str, Any]:
    """Colour, marker and line style of the i-th series of a figure (a level of the factor, say):
    no two of the first len(PALETTE) × len(LINE_STYLES) series look alike, and the first
    len(PALETTE) differ in colour alone."""
    return {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINE_STYLES[(i // len(PALETTE)) % len(LINE_STYLES)]}


def text_color_on(background: str) -> str:
    """White on a dark fill, near-black on a light one (WCAG relative luminance)."""
    rgb = np.array(matplotlib.colors.to_rgb(background))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return "white" if float(linear @ [0.2126, 0.7152, 0.0722]) < 0.25 else "#1b1b1b"


def epoch_axis(ax: Any, epochs: int) -> None:
    """Whole epochs on the x-axis; one or two epochs get room on both sides (an axis spanning
    0.96–1.04 around a single point says nothing)."""
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, min_n_ticks=1))
    if 0 < epochs <= FEW_EPOCHS:
        ax.set_xlim(0.5, epochs + 0.5)
        ax.set_xticks(range(1, epochs + 1))


def legend_below(fig: Any, axes: Any, width_in: float | None = None, **kwargs: Any) -> Any:
    """One legend for the figure, under its axes, never over the data: the entries of every axes
    (each label once), in as many columns as the widest label allows. The figure must use
    layout="constrained", which makes room for it."""
    handles, labels = [], []
    for ax in np.atleast_1d(axes):
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    if not handles:
        return None
    width = width_in or fig.get_figwidth()
    widest = max(len(label) for label in labels) * 0.065 + 0.45  # inches: 8 pt text plus the key
    ncols = max(1, min(len(labels), int(width // widest)))
    return fig.legend(handles, labels, loc="outside lower center", ncols=ncols, frameon=False, **kwargs)


def fit_tick_labels(ax: Any, labels: list[str], axis: str = "x", min_fontsize: float = 6.0) -> None:
    """Put `labels` on the axis's ticks (already placed) so that no two overlap, in this order of
    preference: wrapped at spaces to the room each tick has, at the axis's font size and then up
    to two points smaller; turned 45° (anchored at the tick); smaller still. Measured on the
    figure as drawn, not guessed."""
    ticks = (ax.get_xticks() if axis == "x" else ax.get_yticks())[: len(labels)]
    setter = ax.set_xticks if axis == "x" else ax.set_yticks
    size = matplotlib.rcParams["xtick.labelsize" if axis == "x" else "ytick.labelsize"]
    size = matplotlib.font_manager.FontProperties(size=size).get_size_in_points()
    sizes = [s for s in (size, size - 1, size - 2) if s >= min_fontsize] or [min_fontsize]
    for fontsize in sizes:
        for width in (40, 28, 20, 16, 12, 10, 8, 6):
            setter(ticks, [_wrap(label, width) for label in labels], fontsize=fontsize, rotation=0)
            if not _labels_overlap(ax, axis):
                return
    if axis != "x":
        return  # y labels stack: wrapping at the smallest size was the last resort
    fontsize = size
    while True:
        setter(ticks, [" ".join(label.split()) for label in labels], fontsize=fontsize, rotation=45,
               ha="right", rotation_mode="anchor")
        if not _labels_overlap(ax, axis, rotated=45) or fontsize <= min_fontsize:
            return
        fontsize = max(min_fontsize, fontsize - 1)


def _wrap(label: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(" ".join(label.split()), width, break_long_words=False,
                                   break_on_hyphens=False)) or label


def _labels_overlap(ax: Any, axis: str, rotated: float = 0.0, pad_px: float = 2.0) -> bool:
    """Whether two neighbouring tick labels touch. Turned labels are parallel strips: they clear
    each other when the ticks' spacing across the strips exceeds a label's height."""
    ax.figure.draw_without_rendering()  # the layout as it will be saved (constrained layout moves axes)
    renderer = ax.figure.canvas.get_renderer()
    texts = [t for t in (ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()) if t.get_text()]
    boxes = [t.get_window_extent(renderer) for t in texts]
    if rotated:
        positions = sorted(ax.transData.transform([(x, 0) for x in ax.get_xticks()[: len(texts)]])[:, 0])
        height = max(_unrotated_height(t, renderer) for t in texts) if texts else 0.0
        gaps = np.diff(positions) * np.sin(np.radians(rotated))
        return bool(len(gaps) and gaps.min() < height + pad_px)
    lo, hi = (0, 2) if axis == "x" else (1, 3)
    spans = sorted((b.extents[lo], b.extents[hi]) for b in boxes)
    return any(nxt[0] < prev[1] + pad_px for prev, nxt in zip(spans, spans[1:]))


def _unrotated_height(text: Any, renderer: Any) -> float:
    angle = text.get_rotation()
    text.set_rotation(0)
    height = text.get_window_extent(renderer).height
    text.set_rotation(angle)
    return height


def _save(fig: Any, out_dir: Path, fig_id: str, caption: str, alt: str) -> dict[str, str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{fig_id}.png"
    try:
        with atomic_path(path) as tmp:  # a render stopped mid-figure leaves the previous PNG whole
            fig.savefig(tmp, bbox_inches="tight", facecolor="white", format="png")
    finally:
        plt.close(fig)
    return {"id": fig_id, "file": f"figures/{path.name}", "caption": caption, "alt": alt}


def _show(ax: Any, image: np.ndarray) -> None:
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=255)
    else:
        ax.imshow(image)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


TEXT_WIDTH_MM = 174.0  # the A4 page's text width in report.css


def with_print_width(fig: dict[str, str], report_dir: Path, dpi: int) -> Figure:
    """Add the figure's physical width (mm, from its PNG width at the figure dpi), so the page shows
    it at the size it was drawn — its fonts then print at their real 6–9 pt."""
    with Image.open(report_dir / fig["file"]) as im:
        width_px = im.size[0]
    return Figure(**fig, width_mm=round(min(TEXT_WIDTH_MM, width_px / dpi * 25.4), 1))
