"""The judge's files: what is dropped from an agent's diff before it is graded."""

from __future__ import annotations

import fnmatch
import posixpath
from dataclasses import dataclass

from ..patches import patch_paths
from ..tasks.task import Task


@dataclass(frozen=True)
class ProtectedPaths:
    """Which files of the agent's diff are dropped before grading (the judge is not the agent's to edit):
    the hidden test files, test files and directories, and everything that configures or extends pytest
    from inside the repository - its configuration files, conftest.py, interpreter start-up hooks, and
    the metadata of distributions installed from the working copy (their entry points load plugins)."""

    basenames: tuple[str, ...] = (
        "conftest.py",
        "pytest.ini",
        ".pytest.ini",
        "pytest.toml",
        ".pytest.toml",
        "tox.ini",
        "setup.cfg",  # [tool:pytest]: options, plugins, test selection
        "pyproject.toml",  # [tool.pytest.ini_options]; the image installed the package already
        "entry_points.txt",  # a pytest11 entry point of an installed (egg-info) distribution loads a plugin
        "sitecustomize.py",
        "usercustomize.py",
        "*.pth",
        "test_*.py",
        "*_test.py",
    )
    directories: tuple[str, ...] = ("tests", "test", "*.egg-info", "*.dist-info")

    def matcher(self, task: Task):
        hidden = patch_paths(task.test_patch)

        def is_protected(path: str) -> bool:
            path = posixpath.normpath(path)
            if path in hidden:
                return True
            name = posixpath.basename(path)
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.basenames):
                return True
            return any(fnmatch.fnmatchcase(part, pattern) for part in path.split("/")[:-1] for pattern in self.directories)

        return is_protected
