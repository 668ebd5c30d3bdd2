"""Eval scripts in swebench 5.x form for pytest repositories.

The script restores every test file that the hidden test patch touches to the base commit, applies
the test patch, and runs pytest between swebench's start/end markers, with ``-c /dev/null --rootdir
/testbed``: configuration in pytest.ini, tox.ini, setup.cfg or pyproject.toml (which an agent could edit
to deselect or skip tests) is not read. The grader hardens this script like any row's own
(:mod:`.hardening`): canaries made at grading time run beside the hidden tests.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from swebench.harness.constants import END_TEST_OUTPUT, START_TEST_OUTPUT

from ..patches import split_patch

HEREDOC_TEST_PATCH = "EOF_SWE_GYM_TEST_PATCH_114329324912"


def test_patch_files(test_patch: str) -> tuple[list[str], list[str]]:
    """(files the test patch modifies or deletes, files it creates)."""
    existing, created = [], []
    for part in split_patch(test_patch):
        if part.old_path is None:
            created.append(part.path)
        else:
            existing.append(part.old_path)
    return existing, created


def pytest_eval_script(
    base_commit: str,
    test_patch: str,
    test_files: Iterable[str],
    *,
    python: str = "python3",
    pytest_args: str = "",
) -> str:
    """A complete eval script (``#!/bin/bash`` + ``set -uxo pipefail`` + commands) for ``make_test_spec``."""
    if not base_commit:
        raise ValueError("an eval script needs the base commit to restore test files from")
    existing, created = test_patch_files(test_patch)
    files = sorted(set(test_files) | set(existing) | set(created))
    if not files:
        raise ValueError("an eval script needs at least one test file to run")
    lines = ["#!/bin/bash", "set -uxo pipefail", "cd /testbed"]
    if existing:
        lines.append(f"git checkout {base_commit} -- {' '.join(map(shlex.quote, sorted(existing)))}")
    if created:
        lines.append(f"rm -rf -- {' '.join(map(shlex.quote, sorted(created)))}")
    lines += [
        f"git apply --verbose --whitespace=nowarn - <<'{HEREDOC_TEST_PATCH}'",
        test_patch.rstrip("\n"),
        HEREDOC_TEST_PATCH,
    ]
    command = (
        f"{python} -m pytest --rootdir=/testbed -c /dev/null -p no:cacheprovider -rA "
        f"{pytest_args + ' ' if pytest_args else ''}{' '.join(map(shlex.quote, files))}"
    )
    lines += [f": '{START_TEST_OUTPUT}'", command, f": '{END_TEST_OUTPUT}'"]
    lines.append(f"git checkout {base_commit} -- {' '.join(map(shlex.quote, sorted(existing)))}" if existing else "true")
    if created:
        lines.append(f"rm -rf -- {' '.join(map(shlex.quote, sorted(created)))}")
    return "\n".join(lines) + "\n"


__all__ = ["pytest_eval_script", "test_patch_files"]
