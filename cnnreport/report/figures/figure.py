"""report.json `figures[]`, apart from the drawing code, so a reader of report.json (the rubric
check) needs no plotting library."""

from __future__ import annotations

from cnnreport.contract import Part


class Figure(Part):
    """A drawn figure, where it is, and what it shows in words."""

    id: str
    file: str  # relative to the report folder: figures/<id>.png
    caption: str
    alt: str
    width_mm: float  # printed width: the PNG's width at the figure dpi, at most the text width
