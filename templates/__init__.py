"""The report's Jinja templates, as the package `cnnreport.resources.templates`.

pyproject.toml maps this top-level folder into the package (a wheel carries it there; an
editable install imports it from here), so code reads it through importlib.resources only
(docs/packaging.md). Nothing to import: the marker makes the folder a package.
"""
