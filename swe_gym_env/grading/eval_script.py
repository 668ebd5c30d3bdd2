"""Eval scripts in swebench 5.x form for pytest repositories, with a tamper canary built in.

The script restores every test file that the hidden test patch touches to the base commit, applies
the test patch, and runs pytest between swebench's start/end markers. Two defences go beyond
SWE-bench's own procedure:

- pytest runs with ``-c /dev/null --rootdir /testbed``: configuration in pytest.ini, tox.ini,
  setup.cfg or pyproject.toml (which an agent could edit to deselect or skip tests) is not read;
- a canary test that must fail runs in the same session: a change that forces results (a plugin
  hidden in the package, a patched pytest) makes it pass, and the grader then refuses the reward.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Iterable

from swebench.harness.constants import END_TEST_OUTPUT, START_TEST_OUTPUT

from ..patches import split_patch

CANARY_FILE = "test_swe_gym_canary.py"
CANARY_NAME = "test_swe_gym_canary_must_fail"
CANARY_SOURCE = f'''def {CANARY_NAME}():
    assert False, "grading canary: this test must fail; if it passes, the test run was tampered with"
'''
HEREDOC_TEST_PATCH = "EOF_SWE_GYM_TEST_PATCH_114329324912"
HEREDOC_CANARY = "EOF_SWE_GYM_CANARY_5511"


def canary_test_id(test_dir: str) -> str:
    return f"{posixpath.join(test_dir, CANARY_FILE) if test_dir not in ('', '.') else CANARY_FILE}::{CANARY_NAME}"


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
    canary: bool = True,
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
    if canary:
        test_dir = posixpath.dirname(files[0])
        canary_path = posixpath.join(test_dir, CANARY_FILE) if test_dir else CANARY_FILE
        lines += [f"cat > {shlex.quote(canary_path)} <<'{HEREDOC_CANARY}'", CANARY_SOURCE.rstrip("\n"), HEREDOC_CANARY]
        files.append(canary_path)
    command = (
        f"{python} -m pytest --rootdir=/testbed -c /dev/null -p no:cacheprovider -rA "
        f"{pytest_args + ' ' if pytest_args else ''}{' '.join(map(shlex.quote, files))}"
    )
    lines += [f": '{START_TEST_OUTPUT}'", command, f": '{END_TEST_OUTPUT}'"]
    if canary:
        lines.append(f"rm -f {shlex.quote(canary_path)}")
    lines.append(f"git checkout {base_commit} -- {' '.join(map(shlex.quote, sorted(existing)))}" if existing else "true")
    if created:
        lines.append(f"rm -rf -- {' '.join(map(shlex.quote, sorted(created)))}")
    return "\n".join(lines) + "\n"


def canary_in(eval_script: str) -> str | None:
    """The canary's test id when ``eval_script`` runs one, else None."""
    for line in eval_script.splitlines():
        if line.startswith("cat > ") and line.rstrip().endswith(f"<<'{HEREDOC_CANARY}'"):
            path = shlex.split(line[len("cat > ") :].split("<<")[0])[0]
            return f"{path}::{CANARY_NAME}"
    return None


__all__ = ["pytest_eval_script", "canary_in", "canary_test_id", "test_patch_files", "CANARY_NAME"]
