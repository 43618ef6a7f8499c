"""HTML → PDF with WeasyPrint, written atomically.

The PDF is tagged (WeasyPrint's PDF/UA-1 variant): headings, paragraphs, tables with their header
cells and figures with their alt text are in its structure tree, so a screen reader can follow
them, and the document's language and title are declared. Presentational hints are on so that
an image's `width` attribute sets its printed size (the templates use no inline styles).
"""

from __future__ import annotations

import logging
from pathlib import Path

from cnnreport.files import atomic_path

PDF_VARIANT = "pdf/ua-1"


def render_pdf(html_path: Path, pdf_path: Path) -> Path:
    from weasyprint import HTML  # heavy, and needs Pango: only when a PDF is made

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # font-subsetting chatter
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    with atomic_path(pdf_path) as tmp:
        HTML(filename=str(html_path), base_url=str(html_path.parent)).write_pdf(
            str(tmp), pdf_variant=PDF_VARIANT, presentational_hints=True)
    return pdf_path
