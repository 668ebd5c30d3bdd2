"""Records from task rows (SWE-bench family, built-in, synthesized): statement, gold patch, files at the start.

The files of a task's starting state come from a :data:`~.sources.FileSource` (memory, a checkout,
the task's image). The gold patch minus test files is the oracle; the hidden tests' files and every
test file stay out of the context.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable

from ..errors import SweGymError, TaskError
from ..patches import PatchError, apply_patch, filter_patch, patch_paths, split_patch
from ..tasks.task import Task
from .config import MiningConfig
from .files import decode_text, is_source, is_test_file, rank_related
from .records import Record
from .sources import Files, FileSource, read_related

log = logging.getLogger(__name__)


def record_from_task(task: Task, files: Files, config: MiningConfig = MiningConfig(), source: str = "") -> Record:
    """The record of one task (see the module docstring); a task that cannot make one raises TaskError."""
    hidden = patch_paths(task.test_patch)

    def judge(path: str) -> bool:
        return is_test_file(path) or path in hidden

    patch, _dropped = filter_patch(task.patch, judge)
    parts = split_patch(patch)
    if not parts:
        raise TaskError(f"{task.instance_id}: the gold patch changes no source file")
    if len(parts) > config.max_changed_files:
        raise TaskError(f"{task.instance_id}: the gold patch changes {len(parts)} files (> {config.max_changed_files})")
    old_paths = sorted({part.old_path for part in parts if part.old_path})
    raw = files.read(old_paths)
    before = {}
    for path in old_paths:
        if path not in raw:
            raise TaskError(f"{task.instance_id}: {path}, which the gold patch changes, is not in the starting state")
        text = decode_text(raw[path])
        if text is None:
            raise TaskError(f"{task.instance_id}: {path} is not UTF-8 text")
        if len(raw[path]) > config.max_file_bytes:
            raise TaskError(f"{task.instance_id}: {path} has {len(raw[path])} bytes (> {config.max_file_bytes})")
        before[path] = text
    try:
        after = apply_patch(before, patch)
    except PatchError as error:
        raise TaskError(f"{task.instance_id}: the gold patch does not apply to the starting state: {error}") from None
    oracle_new = {path: after.get(path, "") for part in parts for path in part.paths}
    exclude = set(oracle_new)
    candidates = [p for p in files.paths() if p not in exclude and not judge(p) and is_source(p, config.extensions)]
    related = read_related(files, rank_related(candidates, {**before, **after}), config.related_files,
                           config.max_file_bytes)
    return Record(
        id=task.instance_id, repo=task.repo, statement=task.problem_statement, context={**before, **related},
        oracle_new=oracle_new, oracle_patch=patch, related=tuple(related), task_id=task.instance_id,
        origin={"kind": "task", "source": source, "base_commit": task.base_commit},
    )


def records_from_tasks(
    tasks: Iterable[Task], source: FileSource, config: MiningConfig = MiningConfig(), *, name: str = "",
    on_record: Callable[[Record | None, str], None] | None = None,
) -> tuple[list[Record], Counter[str]]:
    """Records of the tasks that can make one; the others are counted by reason (and logged)."""
    records: list[Record] = []
    skipped: Counter[str] = Counter()
    for task in tasks:
        try:
            files = source(task)
        except SweGymError as error:
            log.info("%s skipped: %s", task.instance_id, error)
            skipped[type(error).__name__] += 1
            if on_record is not None:
                on_record(None, str(error))
            continue
        try:
            record = record_from_task(task, files, config, source=name)
        except TaskError as error:
            log.info("%s skipped: %s", task.instance_id, error)
            skipped[_reason(str(error))] += 1
            if on_record is not None:
                on_record(None, str(error))
            continue
        finally:
            files.close()
        records.append(record)
        if on_record is not None:
            on_record(record, "")
    return records, skipped


def _reason(message: str) -> str:
    for key, reason in (("changes no source", "no_source_change"), ("files (>", "too_many_files"),
                        ("bytes (>", "file_too_big"), ("not UTF-8", "binary"), ("does not apply", "patch_failed"),
                        ("not in the starting state", "missing_file")):
        if key in message:
            return reason
    return "invalid"
