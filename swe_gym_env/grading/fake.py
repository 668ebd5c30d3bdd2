"""Grading without tests, for the fake backend: a patch resolves when it gives the files the gold patch gives."""

from __future__ import annotations

import time
from typing import Any

from ..patches import PatchError, apply_patch, filter_patch
from ..tasks.task import Task
from .grader import GradeReport
from .protected import ProtectedPaths


class FakeGrader:
    """Resolves a patch when it turns the initial files into the same files as the gold patch does."""

    def __init__(self, backend: Any, protected: ProtectedPaths = ProtectedPaths()) -> None:
        self.backend = backend
        self.protected = protected

    def grade(self, task: Task, patch: str) -> GradeReport:
        started = time.monotonic()
        kept, dropped = filter_patch(patch or "", self.protected.matcher(task))
        files = self.backend.files_for(task)
        try:
            expected = apply_patch(files, task.patch)
            got = apply_patch(files, kept)
            applied = True
        except PatchError:
            expected, got, applied = {}, None, False
        resolved = applied and got == expected and bool(kept.strip())
        return GradeReport(
            task.instance_id, resolved, 1.0 if resolved else 0.0,
            "RESOLVED_FULL" if resolved else ("patch_failed" if not applied else "RESOLVED_NO"),
            patch_applied=applied, empty_patch=not kept.strip(), dropped_paths=tuple(dropped),
            duration=time.monotonic() - started,
        )
