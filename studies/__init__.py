"""The built-in study files, as the package `cnnreport.resources.studies`: the one folder
pyproject.toml maps into the package. The templates, the SageMaker entry scripts and rubric.toml
ride along as its package data, one folder up, so they sit beside it in a wheel
(cnnreport/resources/) as they do in the repository, and an editable install reads them here
(docs/packaging.md). Nothing to import: the marker makes the folder a package.
"""
