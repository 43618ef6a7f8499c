"""HTML → PDF with WeasyPrint, written atomically."""

from __future__ import annotations

from pathlib import Path

from cnnreport.files import atomic_path


def render_pdf(html_path: Path, pdf_path: Path) -> Path:
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # font-subsetting chatter
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    with atomic_path(pdf_path) as tmp:
        HTML(filename=str(html_path), base_url=str(html_path.parent)).write_pdf(str(tmp))
    return pdf_path
