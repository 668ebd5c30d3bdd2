"""Where a record's files come from: memory, a tree of a local git repository, a task's sandbox.

Each is a :class:`Files` (list the paths, read some of them). For tasks, a :data:`FileSource` opens
the files of a task's starting state:

- :func:`builtin_files` - the project's own libraries, in memory (built-in and synthesized tasks);
- :func:`checkout_files` - a local clone of the repository, read at ``base_commit`` (the task's
  ``setup_patch``, if any, applied on top);
- :func:`image_files` - the task's image, started in a sandbox at the task's starting state.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import TaskError
from ..patches import PatchError, apply_patch, patch_paths, split_patch
from ..synth.repo import git_files
from ..tasks.task import Task
from .files import decode_text, is_generated


class Files(Protocol):
    """The files of one state of a repository."""

    def paths(self) -> list[str]: ...
    def read(self, paths: Sequence[str]) -> dict[str, bytes]: ...  # those of ``paths`` that exist
    def close(self) -> None: ...


FileSource = Callable[[Task], Files]


class MemoryFiles:
    """Files held in memory (path -> text or bytes)."""

    def __init__(self, files: Mapping[str, str | bytes]) -> None:
        self.files = {p: d.encode("utf-8") if isinstance(d, str) else d for p, d in files.items()}

    def paths(self) -> list[str]:
        return sorted(self.files)

    def read(self, paths: Sequence[str]) -> dict[str, bytes]:
        return {p: self.files[p] for p in paths if p in self.files}

    def close(self) -> None:
        pass


class GitTreeFiles:
    """The files of ``commit`` in a local git repository, with ``setup_patch`` (if any) applied on top."""

    def __init__(self, repo: str | Path, commit: str, setup_patch: str = "") -> None:
        self.repo, self.commit, self.setup_patch = Path(repo), commit, setup_patch
        done = subprocess.run(["git", "-C", str(self.repo), "ls-tree", "-r", "-z", "--name-only", "--full-tree", commit],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise TaskError(f"git ls-tree {commit} failed in {self.repo}: {done.stderr[-500:]}")
        names = {name for name in done.stdout.split("\0") if name}
        for part in split_patch(setup_patch):
            names.discard(part.old_path or "")
            if part.new_path:
                names.add(part.new_path)
        self.names = sorted(names)

    def paths(self) -> list[str]:
        return self.names

    def read(self, paths: Sequence[str]) -> dict[str, bytes]:
        if not self.setup_patch:
            return git_files(self.repo, self.commit, list(paths))
        touched = patch_paths(self.setup_patch)
        raw = git_files(self.repo, self.commit, sorted(set(paths) | touched))
        texts = {p: decode_text(d) for p, d in raw.items() if p in touched}
        if any(text is None for text in texts.values()):
            raise TaskError(f"the setup patch touches a binary file of {self.repo}")
        try:
            patched = apply_patch({p: t for p, t in texts.items() if t is not None}, self.setup_patch)
        except PatchError as error:
            raise TaskError(f"the setup patch does not apply at {self.commit} in {self.repo}: {error}") from None
        raw = {p: d for p, d in raw.items() if p not in touched}
        raw.update({p: t.encode("utf-8") for p, t in patched.items()})
        return {p: raw[p] for p in paths if p in raw}

    def close(self) -> None:
        pass


class SandboxFiles:
    """The files under /testbed of a sandbox (closed with it)."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox

    def paths(self) -> list[str]:
        # one path a line (command output loses NUL bytes); a name git must quote (a newline in it) is skipped
        result = self.sandbox.exec("git -c core.quotePath=off ls-files", timeout=120, max_output=256 * 1024 * 1024)
        if not result.ok:
            raise TaskError(f"git ls-files failed in the task's sandbox: {result.output[-500:]}")
        return sorted(name for name in result.output.splitlines() if name.strip() and not name.startswith('"'))

    def read(self, paths: Sequence[str]) -> dict[str, bytes]:
        out = {}
        for path in paths:
            try:
                out[path] = self.sandbox.read_file(f"/testbed/{path}")
            except (FileNotFoundError, IsADirectoryError):
                continue
        return out

    def close(self) -> None:
        self.sandbox.close()


def builtin_files(task: Task) -> Files:
    """The starting state of a built-in or synthesized task: its library plus the setup patch."""
    from ..tasks.builtin import starting_files

    files = starting_files(task)
    if files is None:
        raise TaskError(f"{task.instance_id}: not a task on the built-in libraries; give a checkout or read its image")
    return MemoryFiles(files)


def checkout_files(root: str | Path) -> FileSource:
    """Files from local clones: ``root`` is the repository's clone, or a folder of clones named
    ``owner__name`` (SWE-bench's spelling) or ``name``."""
    base = Path(root).expanduser().resolve()
    if not base.is_dir():
        raise TaskError(f"checkout {base} is not a directory")

    def open_task(task: Task) -> Files:
        if not task.base_commit:
            raise TaskError(f"{task.instance_id}: no base_commit to read a checkout at")
        owner, _, name = task.repo.partition("/")
        tried = [base, base / f"{owner}__{name}", base / name]
        for candidate in tried:
            if (candidate / ".git").exists() and _has_commit(candidate, task.base_commit):
                return GitTreeFiles(candidate, task.base_commit, task.setup_patch)
        raise TaskError(f"{task.instance_id}: no clone holds {task.repo} at {task.base_commit} "
                        f"(looked in {', '.join(str(p) for p in tried)})")

    return open_task


def _has_commit(repo: Path, commit: str) -> bool:
    done = subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True)
    return done.returncode == 0


def image_files(backend: Any) -> FileSource:
    """Files read from the task's image: a sandbox at its starting state, started by ``backend``."""
    return lambda task: SandboxFiles(backend.start(task, role="audit"))


def read_related(files: Files, ranked: Sequence[str], count: int, max_bytes: int) -> dict[str, str]:
    """The first ``count`` of the ``ranked`` paths that are text (not empty: an empty ``__init__.py`` shows
    nothing), not generated and at most ``max_bytes``."""
    chosen: dict[str, str] = {}
    cursor = 0
    while len(chosen) < count and cursor < len(ranked):
        batch = ranked[cursor : cursor + 2 * count]
        cursor += len(batch)
        read = files.read(batch)
        for path in batch:
            text = decode_text(read.get(path))
            if text is None or not text.strip() or len(read[path]) > max_bytes or is_generated(path, text):
                continue
            if len(chosen) < count:
                chosen[path] = text
    return chosen
