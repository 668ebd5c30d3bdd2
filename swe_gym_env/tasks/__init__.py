"""Tasks as plain data: :class:`Task` (a SWE-bench row), the sources rows come from, the built-in sets.

- :mod:`.task`: :class:`Task`, :func:`load_tasks`, :func:`write_tasks`;
- :mod:`.sources`: the SWE-bench family (dataset ids, row shapes, deriving what older rows lack);
- :mod:`.builtin`: the project's own libraries, their hand-written tasks and the synthesized set.

Nothing here starts a container or imports Docker: images and sandboxes live in
:mod:`swe_gym_env.backends`, verdicts in :mod:`swe_gym_env.grading`.
"""

from __future__ import annotations

from .task import Task, load_tasks, task_from_row, tasks_from_rows, write_tasks

__all__ = ["Task", "load_tasks", "task_from_row", "tasks_from_rows", "write_tasks"]
