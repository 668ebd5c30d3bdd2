"""Authoring format of the built-in tasks: a bug, its hidden tests and a wrong fix, as exact text edits.

A built-in task is written once, by hand, as a :class:`TaskSpec` over one of the project's own small
libraries under ``builtin/repos/<library>``. The library as it is stored is the *fixed* code with its
visible test suite. From a spec, :mod:`swe_gym_env.synth.builtin` derives a SWE-bench row:

- the task's starting state = the library with ``bug`` applied (shipped as ``setup_patch``),
- ``patch`` (gold) = the reverse of ``bug``,
- ``test_patch`` = ``hidden_tests`` applied to the library's test files,
- FAIL_TO_PASS / PASS_TO_PASS = measured by running the suite in a container before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` by ``new`` in ``path`` (relative to the repository root).

    ``old`` must occur exactly once in the file. An empty ``old`` appends ``new`` to the end of the
    file, creating the file when it does not exist.
    """

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class TaskSpec:
    """One hand-written built-in task."""

    name: str  # unique, e.g. "textkit-1"; the instance id becomes "swe-gym__<name>"
    library: str  # a directory under builtin/repos
    problem_statement: str  # a bug report: what breaks and how it shows, never the fix
    bug: tuple[Edit, ...]  # fixed library -> buggy starting state (source files only)
    hidden_tests: tuple[Edit, ...]  # fixed library -> library with the hidden tests (test files only)
    wrong_fix: tuple[Edit, ...]  # buggy state -> a plausible fix that the hidden tests still reject

    @property
    def instance_id(self) -> str:
        return f"swe-gym__{self.name}"


class EditError(ValueError):
    """An edit does not apply: its anchor text is missing or not unique."""


def edit_files(files: Mapping[str, str], edits: tuple[Edit, ...] | list[Edit]) -> dict[str, str]:
    """Apply ``edits`` in order to in-memory files (path -> text); returns the new files."""
    result = dict(files)
    for edit in edits:
        if edit.old == "":
            before = result.get(edit.path, "")
            if before and not before.endswith("\n"):
                before += "\n"
            result[edit.path] = before + edit.new
            continue
        if edit.path not in result:
            raise EditError(f"{edit.path}: file does not exist")
        text = result[edit.path]
        count = text.count(edit.old)
        if count != 1:
            raise EditError(f"{edit.path}: expected the old text exactly once, found it {count} times: {edit.old!r}")
        result[edit.path] = text.replace(edit.old, edit.new, 1)
    return result


def apply_edits(root: Path, edits: tuple[Edit, ...] | list[Edit]) -> None:
    """Apply ``edits`` in order to the tree at ``root``, in place."""
    paths = {edit.path for edit in edits}
    before = {path: (root / path).read_text() for path in paths if (root / path).is_file()}
    for path, text in edit_files(before, edits).items():
        if before.get(path) != text:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
