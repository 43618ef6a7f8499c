"""errors.py: a system error said in one line naming the path and what to do; h5py's errno read
from its message; the option that moves a folder offered where it applies."""

from __future__ import annotations

import errno

import pytest

from cnnreport.errors import errno_of, refusal_line


@pytest.mark.parametrize(("code", "words"), [
    (errno.ENOSPC, "no space left on the device"),
    (errno.EDQUOT, "no space left on the device"),
    (errno.EROFS, "read-only"),
    (errno.EACCES, "permission denied"),
    (errno.EPERM, "permission denied"),
    (errno.EMFILE, "too many open files"),
    (errno.ENFILE, "too many open files"),
])
def test_each_refusal_is_one_line_naming_the_path_and_what_to_do(code, words, tmp_path):
    runs = tmp_path / "runs"
    line = refusal_line(OSError(code, "system words", str(runs / "tiny" / "abc")), {runs: "--runs-dir"})
    assert "\n" not in line and line.startswith(str(runs / "tiny" / "abc") + ": ")
    assert words in line
    if code in (errno.EMFILE, errno.ENFILE):
        assert "ulimit -n" in line
    else:  # a full, read-only or forbidden disk: the way around it
        assert "--runs-dir" in line


def test_the_option_is_offered_only_for_the_folder_it_moves(tmp_path):
    line = refusal_line(OSError(errno.ENOSPC, "x", "/elsewhere/file"), {tmp_path / "runs": "--runs-dir"})
    assert "--runs-dir" not in line and "free some space" in line


def test_an_errno_only_in_the_message_is_read_as_h5py_writes_it():
    exc = OSError("Unable to synchronously create file (unable to open file: name = 'w.h5', errno = 28, "
                  "error message = 'No space left on device')")
    assert errno_of(exc) == errno.ENOSPC
    assert "no space left" in refusal_line(exc)


def test_an_unknown_system_error_is_still_one_line_with_its_name():
    line = refusal_line(OSError(errno.EIO, "Input/output error", "/dev/x"))
    assert line == "/dev/x: the system refused: Input/output error (EIO)"
    assert "\n" not in refusal_line(OSError("no errno and\nno file"))  # never a second line
