"""The sandbox: one forked child per job, with an address-space cap and a timeout.

The child sets RLIMIT_AS, enables faulthandler (its dump names the Python frame of a crash, and a
dump shortly before the timeout names where a hang is), runs the job and reports JSON lines
through a pipe. The parent enforces the timeout with SIGKILL and classifies by exit status:
killed by a signal -> "crash", timed out -> "hang", otherwise the child's own classification.
`run_jobs` keeps up to N children in flight. The parent itself never runs a model, so no kernel
or BLAS thread pool exists when it forks.
"""

from __future__ import annotations

import faulthandler
import json
import mmap
import os
import re
import resource
import select
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .case import classify, where

Job = Callable[[Callable[[dict], None]], dict | None]  # job(send) -> extra result fields
FINDINGS = ("untyped", "crash", "hang", "memory", "memory-wrapped")
_FRAME = re.compile(r'^\s+File "(.+)", line (\S+) in (.+)$')


@dataclass
class Result:
    """What happened to one job. `klass` is ok, loaded, typed, fuzzer-error or one of FINDINGS."""

    key: Any
    klass: str
    error: str = ""
    signature: str = ""
    message: str = ""
    traceback: str = ""
    stage: str = ""
    frame: str = ""  # innermost repository frame ("" when none was found)
    seconds: float = 0.0
    info: dict = field(default_factory=dict)  # the job's own messages ("prep" and others)
    workdir: str = ""


@dataclass
class _Child:
    key: Any
    pid: int
    fd: int
    deadline: float
    started: float
    workdir: Path
    page: mmap.mmap  # shared with the child: its last "mark" message, readable after it died
    buffer: bytearray = field(default_factory=bytearray)


def _child(
    job: Job, write_fd: int, page: mmap.mmap, workdir: Path, timeout: float, mem_bytes: int
) -> None:
    """Runs in the forked child; never returns. `send` writes a message to the pipe, except a
    {"type": "mark"} message, which overwrites the shared page (cheap enough for every node)."""
    code = 0
    try:
        out = os.fdopen(write_fd, "w", buffering=1)
        log = open(workdir / "child.log", "w")  # noqa: SIM115 - lives until os._exit
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        os.chdir(workdir)  # the job writes its files here
        if mem_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        # a library loaded in the parent may have installed its own handler for a fatal signal
        # that returns (so the planted or real crash would go on as if nothing happened):
        # faulthandler chains to whatever it replaces, so that must be the default action
        for fatal in (signal.SIGSEGV, signal.SIGFPE, signal.SIGBUS, signal.SIGILL):
            signal.signal(fatal, signal.SIG_DFL)
        faulthandler.enable(file=log, all_threads=True)
        faulthandler.dump_traceback_later(max(0.2, timeout - min(1.0, timeout / 10)), file=log)

        def send(msg: dict) -> None:
            if msg.get("type") == "mark":
                data = json.dumps(msg, default=repr).encode()[: len(page) - 1] + b"\0"
                page[: len(data)] = data
            else:
                out.write(json.dumps(msg, default=repr) + "\n")

        try:
            extra = job(send) or {}
            send({"type": "result", "klass": "ok", **extra})
        except BaseException as err:  # the point: every escape is classified, none kills us
            send({"type": "result", **classify(err)})
        out.flush()
    except BaseException:
        code = 70
    finally:
        os._exit(code)


def _start(key: Any, job: Job, base: Path, timeout: float, mem_bytes: int) -> _Child:
    workdir = Path(tempfile.mkdtemp(prefix="case-", dir=base))
    read_fd, write_fd = os.pipe()
    page = mmap.mmap(-1, 4096)  # anonymous and shared
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(job, write_fd, page, workdir, timeout, mem_bytes)
    os.close(write_fd)
    now = time.monotonic()
    return _Child(key, pid, read_fd, now + timeout, now, workdir, page)


def _finish(child: _Child, status: int, timed_out: bool) -> Result:
    while chunk := os.read(child.fd, 1 << 16):  # the child is gone: read up to EOF
        child.buffer += chunk
    os.close(child.fd)
    mark = child.page[:].split(b"\0", 1)[0]
    child.page.close()
    messages = [json.loads(mark)] if mark else []
    for line in bytes(child.buffer).decode("utf-8", "replace").splitlines():
        try:
            messages.append(json.loads(line))
        except ValueError:
            pass
    info = {k: v for m in messages if m.get("type") != "result" for k, v in m.items()}
    stage = next((m["stage"] for m in reversed(messages) if m.get("type") == "stage"), "")
    final = next((m for m in messages if m.get("type") == "result"), None)
    result = Result(child.key, "ok", stage=stage, info=info, workdir=str(child.workdir))
    result.seconds = round(time.monotonic() - child.started, 3)
    log = _read_log(child.workdir)
    if final is None and "Timeout (" in log:  # the dump before the kill can itself crash
        timed_out = True
    if timed_out or os.WIFSIGNALED(status) or final is None:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        name = signal.Signals(sig).name if sig else f"exit {os.WEXITSTATUS(status)}"
        result.klass, result.error = ("hang", "timeout") if timed_out else ("crash", name)
        marker = "Timeout (" if timed_out else "Fatal Python error"
        result.frame = _innermost(log, marker, timed_out)
        result.signature = f"{'hang' if timed_out else name}@{result.frame or stage}"
        start = log.find(marker)
        result.traceback = log[start : start + 3000] if start >= 0 else log[-3000:]
    else:
        for key in ("klass", "error", "signature", "message", "traceback", "frame"):
            setattr(result, key, final.get(key, getattr(result, key)))
        extra = {k: v for k, v in final.items() if k not in ("type", "klass", "error")}
        result.info.update({k: v for k, v in extra.items() if not hasattr(result, k)})
    return result


def _read_log(workdir: Path) -> str:
    try:
        return (workdir / "child.log").read_text("utf-8", "replace")[-20000:]
    except OSError:
        return ""


def _innermost(log: str, marker: str, hang: bool = False) -> str:
    """The innermost repository frame of the first faulthandler dump after `marker`. For a hang,
    the outermost op or kernel frame instead (a slow Python loop is caught anywhere inside it)."""
    from .case import _in_repo

    start = log.find(marker)
    if start < 0:
        return ""
    frames: list[str] = []
    stack = False
    for line in log[start:].splitlines():
        m = _FRAME.match(line)
        if stack and not m:
            break  # the end of the first thread's stack
        stack = bool(m)
        if m and _in_repo(m.group(1)):
            frames.append(where(m.group(1), m.group(3).strip()))
    ops = [f for f in frames if f.startswith(("refimpl/ops/", "cython_kernels/"))]
    return (ops[-1] if hang and ops else frames[0]) if frames else ""


def run_jobs(
    jobs: Iterable[tuple[Any, Job]],
    *,
    workers: int = 1,
    timeout: float = 20.0,
    mem_bytes: int = 4 * 2**30,
    base: Path | None = None,
) -> Iterator[Result]:
    """Runs each (key, job) in its own sandboxed child, up to `workers` at a time; yields Results
    as they finish (not in order). Workdirs are left under `base` for the caller to keep or
    delete."""
    base = Path(base or tempfile.mkdtemp(prefix="gossamer-fuzz-"))
    pending = iter(jobs)
    active: dict[int, _Child] = {}
    exhausted = False
    while active or not exhausted:
        while not exhausted and len(active) < workers:
            try:
                key, job = next(pending)
            except StopIteration:
                exhausted = True
                break
            child = _start(key, job, base, timeout, mem_bytes)
            active[child.fd] = child
        if not active:
            break
        wait = max(0.0, min(c.deadline for c in active.values()) - time.monotonic())
        readable, _, _ = select.select(list(active), [], [], min(wait, 0.5))
        for fd in readable:
            chunk = os.read(fd, 1 << 16)
            if chunk:
                active[fd].buffer += chunk
                continue
            child = active.pop(fd)  # EOF: the child exited (or is about to)
            _, status = os.waitpid(child.pid, 0)
            yield _finish(child, status, False)
        now = time.monotonic()
        for fd in [fd for fd, c in active.items() if c.deadline <= now]:
            child = active.pop(fd)
            pid, status = os.waitpid(child.pid, os.WNOHANG)
            if pid == 0:  # still running (it may have finished while the caller was busy)
                os.kill(child.pid, signal.SIGKILL)
                _, status = os.waitpid(child.pid, 0)
            yield _finish(child, status, pid == 0)


def run_in_sandbox(
    fn: Callable[[], Any], *, timeout: float = 20.0, mem_bytes: int = 4 * 2**30
) -> Result:
    """Runs one callable in the sandbox and classifies it, as a fuzz case would be (for tests of
    the machinery: planted crashes, hangs and untyped errors)."""

    def job(send: Callable[[dict], None]) -> None:
        fn()

    with tempfile.TemporaryDirectory(prefix="gossamer-fuzz-") as base:
        return next(run_jobs([(0, job)], timeout=timeout, mem_bytes=mem_bytes, base=Path(base)))
