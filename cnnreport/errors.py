"""The one exception type the CLI turns into a single line and exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user (study file, data, arguments): one line, no traceback.

    The message names the file, key or record and what was expected.
    """
