"""The one figure style: dpi, palette, rcParams, the save helper, and the print width each
figure is shown at in the PDF.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from cnnreport.report.figures.figure import Figure  # noqa: E402

DPI = 160
PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d5a97", "#30638e", "#a23e48"]
STYLE = {
    "figure.dpi": DPI, "savefig.dpi": DPI, "font.size": 9, "axes.titlesize": 10,
    "axes.labelsize": 9, "legend.fontsize": 8, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.25,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE), "font.family": "DejaVu Sans",
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
