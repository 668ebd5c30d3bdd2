"""The Sandbox and Backend contracts: run a command with a real timeout and capped output, read/write
files, diff; and start such sandboxes for tasks.

Where a sandbox lives (a local Docker container, a container on a Ray cluster's node, a fake in memory)
is the backend's business; what an agent can do in it is this protocol. A failing command is not an
error: it returns its output and exit code. Only infrastructure faults raise (:class:`InfraError`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..tasks.task import Task

WORKDIR = "/testbed"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox and of each command run in it.

    The defaults keep a hostile or broken command from hurting the host or the other sandboxes, while
    leaving room for real test suites.
    """

    memory: str = "2g"  # container memory; swap is disabled (memswap = memory)
    cpus: float = 1.0  # CPU share per container
    pids: int = 512  # process count: a fork bomb stops here
    command_timeout: float = 120.0  # seconds; the command is killed inside the container after this
    output_head: int = 12_000  # bytes of output kept from the start of a command's output
    output_tail: int = 4_000  # bytes kept from the end, after a truncation marker
    output_hard_limit: int = 16 * 1024 * 1024  # a command that prints more than this is stopped (SIGPIPE)
    max_background: int = 32  # more leftover processes than this after a command: all are killed
    max_file_size: int = 1 << 30  # bytes per written file (RLIMIT_FSIZE); bounds "fill the disk" per file
    storage: str | None = None  # total writable-layer size (docker storage_opt), where the driver supports it

    def __post_init__(self) -> None:
        if self.command_timeout <= 0:
            raise ValueError(f"command_timeout must be positive, got {self.command_timeout}")
        if self.output_head < 0 or self.output_tail < 0:
            raise ValueError("output_head and output_tail must be >= 0")
        if self.pids < 16:
            raise ValueError(f"pids must be at least 16 for a shell to work, got {self.pids}")


@dataclass(frozen=True)
class ExecResult:
    """The outcome of one command. ``output`` is stdout and stderr interleaved, decoded safely."""

    output: str
    exit_code: int
    timed_out: bool = False
    truncated: bool = False
    duration: float = 0.0
    killed_background: int = 0  # leftover processes killed because there were too many
    output_bytes: int = 0  # total bytes the command printed (at least this many when truncated)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@runtime_checkable
class Sandbox(Protocol):
    """An isolated working copy of a repository at ``/testbed``, prepared for one task."""

    @property
    def base_commit(self) -> str:
        """The commit the task starts from; :meth:`diff` is taken against it."""
        ...

    def exec(
        self,
        command: str,
        *,
        timeout: float | None = None,
        workdir: str = WORKDIR,
        env: dict[str, str] | None = None,
        max_output: int | None = None,
    ) -> ExecResult:
        """Run ``command`` with bash; it is killed inside the sandbox after ``timeout`` seconds.

        ``max_output`` keeps that many bytes of output whole (for diffs and test logs) instead of the
        sandbox's head/tail limits.
        """
        ...

    def read_file(self, path: str) -> bytes:
        """The bytes of ``path``; raises ``FileNotFoundError`` or ``IsADirectoryError``."""
        ...

    def write_file(self, path: str, data: bytes) -> None:
        """Write ``data`` to ``path``, creating parent directories."""
        ...

    def diff(self) -> str:
        """The diff of ``/testbed`` against the base commit, new files included, ignored files left out."""
        ...

    def close(self) -> None:
        """Release the sandbox; safe to call more than once."""
        ...


@runtime_checkable
class Backend(Protocol):
    """Where sandboxes live: a local Docker daemon, a Ray cluster's nodes, memory (the fake).

    The env and the grader reach sandboxes only through this protocol. Optional, duck-typed extras:
    ``prefetch(task, count=1)`` (a hint that ``task`` will be started soon: a warm pool prepares it),
    ``stats()`` (a dict of counters such as pool hits), ``limits`` (the :class:`Limits` its sandboxes run
    with), ``predict_upcoming`` (set by an env that owns the backend: a callable giving the tasks its
    next resets most likely start, for the pool to prepare ahead; see :func:`unasked`).
    """

    def start(self, task: Task, *, role: str = "agent") -> Sandbox:
        """A fresh sandbox at ``task``'s starting state; ``role`` is ``"agent"`` (an episode's) or
        ``"grader"`` (a clean one that grades a patch). Infrastructure faults raise :class:`InfraError`."""
        ...

    def close(self) -> None:
        """Remove every sandbox this backend still holds; safe to call more than once."""
        ...


def unasked(asked: list[Any], started: Any, upcoming: list[Any]) -> list[Any]:
    """The tasks of ``upcoming`` (a new prediction of the next resets) that were not asked for already.

    ``asked`` is the prediction made at the previous start; the one this start (``started``) served leaves
    it, and what remains was asked for then - a prediction two ahead was asked for one reset ago - so
    only the rest of ``upcoming`` is new, unless the predictions disagree (then all of it is).
    """
    pending = asked[1:] if asked and asked[0].instance_id == started.instance_id else asked
    ids = [task.instance_id for task in upcoming]
    done = len(pending) if [task.instance_id for task in pending] == ids[: len(pending)] else 0
    return upcoming[done:]


def decode(data: bytes) -> str:
    """Bytes to text without ever failing: invalid UTF-8 becomes U+FFFD, NUL bytes are dropped."""
    return data.decode("utf-8", errors="replace").replace("\x00", "")


def format_observation(result: ExecResult, timeout: float | None = None) -> str:
    """The text an agent sees for a bash command: output, then notes on exit code, timeout and kills."""
    notes = []
    if result.timed_out:
        notes.append(
            f"[command timed out after {timeout or result.duration:g} s and was killed; "
            "run long jobs with a shorter scope or in the background with output to a file]"
        )
    if result.killed_background:
        notes.append(f"[{result.killed_background} leftover background processes were killed: too many]")
    if not result.timed_out and result.exit_code != 0:
        notes.append(f"[exit code {result.exit_code}]")
    output = result.output if result.output.strip() else "(no output)\n"
    if not output.endswith("\n"):
        output += "\n"
    return output + "".join(note + "\n" for note in notes)


def quote(path: str) -> str:
    return shlex.quote(path)
