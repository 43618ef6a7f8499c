"""signals.py: SIGTERM and SIGHUP raise a KeyboardInterrupt (so every clean-up runs) with the
shell's exit code; a signal during a held block waits for its end; handlers are put back."""

from __future__ import annotations

import os
import signal

import pytest

from cnnreport import signals


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_stop_signal_raises_a_keyboard_interrupt_with_the_shells_exit_code(signum, code):
    cleaned = []
    with pytest.raises(KeyboardInterrupt) as caught:
        with signals.stop_as_interrupt():
            try:
                os.kill(os.getpid(), signum)
                for _ in range(10_000):  # the handler runs between bytecodes
                    pass
            finally:
                cleaned.append(True)
    assert cleaned and signals.exit_code(caught.value) == code


def test_handlers_are_put_back_after_the_block():
    before = signal.getsignal(signal.SIGTERM)
    with signals.stop_as_interrupt():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_signal_inside_a_held_block_takes_effect_when_it_ends():
    done = []
    with pytest.raises(signals.Stopped):
        with signals.stop_as_interrupt():
            with signals.held():
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(10_000):
                    pass
                done.append("the held block finished")
    assert done == ["the held block finished"]


def test_a_second_signal_during_the_clean_up_is_ignored():
    cleaned = []
    with pytest.raises(signals.Stopped):
        with signals.stop_as_interrupt():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(10_000):
                    pass
            finally:
                os.kill(os.getpid(), signal.SIGHUP)  # a closing terminal sends both
                for _ in range(10_000):
                    pass
                cleaned.append(True)  # the clean-up was not cut short
    assert cleaned
