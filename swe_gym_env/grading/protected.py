"""The judge's files: what is dropped from an agent's diff before it is graded."""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass

from ..patches import patch_paths
from ..tasks.task import Task


@dataclass(frozen=True)
class ProtectedPaths:
    """Which files of the agent's diff are dropped before grading (the judge is not the agent's to edit)."""

    basenames: tuple[str, ...] = (
        "conftest.py",
        "pytest.ini",
        ".pytest.ini",
        "tox.ini",
        "sitecustomize.py",
        "usercustomize.py",
        "*.pth",
        "test_*.py",
        "*_test.py",
    )
    directories: tuple[str, ...] = ("tests",)

    def matcher(self, task: Task):
        hidden = patch_paths(task.test_patch)

        def is_protected(path: str) -> bool:
            path = posixpath.normpath(path)
            if path in hidden:
                return True
            name = posixpath.basename(path)
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.basenames):
                return True
            return any(part in self.directories for part in path.split("/")[:-1])

        return is_protected
