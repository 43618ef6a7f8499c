"""The report: report.json (one builder), generated prose, figures, HTML (Jinja) and PDF
(WeasyPrint), and the render cache that makes a re-render cheap.
"""
