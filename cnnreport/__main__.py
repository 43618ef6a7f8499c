"""`python -m cnnreport …` is the `cnnreport` command."""

from cnnreport.cli import entry

entry()
