"""Grading a class: each submission in a process of its own, at most `jobs` at once, each within a
time and a memory budget, so one hostile submission can neither stall the batch nor take its
memory; a submission over a budget gets a row saying so and grading goes on.

A worker process is forked from a server process that imported the grader once (multiprocessing's
"forkserver"; "spawn" where there is none), so a worker starts in milliseconds and never inherits
a test's or the caller's threads. It grades one submission at a time and sends back the result,
the submission's fingerprint for the copy check, and the reproduction when one was asked for.
The parent kills a worker past its deadline and starts another. Memory: a worker's address space
may grow by `memory_mib` over what it holds when it starts (RLIMIT_AS, where the system has it);
past that an allocation fails, the worker says so and goes on with the next submission.

A single submission (`cnnreport check DIR`) is graded in this process, its time budget kept by
an interval timer (POSIX, main thread): files over the size a submission file may be are not
read, and everything else is linear in what is read, so the timer is a last resort.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable, Iterator

from cnnreport.rubric.copies import Fingerprint, fingerprint
from cnnreport.rubric.result import CheckResult, Graded, NotGraded, Reproduction
from cnnreport.rubric.schema import Rubric
from cnnreport.rubric.scoring import score
from cnnreport.rubric.submission import NotAReport, Submission, inside

TIME_BUDGET_S = 60.0  # a 50 MB numbers-heavy report checks in about 25 s on a 2-core CPU
MEMORY_BUDGET_MIB = 2048  # a 64 MiB report.json and report.html, the largest read, peak near 1.4 GiB
# Memory a check takes per byte of report.json and report.html together: 50 MB of numbers in the
# interpretation (about 100 MB of both files) peaked 930 MB above the process's start
# (bench/check_scaling.py). Asked first, so a submission too large for the budget is told so
# rather than failing somewhere inside a parser that runs out of memory and says something else.
MEMORY_PER_BYTE = 12
REPRODUCE_BUDGET_S = 900.0  # retraining, on top of the grading budget, per submission


@dataclass(frozen=True)
class Reproduce:
    """`--reproduce N`: how many runs, the draw's seed, where the grader's runs and data are."""

    runs: int
    seed: int
    scratch: str | None = None
    data_dir: str | None = None
    budget_s: float = REPRODUCE_BUDGET_S


@dataclass(frozen=True)
class Task:
    folder: str
    rubric: Rubric
    runs_dir: str | None = None
    reproduce: Reproduce | None = None
    fingerprint_only: bool = False  # a row kept by --resume: only what the copy check needs
    many: bool = True  # one of a batch: a folder that is not a report is a row, not an error
    memory_mib: int | None = None  # the budget it is graded within (None: none)


@dataclass
class Outcome:
    folder: str
    result: Graded | None  # None for a fingerprint-only task
    fingerprint: Fingerprint | None = None
    reproduction: Reproduction | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Budget:
    seconds: float = TIME_BUDGET_S
    memory_mib: int | None = MEMORY_BUDGET_MIB  # None: no limit

    def deadline(self, task: Task) -> float:
        return self.seconds + (task.reproduce.budget_s if task.reproduce else 0.0)


def student_id(folder: str | Path) -> str:
    """A submission's student: the folder's name (as a course platform's export names it)."""
    return Path(folder).resolve().name or str(folder)


# ------------------------------------------------------------------------------------ one task


class OverBudget(BaseException):
    """The time budget ran out. A BaseException, as KeyboardInterrupt is: the checks catch
    Exception to turn a parser's failure into evidence ("report.pdf damaged"), and the timer must
    not be taken for the student's fault there."""


def run_task(task: Task, on_reproduce: Callable[[], None] = lambda: None) -> Outcome:
    """Grade one submission (and reproduce its runs, fingerprint it). Any failure becomes a row:
    a folder that is not a report, memory exhausted, or a fault of the grader's own."""
    t0 = time.perf_counter()
    out = Outcome(task.folder, None)
    sub = Submission(task.folder, runs_dir=task.runs_dir)
    if (why := _too_large_for(task)) is not None:
        out.result = NotGraded(report_dir=task.folder, retry=True, error=why)
        return out
    try:
        if not task.fingerprint_only:
            out.result = score(sub, task.rubric)
        out.fingerprint = fingerprint(sub, student_id(task.folder))
    except NotAReport as exc:
        if not task.many:
            raise
        out.result = NotGraded(report_dir=task.folder, error=_short(exc, task.folder))
    except MemoryError:
        out.result = NotGraded(report_dir=task.folder, retry=True,
                               error="over the memory budget: the submission is too large to grade")
    except Exception as exc:  # noqa: BLE001 - one submission's fault must not end the batch
        out.result = NotGraded(report_dir=task.folder, retry=True,
                               error=f"grading failed ({type(exc).__name__}: {str(exc)[:300]})")
    if task.reproduce and isinstance(out.result, CheckResult):
        on_reproduce()
        out.reproduction = reproduce_claims(sub, task.reproduce)
    out.seconds = time.perf_counter() - t0
    return out


def reproduce_claims(sub: Submission, r: Reproduce, echo: Callable[[str], None] = lambda _: None) -> Reproduction:
    """`--reproduce`: a fault while retraining is the grader's problem, said in the row, not a crash."""
    from cnnreport.rubric.reproduce import not_attempted, reproduce  # the training stack: only when asked

    try:
        return reproduce(sub, r.runs, r.seed, Path(r.scratch) if r.scratch else None,
                         Path(r.data_dir) if r.data_dir else None, echo)
    except Exception as exc:  # noqa: BLE001 - e.g. the backend failing on this machine
        return not_attempted(r.runs, r.seed, f"retraining failed here ({type(exc).__name__}: {str(exc)[:300]})")


def _too_large_for(task: Task) -> str | None:
    """Why the submission's files need more memory to check than the budget allows, else None."""
    if task.memory_mib is None:
        return None
    size = 0
    for name in ("report.json", "report.html"):
        path = inside(Path(task.folder), name)
        try:
            size += path.stat().st_size if path is not None and path.is_file() else 0
        except OSError:
            pass
    need = MEMORY_PER_BYTE * size / 2**20
    if need <= task.memory_mib:
        return None
    return (f"over the memory budget: report.json and report.html ({size / 2**20:.0f} MiB) need about "
            f"{need:.0f} MiB to check, over the {task.memory_mib} MiB a submission may take (--memory-budget)")


def _short(exc: Exception, folder: str) -> str:
    """The reason without the folder's path, which the row names already."""
    message = str(exc)
    for where in (Path(folder).resolve(), Path(folder)):
        for prefix in (f"{where / 'report.json'}: ", f"{where}: "):
            if message.startswith(prefix):
                return message[len(prefix):]
    return message


def over_budget(task: Task, budget: Budget) -> Outcome:
    return Outcome(task.folder, NotGraded(
        report_dir=task.folder, retry=True,
        error=f"over the time budget of {budget.deadline(task):.0f} s per submission: not graded "
              "(--time-budget gives more)"))


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise OverBudget in this thread after `seconds` (POSIX main thread; elsewhere no limit)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise OverBudget

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def grade_here(task: Task, budget: Budget) -> Outcome:
    """One submission in this process, within the time budget (grading; reproduction after)."""
    grading = replace(task, reproduce=None)
    try:
        with time_limit(budget.seconds):
            out = run_task(grading)
    except OverBudget:
        return over_budget(grading, budget)
    if task.reproduce and isinstance(out.result, CheckResult):
        out.reproduction = reproduce_claims(Submission(task.folder, runs_dir=task.runs_dir), task.reproduce,
                                            echo=lambda m: print(m, file=sys.stderr, flush=True))
    return out


# --------------------------------------------------------------------------------- the workers


def _limit_memory(mib: int | None) -> None:
    """Let this process's address space grow by `mib` MiB over what it holds now (soft limit:
    lifted again before training, which maps far more address space than it uses)."""
    if mib is None:
        return
    try:
        import resource

        with open("/proc/self/status", encoding="ascii") as f:
            held = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (held + mib * 2**20, hard))
    except (ImportError, OSError, ValueError, StopIteration):
        pass  # no RLIMIT_AS or no /proc (not Linux): the file size limit alone bounds memory


def _lift_memory_limit() -> None:
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    except (ImportError, OSError, ValueError):
        pass


def _serve(conn: Connection, memory_mib: int | None) -> None:
    """A worker: grade what the parent sends until it sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        _limit_memory(memory_mib)
        try:
            outcome = run_task(task, on_reproduce=_lift_memory_limit)
        except MemoryError:
            outcome = Outcome(task.folder, NotGraded(report_dir=task.folder, retry=True,
                                                     error="over the memory budget: the submission is too large to grade"))
        _lift_memory_limit()
        conn.send(outcome)


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])  # the grader imported once, in the server
        return ctx
    return multiprocessing.get_context("spawn")


@dataclass
class _Worker:
    process: Any
    conn: Connection
    task: Task | None = None
    started: float = 0.0

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


@dataclass
class Pool:
    """At most `jobs` workers; a worker past its task's deadline is killed and replaced."""

    jobs: int
    budget: Budget
    _ctx: Any = field(default_factory=_context)
    _workers: list[_Worker] = field(default_factory=list)

    def _start(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_serve, args=(child, self.budget.memory_mib), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def run(self, tasks: list[Task], on_outcome: Callable[[Outcome], None]) -> None:
        todo = deque(tasks)
        try:
            while todo or any(w.task for w in self._workers):
                while todo and (idle := self._idle()) is not None:
                    idle.task, idle.started = todo.popleft(), time.monotonic()
                    idle.conn.send(idle.task)
                busy = [w for w in self._workers if w.task]
                now = time.monotonic()
                timeout = max(0.0, min(w.started + self.budget.deadline(w.task) - now for w in busy))
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=timeout)
                for w in busy:
                    if w.conn in ready:
                        try:
                            outcome = w.conn.recv()
                        except (EOFError, OSError):
                            outcome = self._ended(w)
                        w.task = None
                        on_outcome(outcome)
                    elif w.process.sentinel in ready:
                        on_outcome(self._ended(w))
                    elif time.monotonic() >= w.started + self.budget.deadline(w.task):
                        task = w.task
                        self._replace(w)
                        on_outcome(over_budget(task, self.budget))
        finally:
            self.close()

    def _idle(self) -> _Worker | None:
        for w in self._workers:
            if w.task is None:
                return w
        if len(self._workers) < self.jobs:
            self._workers.append(self._start())
            return self._workers[-1]
        return None

    def _ended(self, w: _Worker) -> Outcome:
        """The worker died under its task (killed by the system for memory, a crash in C)."""
        task = w.task
        code = w.process.exitcode
        self._replace(w)
        assert task is not None
        return Outcome(task.folder, NotGraded(report_dir=task.folder, retry=True,
                                              error=f"grading stopped: the grading process ended (exit code {code})"))

    def _replace(self, w: _Worker) -> None:
        w.stop()
        self._workers.remove(w)

    def close(self) -> None:
        for w in self._workers:
            if w.task is None and w.process.is_alive():
                try:
                    w.conn.send(None)
                except OSError:
                    pass
            w.stop()
        self._workers.clear()


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def grade_all(tasks: list[Task], jobs: int, budget: Budget, on_outcome: Callable[[Outcome], None],
              in_process: bool = False) -> None:
    """Grade every task, calling on_outcome as each finishes (in the order they finish)."""
    if in_process:
        for task in tasks:
            on_outcome(grade_here(task, budget))
        return
    Pool(max(1, min(jobs, len(tasks))), budget).run(tasks, on_outcome)
