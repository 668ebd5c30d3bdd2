"""An in-memory sandbox and backend, for unit tests and ``check_env``: no Docker, no processes.

Files live in a dict; commands go to a handler (a function the test provides); the diff is computed
from the files. It behaves like the contract, never like a shell. Its grader
(:class:`swe_gym_env.grading.fake.FakeGrader`) compares files instead of running tests.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Mapping

from ..patches import make_patch
from ..tasks.builtin import starting_files
from ..tasks.task import Task
from .base import WORKDIR, ExecResult, Limits

Handler = Callable[[str], ExecResult]


def _relative(path: str) -> str:
    path = posixpath.normpath(posixpath.join(WORKDIR, path))
    return posixpath.relpath(path, WORKDIR) if path == WORKDIR or path.startswith(WORKDIR + "/") else path


class FakeSandbox:
    """A dict of files under /testbed and a command handler."""

    def __init__(self, files: Mapping[str, str] | None = None, handler: Handler | None = None) -> None:
        self.initial = dict(files or {})
        self.files = dict(self.initial)
        self.handler = handler
        self.commands: list[str] = []
        self.closed = False

    @property
    def base_commit(self) -> str:
        return "0" * 40

    def exec(self, command, *, timeout=None, workdir=WORKDIR, env=None, max_output=None) -> ExecResult:
        if self.closed:
            raise RuntimeError("the fake sandbox is closed")
        self.commands.append(command)
        if self.handler is not None:
            return self.handler(command)
        return self._builtin(command)

    def _builtin(self, command: str) -> ExecResult:
        """The few commands the tools themselves issue (find for directory views, rm for undo)."""
        words = shlex.split(command) if command.strip() else []
        if words[:1] == ["find"] and len(words) > 1:
            root = _relative(words[1])
            prefix = "" if root in (".", "") else root + "/"
            names = sorted(p for p in self.files if p.startswith(prefix))
            return ExecResult("\n".join(posixpath.join(WORKDIR, p) for p in names) + "\n", 0)
        if words[:2] == ["rm", "-f"]:
            for path in words[2:]:
                if path != "--":
                    self.files.pop(_relative(path), None)
            return ExecResult("", 0)
        if re.fullmatch(r"\s*echo\s+(.*)", command):
            return ExecResult(" ".join(words[1:]) + "\n", 0)
        return ExecResult(f"(fake sandbox: no handler for {command!r})\n", 0)

    def read_file(self, path: str) -> bytes:
        rel = _relative(path)
        if rel in self.files:
            return self.files[rel].encode()
        prefix = "" if rel == "." else rel + "/"
        if rel == "." or any(p.startswith(prefix) for p in self.files):
            raise IsADirectoryError(path)
        raise FileNotFoundError(path)

    def write_file(self, path: str, data: bytes) -> None:
        self.files[_relative(path)] = data.decode("utf-8", errors="replace")

    def diff(self) -> str:
        return make_patch(self.initial, self.files)

    def close(self) -> None:
        self.closed = True


class FakeBackend:
    """Starts :class:`FakeSandbox` es holding ``files_for(task)`` (built-in tasks: their real files)."""

    def __init__(
        self,
        files_for: Callable[[Task], dict[str, str]] | None = None,
        handler: Handler | None = None,
        limits: Limits | None = None,
    ) -> None:
        self._files_for = files_for
        self.handler = handler
        self.limits = limits or Limits()  # reported like a real backend's; a fake command never runs long
        self.started: list[FakeSandbox] = []

    def files_for(self, task: Task) -> dict[str, str]:
        if self._files_for is not None:
            return dict(self._files_for(task))
        return starting_files(task) or {}

    def start(self, task: Task, *, role: str = "agent") -> FakeSandbox:
        sandbox = FakeSandbox(self.files_for(task), self.handler)
        self.started.append(sandbox)
        return sandbox

    def close(self) -> None:
        """Nothing to release: fake sandboxes live in memory."""
