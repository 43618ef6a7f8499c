"""The SageMaker entry scripts (inference.py for the serving container, train.py for training
jobs), as the package `cnnreport.resources.sagemaker`. The scripts are copied into the model
package and the job's source, never imported from here.

pyproject.toml maps this top-level folder into the package (a wheel carries it there; an
editable install imports it from here), so code reads it through importlib.resources only
(docs/packaging.md).
"""
