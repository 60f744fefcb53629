"""A student's kernel driven from the grader, and proxies for the functions defined in it.

Trustworthy grading (issue 8) keeps the comparison out of the student's reach: the
student's notebook runs in a kernel of its own (under resource limits,
:mod:`deeptheory.course.limits`), while the hidden tests run in the grader process, where
each function the student defined is a :class:`RemoteFunction`. Calling one sends the
arguments into the kernel as plain data (:mod:`deeptheory.course.plain`, never pickle),
calls the student's function there, and brings the result back the same way. The grader
compares it with the reference computed in its own process, with helpers the student's
code never touched; patching ``torch.testing`` or ``assert`` in the kernel changes
nothing.

What crosses back is data: a value, or the name and message of the exception the
student's function raised (re-raised in the grader as a :class:`StudentError` subclass of
that name), or the names of forbidden functions it called (a tripwire inside the kernel,
like :func:`deeptheory.grading.check_against_reference`'s). Timeouts interrupt the
kernel; a kernel that ignores the interrupt, dies or floods its output is reported as
:class:`KernelFailure` with the reason, and the grader flags the submission.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deeptheory.course import limits as _limits
from deeptheory.course import plain
from deeptheory.course.sandbox import Sandbox

__all__ = [
    "Execution",
    "KernelFailure",
    "RemoteFunction",
    "StudentError",
    "StudentKernel",
]

MIME = "application/x-deeptheory-reply+json"

#: Defined in the kernel before any student code: calls a function of the user namespace
#: on decoded arguments and displays the encoded reply under :data:`MIME`.
BOOTSTRAP = f"""
__import__("deeptheory.grading")  # torch's import is paid at start, not in a call


def __deeptheory_call__(name, payload, forbid):
    class ResultNotGradable(Exception):
        pass

    import json, sys
    from IPython import get_ipython
    from IPython.display import display
    from deeptheory.course import plain
    from deeptheory.grading import _watch_calls

    watched = []  # the forbidden modules (if imported) and functions, as objects
    for entry in forbid:
        if entry in sys.modules:
            watched.append(sys.modules[entry])
        elif ":" in entry:
            try:
                watched.append(plain.decode(json.dumps({{"function": entry}})))
            except plain.PlainDataError:
                pass
    try:
        function = get_ipython().user_ns[name]
        args, kwargs = plain.decode(payload)
        with _watch_calls(watched) as watch:
            value = function(*args, **kwargs)
        try:
            encoded = plain.encode(value)
        except plain.PlainDataError as error:
            raise ResultNotGradable(
                f"{{name}} returned something that cannot be graded: {{error}}"
            ) from None
        try:
            after = plain.encode((args, kwargs))
        except plain.PlainDataError as error:
            raise ResultNotGradable(
                f"{{name}} changed its arguments into something that cannot be graded: {{error}}"
            ) from None
        reply = {{
            "value": encoded,
            "after": after,
            "used": sorted(watch.used),
            "unhooked": watch.unhooked,
        }}
    except Exception as error:
        reply = {{"raised": [type(error).__name__, str(error)[:2000]]}}
    display({{{MIME!r}: json.dumps(reply)}}, raw=True)


def __deeptheory_kinds__(names):
    import json
    from IPython import get_ipython
    from IPython.display import display

    space = get_ipython().user_ns
    kinds = {{n: ("function" if callable(space[n]) else "value") for n in names if n in space}}
    display({{{MIME!r}: json.dumps({{"kinds": kinds}})}}, raw=True)
"""


class KernelFailure(RuntimeError):
    """The kernel died, ignored an interrupt, or could not be started: ``reason`` is the
    flag shown to the instructor."""

    __deeptheory_abort__ = True  # check_against_reference stops at once

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class CallTimeout(TimeoutError):
    """A call or cell ran longer than its timeout (the kernel was interrupted)."""

    __deeptheory_abort__ = True


class StudentError(Exception):
    """An exception raised by the student's code in the kernel; subclasses carry its
    name, so a message reads ``ValueError: ...`` as it would in the notebook."""


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,79}$")


def student_error(ename: str, evalue: str) -> StudentError:
    """A :class:`StudentError` whose class is named ``ename`` (when it is an identifier)."""
    name = ename if isinstance(ename, str) and _IDENTIFIER.match(ename) else "Error"
    return _error_class(name)(str(evalue)[:2000])


@functools.lru_cache(maxsize=256)
def _error_class(name: str) -> type[StudentError]:
    # one class per name: hypothesis tells failures apart by their exceptions' types
    return type(name, (StudentError,), {})


@dataclass
class Execution:
    """What one execution produced: nbformat v4 ``outputs``; ``error`` (ename, evalue)
    if it raised; ``timed_out`` if it was interrupted; ``truncated`` if the output
    went beyond the limit and the rest was dropped."""

    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: tuple[str, str] | None = None
    timed_out: bool = False
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out


class StudentKernel:
    """A Python kernel for one submission, started in ``cwd`` under resource limits.

    Use as a context manager; :meth:`close` kills the kernel's whole process group (so
    background processes the student's code started in it go too).

    Args:
      cwd: the kernel's working directory (the submission's scratch directory).
      memory, cpu, processes, file_size: limits of :mod:`deeptheory.course.limits`.
      output_limit: characters of output kept per execution; beyond, outputs are
        dropped and the execution is marked ``truncated``.
      env: extra environment variables for the kernel.
      grace: seconds a timed-out execution has to stop after the interrupt.
      sandbox: run the kernel in this bubblewrap sandbox (its scratch must be ``cwd``);
        the kernel then talks through unix sockets in ``cwd`` and is interrupted by a
        message (a signal would reach bwrap, not the kernel).
      user: user id to run the kernel as (needs root; ``cwd`` is given to that user).
    """

    def __init__(
        self,
        cwd: str | Path,
        *,
        memory: int | None = 4 * 2**30,
        cpu: int | None = 3600,
        processes: int | None = None,
        file_size: int | None = 256 * 2**20,
        output_limit: int = 1_000_000,
        env: dict[str, str] | None = None,
        grace: float = 5.0,
        startup_timeout: float = 60.0,
        sandbox: Sandbox | None = None,
        user: int | None = None,
    ) -> None:
        self.cwd = Path(cwd)
        self.sandbox, self.user = sandbox, user
        self.limits = dict(
            memory=memory, cpu=cpu, processes=processes, file_size=file_size
        )
        self.output_limit = output_limit
        self.env = env or {}
        self.grace = grace
        self.startup_timeout = startup_timeout
        self._km: Any = None
        self._kc: Any = None
        self._specs: tempfile.TemporaryDirectory[str] | None = None
        self.dead: str | None = None  # the reason, once the kernel is unusable

    # -- life cycle -----------------------------------------------------------------

    def __enter__(self) -> StudentKernel:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        self._specs = tempfile.TemporaryDirectory(prefix="deeptheory-kernelspec-")
        folder = Path(self._specs.name) / "deeptheory-student"
        folder.mkdir()
        argv = _limits.command(
            [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            user=self.user,
            orphan=self.sandbox is not None,
            **self.limits,
        )
        spec: dict[str, Any] = {"display_name": "student", "language": "python"}
        if self.sandbox is not None:
            argv = self.sandbox.wrap(argv)
            spec["interrupt_mode"] = "message"
        spec["argv"] = argv
        (folder / "kernel.json").write_text(json.dumps(spec))
        specs = KernelSpecManager(kernel_dirs=[self._specs.name])
        self._km = KernelManager(
            kernel_name="deeptheory-student", kernel_spec_manager=specs
        )
        if self.user is not None:
            os.chown(self.cwd, self.user, self.user)
            os.chmod(self.cwd, 0o700)
        if self.sandbox is not None:  # unix sockets in the scratch directory
            self._km.transport = "ipc"
            self._km.ip = str(self.cwd / "kernel")
        self._km.connection_file = str(self.cwd / "connection.json")
        self._km.write_connection_file()
        if self.user is not None:
            os.chown(self._km.connection_file, self.user, self.user)
        env = _kernel_environment(self.cwd)
        env.update(self.env)
        # the kernel's own stdout and stderr (not its cells' output, which comes as
        # messages) go nowhere: student code could fill a log with them
        self._km.start_kernel(
            cwd=str(self.cwd),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._kc = self._km.client()
        self._kc.start_channels()
        import zmq

        # a message larger than this (which only a hostile kernel sends) is dropped by
        # zmq with its connection: the execution then times out, and is flagged
        for channel in (self._kc.iopub_channel, self._kc.shell_channel):
            channel.socket.setsockopt(zmq.MAXMSGSIZE, 4 * max(self.output_limit, 2**20))
        try:
            self._kc.wait_for_ready(timeout=self.startup_timeout)
        except RuntimeError as error:
            self.close()
            raise KernelFailure("kernel did not start", str(error)) from None
        boot = self.execute(BOOTSTRAP, timeout=self.startup_timeout)
        if not boot.ok:
            self.close()
            raise KernelFailure(
                "kernel did not start", f"bootstrap failed: {boot.error}"
            )

    def close(self) -> None:
        if self._kc is not None:
            self._kc.stop_channels()
            self._kc = None
        if self._km is not None:
            pid = getattr(self._km.provisioner, "pid", None)
            try:
                self._km.shutdown_kernel(now=True)
            except Exception:  # already gone
                pass
            if pid is not None:  # its process group: whatever the student started
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            self._km = None
        if self._specs is not None:
            self._specs.cleanup()
            self._specs = None

    @property
    def pid(self) -> int | None:
        return getattr(self._km.provisioner, "pid", None) if self._km else None

    def processes(self) -> set[int]:
        """The kernel's process and every process below it (children, and orphans that
        the sandbox's first process adopted)."""
        return _descendants(self.pid) if self.pid else set()

    # -- execution --------------------------------------------------------------------

    def execute(self, code: str, *, timeout: float) -> Execution:
        """Run ``code``; outputs collected until the kernel is idle again."""
        if self.dead:
            raise KernelFailure(self.dead)
        kc, result = self._kc, Execution()
        msg_id = kc.execute(code, store_history=False, allow_stdin=False)
        deadline = time.monotonic() + timeout
        interrupted_at: float | None = None
        size = 0
        while True:
            now = time.monotonic()
            if interrupted_at is None and now > deadline:
                self._km.interrupt_kernel()
                interrupted_at, result.timed_out = now, True
            if interrupted_at is not None and now > interrupted_at + self.grace:
                self._fail("timeout (not interruptible)")
            try:
                msg = kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                if not self._km.is_alive():
                    self._fail("kernel died")
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind not in ("stream", "display_data", "execute_result", "error"):
                continue
            output = _output(kind, content)
            size += len(json.dumps(output))
            if size > self.output_limit:
                result.truncated = True
            else:
                result.outputs.append(output)
            if kind == "error":
                result.error = (str(content.get("ename")), str(content.get("evalue")))
        _drain(kc)
        return result

    def call(
        self,
        name: str,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        timeout: float,
        forbid: Sequence[str] = (),
    ) -> tuple[Any, list[str], bool]:
        """``name(*args, **kwargs)`` in the kernel: (value, forbidden functions it called,
        whether it removed the profile hook). Raises :class:`StudentError` (its
        exception), :class:`CallTimeout`, or :class:`KernelFailure`."""
        payload = plain.encode((tuple(args), dict(kwargs or {})))
        code = f"__deeptheory_call__({name!r}, {payload!r}, {list(forbid)!r})"
        run = self.execute(code, timeout=timeout)
        if run.timed_out:
            raise CallTimeout(f"{name} did not return within {timeout:g} s")
        replies = [
            o["data"][MIME]
            for o in run.outputs
            if o["output_type"] == "display_data" and MIME in o.get("data", {})
        ]
        if run.error is not None:  # the helper itself was replaced or broken
            raise student_error(*run.error)
        if not replies:
            raise student_error("Error", f"{name}: no result came back from the kernel")
        try:
            reply = json.loads(replies[-1])
            if "raised" in reply:
                raise student_error(*reply["raised"])
            value = plain.decode(reply["value"])
            after_args, after_kwargs = plain.decode(reply["after"])
            used, unhooked = list(reply["used"]), bool(reply["unhooked"])
        except StudentError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise student_error(
                "Error", f"{name}: its result cannot be graded ({error})"
            ) from None
        # what the call did to its arguments (a consumed generator, an input written
        # into) happens to the caller's arguments too, as in one process
        plain.mirror(list(args), list(after_args))
        plain.mirror(dict(kwargs or {}), after_kwargs)
        return value, [str(u) for u in used], unhooked

    def kinds(self, names: Sequence[str], *, timeout: float = 30.0) -> dict[str, str]:
        """Which of ``names`` the kernel's namespace defines: name → ``"function"``
        (callable) or ``"value"``; undefined names are left out."""
        run = self.execute(
            f"__deeptheory_kinds__({[str(n) for n in names]!r})", timeout=timeout
        )
        for output in reversed(run.outputs):
            if output["output_type"] == "display_data" and MIME in output["data"]:
                try:
                    kinds = json.loads(output["data"][MIME])["kinds"]
                    return {
                        str(k): str(v)
                        for k, v in kinds.items()
                        if k in names and v in ("function", "value")
                    }
                except (ValueError, KeyError, TypeError, AttributeError):
                    break
        return {}

    def function(self, name: str, *, timeout: float = 60.0) -> RemoteFunction:
        return RemoteFunction(self, name, timeout=timeout)

    def _fail(self, reason: str) -> None:
        self.dead = reason
        self.close()
        raise KernelFailure(reason)


class RemoteFunction:
    """The student's function ``name`` in a :class:`StudentKernel`, callable from the
    grader. Inside :func:`deeptheory.grading.check_against_reference` (directly or
    wrapped by a hidden test) it asks the kernel which of the check's forbidden
    functions the call reached, and reports them to the check."""

    def __init__(
        self,
        kernel: StudentKernel,
        name: str,
        *,
        timeout: float | Callable[[], float],
    ) -> None:
        """``timeout``: seconds per call, or a function giving them at each call (the
        time left of a test cell's budget)."""
        self.kernel, self.name, self.timeout = kernel, name, timeout
        self.__name__ = self.__qualname__ = name

    def call(
        self,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        *,
        forbid: Sequence[types.ModuleType | Callable[..., Any]] = (),
    ) -> tuple[Any, list[str], bool]:
        timeout = self.timeout() if callable(self.timeout) else self.timeout
        if timeout <= 0:
            raise CallTimeout(f"{self.name}: no time left in this cell")
        return self.kernel.call(
            self.name, args, kwargs, timeout=timeout, forbid=_names(forbid)
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from deeptheory.grading import CURRENT_WATCH

        watch = CURRENT_WATCH.get()
        value, used, unhooked = self.call(
            args, kwargs, forbid=watch.forbid if watch else ()
        )
        if watch is not None:
            watch.used.update(used)
            watch.unhooked |= unhooked
        return value

    def __repr__(self) -> str:
        return f"<student function {self.name}>"


def _names(forbid: Sequence[types.ModuleType | Callable[..., Any]]) -> list[str]:
    """Module names and ``module:qualname`` of forbidden functions, for the kernel."""
    names = []
    for entry in forbid:
        if isinstance(entry, types.ModuleType):
            names.append(entry.__name__)
        elif hasattr(entry, "__module__") and hasattr(entry, "__qualname__"):
            names.append(f"{entry.__module__}:{entry.__qualname__}")
    return names


def _output(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    """An iopub message's content as an nbformat v4 output."""
    if kind == "stream":
        return {
            "output_type": "stream",
            "name": content["name"],
            "text": content["text"],
        }
    if kind == "error":
        return {
            "output_type": "error",
            "ename": content.get("ename", ""),
            "evalue": content.get("evalue", ""),
            "traceback": content.get("traceback", []),
        }
    output = {
        "output_type": kind,
        "data": content.get("data", {}),
        "metadata": content.get("metadata", {}),
    }
    if kind == "execute_result":
        output["execution_count"] = content.get("execution_count")
    return output


def _drain(kc: Any) -> None:
    """Discard the shell replies (the iopub messages carry what is needed)."""
    while True:
        try:
            kc.get_shell_msg(timeout=0)
        except queue.Empty:
            return


def _descendants(root: int) -> set[int]:
    """``root`` and the processes below it, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return found if root in parents else set()


def _kernel_environment(cwd: Path) -> dict[str, str]:
    """A small environment: nothing of the grader's but what Python needs; HOME and the
    caches inside the scratch directory; one thread; no widget cache."""
    keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        HOME=str(cwd),
        TMPDIR=str(cwd),
        IPYTHONDIR=str(cwd / ".ipython"),
        JUPYTER_RUNTIME_DIR=str(cwd / ".runtime"),
        JUPYTER_DATA_DIR=str(cwd / ".jupyter"),
        MPLCONFIGDIR=str(cwd / ".matplotlib"),
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        DEEPTHEORY_CACHE="",
        HYPOTHESIS_STORAGE_DIRECTORY=str(cwd / ".hypothesis"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    return env
