"""The built-in tasks: small libraries this project wrote, with hand-made bugs and hidden tests.

Each library under ``repos/`` becomes one repository image (its code on the base image, tagged by a
hash of its content: :mod:`swe_gym_env.backends.docker.builtin_images`); each task is that image plus a
small ``setup_patch`` (the bug) applied at reset. ``tasks.jsonl`` holds the tasks as swebench 5.x rows;
``python -m swe_gym_env.synth.builtin`` rebuilds it from ``specs/`` and validates every task in real
containers. ``synth_tasks.jsonl.gz`` holds the tasks synthesized from the same libraries
(``load_tasks("synth")``; rebuild it with ``swe-gym-env tasks synth builtin:all``).
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Any

from ...errors import TaskError
from ...patches import PatchError, apply_patch

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
REPOS_DIR = HERE / "repos"
TASKS_FILE = HERE / "tasks.jsonl"
SYNTH_TASKS_FILE = HERE / "synth_tasks.jsonl.gz"
REPO_OWNER = "swe-gym"
SKIP_PARTS = {"__pycache__", ".pytest_cache", ".git", ".benchmarks", ".hypothesis", ".mypy_cache", ".ruff_cache", ".tox"}


def libraries() -> list[str]:
    return sorted(p.name for p in REPOS_DIR.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def repo_files(library: str) -> dict[str, bytes]:
    """The library's files (relative path -> bytes), without caches."""
    root = REPOS_DIR / library
    if not root.is_dir():
        raise TaskError(f"unknown built-in library {library!r}; known: {', '.join(libraries())}")
    files = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not SKIP_PARTS & set(rel.parts) and path.suffix != ".pyc" and not rel.parts[0].endswith(".egg-info"):
            files[rel.as_posix()] = path.read_bytes()
    return files


def builtin_task_rows() -> list[dict[str, Any]]:
    if not TASKS_FILE.is_file():
        raise TaskError(f"{TASKS_FILE} is missing: run `python -m swe_gym_env.synth.builtin` to build it")
    return [json.loads(line) for line in TASKS_FILE.read_text().splitlines() if line.strip()]


def synth_task_rows() -> list[dict[str, Any]]:
    """The rows of the shipped synthesized task set."""
    if not SYNTH_TASKS_FILE.is_file():
        raise TaskError(
            f"{SYNTH_TASKS_FILE} is missing: run `swe-gym-env tasks synth builtin:all --out {SYNTH_TASKS_FILE}`"
        )
    with gzip.open(SYNTH_TASKS_FILE, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def library_of(task: Any) -> str | None:
    owner, _, name = task.repo.partition("/")
    return name if owner == REPO_OWNER and (REPOS_DIR / name).is_dir() else None


def starting_files(task: Any) -> dict[str, str] | None:
    """The text files of a built-in task's starting state (library + setup patch), or None."""
    library = library_of(task)
    if library is None:
        return None
    files = {name: data.decode() for name, data in repo_files(library).items()}
    try:
        return apply_patch(files, task.setup_patch)
    except PatchError as error:
        raise TaskError(f"{task.instance_id}: setup_patch does not apply to {library}: {error}") from error
