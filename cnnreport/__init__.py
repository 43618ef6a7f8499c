"""cnnreport: from one study file to a graded CNN-architecture lab report."""

__version__ = "0.1.0"
