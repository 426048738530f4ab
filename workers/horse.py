"""Work horses that serve many jobs: fork once, then hand the horse one job at a time over a pipe.

Why: on a warm worker (pandas, pyarrow and the readers imported), a fresh fork per job costs about
20 ms of CPU, most of it in the kernel: page tables, copy-on-write and code-page faults over
hundreds of MB, then tearing it all down. That is more than ingesting a 10k-row file, so a burst of
small files drained at under 40 % of an in-process loop. A horse that stays pays it once.

What stays as in RQ: the parent dequeues, heartbeats, kills the horse at the job's timeout + 60 s,
and turns a horse that died mid-job into a failed job with its Retry budget. The job still runs in
a process apart from the parent, which survives a segfault or the OOM killer, and a horse whose
parent is SIGKILLed finishes its job (recovery relies on that). What changes: the horse fetches the
job, queue and execution from Redis (as rq's own SpawnWorker does) and answers on a pipe. It retires
(exits; the next job forks a fresh one) after ``max_jobs`` jobs or once its RSS passes
``max_rss_mb``, so neither a leak nor one big file's memory stays. ``max_jobs=1`` is RQ's classic
fork per job. An idle horse exits when its parent goes: it reads end-of-file on the job pipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import signal
import time
from pathlib import Path
from typing import Any, NoReturn

from rq import Queue, Worker
from rq.executions import Execution
from rq.job import Job
from rq.worker.base import logger as rq_logger

__all__ = ["Horse", "ReusingWorker"]

DONE, RETIRE = "done", "retire"
RETIRE_WAIT_S = 5.0
"""How long a stopping worker waits for its idle horse to exit before it SIGKILLs it."""


class Horse:
    """The parent's handle on one horse: its pid, the pipe it reads jobs from, the pipe it answers on."""

    def __init__(self, pid: int, jobs_w: int, replies_r: int) -> None:
        self.pid = pid
        self.jobs_w: int | None = jobs_w
        self.replies_r = replies_r
        self._buffer = b""

    def send(self, job_id: str, queue_name: str, execution_id: str) -> None:
        """Raises BrokenPipeError when the horse died while idle."""
        if self.jobs_w is None:
            raise BrokenPipeError("the horse's job pipe is closed")
        order = {"job": job_id, "queue": queue_name, "execution": execution_id}
        os.write(self.jobs_w, json.dumps(order).encode() + b"\n")

    def read_reply(self) -> str | None:
        """Block until the horse says ``done`` or ``retire``; None when it died (end of file).

        RQ's monitor interrupts this with SIGALRM every few seconds to heartbeat; ``select`` consumes
        nothing, and a partial line stays in ``_buffer`` for the next call.
        """
        while b"\n" not in self._buffer:
            select.select([self.replies_r], [], [])
            chunk = os.read(self.replies_r, 256)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def close_jobs(self) -> None:
        """End of file on the job pipe: an idle horse exits."""
        if self.jobs_w is not None:
            os.close(self.jobs_w)
            self.jobs_w = None

    def close(self) -> None:
        self.close_jobs()
        with contextlib.suppress(OSError):
            os.close(self.replies_r)


class ReusingWorker(Worker):
    """A forking RQ worker whose work horse serves up to ``horse_max_jobs`` jobs."""

    horse_max_jobs = 200
    horse_max_rss_mb = 1024
    _horse: Horse | None = None

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        """Hand ``job`` to the current horse, forking one first if there is none (or it died idle)."""
        os.environ["RQ_WORKER_ID"] = self.name
        os.environ["RQ_JOB_ID"] = job.id
        assert self.execution is not None  # set by prepare_execution() just before
        horse = self._horse or self._start_horse()
        try:
            horse.send(job.id, queue.name, self.execution.id)
        except BrokenPipeError:
            self._reap(horse)
            horse = self._start_horse()
            horse.send(job.id, queue.name, self.execution.id)
        self._horse_pid = horse.pid
        self.procline(f"Horse {horse.pid} on {job.id} since {time.time()}")  # type: ignore[no-untyped-call]

    def wait_for_horse(self) -> tuple[int | None, int | None, Any]:
        """RQ's contract: (pid, wait status, rusage); status 0 means the job ended normally."""
        horse = self._horse
        if horse is None:
            return None, None, None
        reply = horse.read_reply()
        if reply == DONE:
            return horse.pid, os.EX_OK, None
        return self._reap(horse)  # retired (exit status 0) or died (its real wait status)

    def teardown(self) -> None:
        super().teardown()  # type: ignore[no-untyped-call]
        if not self.is_horse:  # after the scheduler stopped: one forked later holds the job pipe too
            self._retire_horse()

    def _start_horse(self) -> Horse:
        jobs_r, jobs_w = os.pipe()
        replies_r, replies_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the horse
            os.close(jobs_w)
            os.close(replies_r)
            os.setpgrp()
            self._serve(jobs_r, replies_w)
        os.close(jobs_r)
        os.close(replies_w)
        self._horse = Horse(pid, jobs_w, replies_r)
        self.log.debug("Worker %s: forked work horse %s", self.name, pid)
        return self._horse

    def _reap(self, horse: Horse) -> tuple[int | None, int | None, Any]:
        pid = status = rusage = None
        with contextlib.suppress(ChildProcessError):
            pid, status, rusage = os.wait4(horse.pid, 0)
        horse.close()
        if self._horse is horse:
            self._horse = None
        return pid, status, rusage

    def _retire_horse(self) -> None:
        """Stopping: let an idle horse exit by itself; SIGKILL one that does not within seconds."""
        horse = self._horse
        if horse is None:
            return
        horse.close_jobs()
        deadline = time.monotonic() + RETIRE_WAIT_S
        while _running(horse.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            os.kill(horse.pid, signal.SIGKILL)  # a no-op on a horse that already exited (not yet reaped)
        self._reap(horse)

    def _serve(self, jobs_r: int, replies_w: int) -> NoReturn:
        """The horse's life: jobs until end of file, a retirement, or an error RQ did not handle."""
        random.seed()
        self.setup_work_horse_signals()  # type: ignore[no-untyped-call]
        self._is_horse = True
        self.log = rq_logger
        served = 0
        try:
            with os.fdopen(jobs_r, "rb") as jobs:
                for line in jobs:
                    self._perform_order(json.loads(line))
                    served += 1
                    retire = served >= self.horse_max_jobs or _rss_mb() > self.horse_max_rss_mb
                    os.write(replies_w, f"{RETIRE if retire else DONE}\n".encode())
                    if retire:
                        break
        except BaseException:  # as in RQ's main_work_horse: the parent sees the exit status
            os._exit(1)
        os._exit(0)

    def _perform_order(self, order: dict[str, str]) -> None:
        job = self.job_class.fetch(order["job"], connection=self.connection, serializer=self.serializer)
        queue = self.queue_class(order["queue"], connection=self.connection, serializer=self.serializer)
        execution = Execution.fetch(order["execution"], job.id, connection=self.connection)
        self.execution = execution  # rq 3 keeps executions in a dict; perform_job's cleanup pops this one
        os.environ["RQ_JOB_ID"] = job.id
        self.perform_job(job, queue, execution)


def _running(pid: int) -> bool:
    """True while our child ``pid`` has not exited; leaves an exited one for ``_reap`` to collect."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
    except ChildProcessError:
        return False


def _rss_mb() -> float:
    """Resident size now (Linux); 0 where /proc is missing, so only ``max_jobs`` retires horses."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
