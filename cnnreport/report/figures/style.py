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
PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d5a97", "#30638e", "#a23e48"]
STYLE = {
    "figure.dpi": DPI, "savefig.dpi": DPI, "font.size": 9, "axes.titlesize": 10,
    "axes.labelsize": 9, "legend.fontsize": 8, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "font.family": font_families(),
}
FULL_WIDTH = 6.8  # inches: the PDF's text width


def _save(fig: Any, out_dir: Path, fig_id: str, caption: str, alt: str) -> dict[str, str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{fig_id}.png"
    fig.savefig(path, bbox_inches="tight", facecolor="white")
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
