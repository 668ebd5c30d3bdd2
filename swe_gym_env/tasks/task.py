"""Tasks: frozen SWE-bench rows, and ``load_tasks`` for built-in sets, JSON/JSONL/parquet files and HF datasets.

Rows of the whole SWE-bench family load: swebench 5.x rows run as they are; older rows (SWE-bench,
Lite, Verified, SWE-Gym, SWE-rebench, SWE-smith) get the image, eval script and log parser derived
where :mod:`swe_gym_env.tasks.sources` can, and name what is missing where it cannot.

A :class:`Task` carries the SWE-bench column names (the 4.x ones and swebench 5.x's ``image``,
``eval_script``, ``log_parser``, ``eval_type``). One column is ours: ``setup_patch``, the small patch
that turns a shared repository image into this task's starting state at reset (empty for images that
already hold it, such as the official SWE-bench instance images). The gold ``patch`` and the hidden
``test_patch`` travel with the task but never reach the agent.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import TaskError
from .builtin import builtin_task_rows, synth_task_rows
from .sources import FAMILIES, complete_row, ensure_hub_mode, family_of_dataset, resolve_dataset_id

log = logging.getLogger(__name__)

REQUIRED_FIELDS = ("instance_id", "repo", "problem_statement")
TEST_LIST_FIELDS = ("FAIL_TO_PASS", "PASS_TO_PASS")
RUNNABLE_FIELDS = ("image", "eval_script", "log_parser")


@dataclass(frozen=True)
class Task:
    """One task instance, in SWE-bench's vocabulary.

    Rows are validated on construction by :func:`task_from_row`; build tasks through it (or
    :func:`load_tasks`) rather than calling the constructor with unchecked data.
    """

    instance_id: str
    repo: str
    problem_statement: str
    base_commit: str = ""
    patch: str = ""
    test_patch: str = ""
    FAIL_TO_PASS: tuple[str, ...] = ()
    PASS_TO_PASS: tuple[str, ...] = ()
    version: str = ""
    environment_setup_commit: str = ""
    hints_text: str = ""
    created_at: str = ""
    # swebench 5.x columns: how to run and grade the task without per-repository tables.
    image: str = ""
    eval_script: str = ""
    log_parser: str = ""
    eval_type: str = "pass_and_fail"
    # ours: applied at reset to reach the starting state on a shared repository image.
    setup_patch: str = ""
    # any further columns of the source row, kept so that nothing is lost on a round trip.
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def runnable(self) -> bool:
        """True when the row says how to run its tests (image, eval script and log parser)."""
        return all(getattr(self, name) for name in RUNNABLE_FIELDS)

    def to_row(self) -> dict[str, Any]:
        """The task as a SWE-bench row (lists as JSON strings, as the HF datasets store them)."""
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        for name in TEST_LIST_FIELDS:
            row[name] = json.dumps(list(row[name]))
        row.update(self.extra)
        return row

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["extra"] = dict(self.extra)
        return data


_FIELD_NAMES = {f.name for f in fields(Task)} - {"extra"}


def _test_list(value: Any, where: str, name: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise TaskError(f"{where}: field {name!r} is a string but not a JSON list: {error}") from None
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise TaskError(f"{where}: field {name!r} must be a list of test names, got {type(value).__name__}")
    bad = [item for item in value if not isinstance(item, str)]
    if bad:
        raise TaskError(f"{where}: field {name!r} must hold only strings, found {bad[0]!r}")
    return tuple(value)


def task_from_row(row: Mapping[str, Any], where: str = "row") -> Task:
    """Build a :class:`Task` from one SWE-bench-style row; ``where`` names the row in error messages."""
    if not isinstance(row, Mapping):
        raise TaskError(f"{where}: expected an object with SWE-bench fields, got {type(row).__name__}")
    for name in REQUIRED_FIELDS:
        value = row.get(name)
        if not isinstance(value, str) or not value.strip():
            raise TaskError(f"{where}: required field {name!r} is missing or empty")
    values: dict[str, Any] = {}
    for name in _FIELD_NAMES:
        if name not in row or row[name] is None:
            continue
        value = row[name]
        if name in TEST_LIST_FIELDS:
            values[name] = _test_list(value, where, name)
        elif name == "version":
            values[name] = str(value)
        elif not isinstance(value, str):
            raise TaskError(f"{where}: field {name!r} must be a string, got {type(value).__name__}")
        else:
            values[name] = value
    if values.get("eval_type", "pass_and_fail") not in ("pass_and_fail", "fail_only"):
        raise TaskError(f"{where}: field 'eval_type' must be 'pass_and_fail' or 'fail_only', got {values['eval_type']!r}")
    values["instance_id"] = values["instance_id"].strip()
    extra = {key: value for key, value in row.items() if key not in _FIELD_NAMES}
    return Task(**values, extra=extra)


def tasks_from_rows(rows: Iterable[Mapping[str, Any]], source: str) -> list[Task]:
    """Validate rows into tasks; instance ids must be unique within a source."""
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        task = task_from_row(row, where=f"{source} row {index}")
        if task.instance_id in seen:
            raise TaskError(
                f"{source} row {index}: field 'instance_id' {task.instance_id!r} repeats row {seen[task.instance_id]}"
            )
        seen[task.instance_id] = index
        tasks.append(task)
    if not tasks:
        raise TaskError(f"{source}: no tasks found")
    return tasks


def _read_json_file(path: Path) -> list[Any]:
    if path.name.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            text = handle.read()
        lines_format = path.name.endswith(".jsonl.gz")
    else:
        text = path.read_text(encoding="utf-8")
        lines_format = path.suffix == ".jsonl"
    if lines_format:
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise TaskError(f"{path} line {number}: not valid JSON: {error}") from None
        return rows
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise TaskError(f"{path}: not valid JSON: {error}") from None
    if isinstance(data, dict):  # {"instance_id": row} as some tools write it
        data = list(data.values())
    if not isinstance(data, list):
        raise TaskError(f"{path}: expected a JSON list of rows, got {type(data).__name__}")
    return data


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    import datasets

    return list(datasets.load_dataset("parquet", data_files=str(path), split="train"))


def load_hf_dataset(name: str, split: str = "test") -> list[dict[str, Any]]:
    """Rows of a Hugging Face dataset (e.g. ``SWE-bench/SWE-bench_Verified``), with a clear offline error.

    When the Hub cannot be reached (checked once, in about two seconds) the HF libraries are put in
    offline mode first, so a dataset in the local cache still loads and a missing one fails at once
    instead of retrying for half a minute.
    """
    online = ensure_hub_mode()
    import datasets

    try:
        return list(datasets.load_dataset(name, split=split))
    except Exception as error:  # datasets raises many types for "not reachable" and "not found"
        hint = (
            "the Hugging Face Hub could not be reached or has no such dataset/split, and it is not in the local cache"
            if online
            else "the Hugging Face Hub is not reachable from this host (offline mode) and the dataset is not in the local cache"
        )
        raise TaskError(
            f"could not load dataset {name!r} (split {split!r}): {hint}. "
            f"Download it on a connected machine, or pass a local JSON/JSONL/parquet file. ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''})"
        ) from error


TASK_FILE_SUFFIXES = (".json", ".jsonl", ".parquet", ".json.gz", ".jsonl.gz")


def _is_task_file(path: Path) -> bool:
    return path.name.endswith(TASK_FILE_SUFFIXES)


def load_tasks(
    source: str | os.PathLike[str] | Sequence[Task | Mapping[str, Any]],
    *,
    split: str | None = None,
    instance_ids: Iterable[str] | None = None,
    family: str | None = None,
    eval_scripts: str | os.PathLike[str] | None = None,
) -> list[Task]:
    """Load tasks from a built-in set, a task file, a Hugging Face dataset id, or rows.

    ``source``: ``"builtin"`` (hand-written tasks), ``"synth"`` (the shipped synthesized set), a
    ``.json``/``.jsonl``/``.parquet`` file (``.json.gz``/``.jsonl.gz`` too), a dataset id such as
    ``SWE-bench/SWE-bench_Verified`` or an alias (``verified``, ``lite``, ``swe-gym``,
    ``swe-rebench``, ``swe-smith``), or a sequence of rows/tasks. ``split`` defaults to the dataset
    family's split (``test``; ``train`` for SWE-Gym and SWE-smith). Rows without swebench 5.x fields
    are completed by :func:`swe_gym_env.tasks.sources.complete_row` (``family`` overrides its detection,
    ``eval_scripts`` names a directory of eval scripts). ``instance_ids`` keeps only those tasks, in
    the order given; an id that is not in the source is an error.
    """
    def complete(rows: Iterable[Mapping[str, Any]], hint: str | None) -> list[dict[str, Any]]:
        return [complete_row(row, family=hint, eval_scripts=eval_scripts) if isinstance(row, Mapping) else row
                for row in rows]

    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        path = Path(text)
        if text == "builtin":
            tasks = tasks_from_rows(builtin_task_rows(), "builtin")
        elif text == "synth":
            tasks = tasks_from_rows(synth_task_rows(), "synth")
        elif _is_task_file(path):
            if not path.is_file():
                raise TaskError(f"task file {text!r} does not exist")
            rows = _read_parquet(path) if path.suffix == ".parquet" else _read_json_file(path)
            tasks = tasks_from_rows(complete(rows, family), str(path))
        elif path.exists():
            raise TaskError(f"{text!r}: task files must end in .json, .jsonl or .parquet (or .json.gz, .jsonl.gz)")
        elif ("/" in text and not text.startswith((".", "/"))) or resolve_dataset_id(text) != text:
            name = resolve_dataset_id(text)
            kind = family or family_of_dataset(name)
            chosen = split or (FAMILIES[kind].default_split if kind else "test")
            tasks = tasks_from_rows(complete(load_hf_dataset(name, chosen), kind), f"{name}[{chosen}]")
        else:
            raise TaskError(
                f"unknown task source {text!r}: use 'builtin', 'synth', a .json/.jsonl/.parquet file, "
                "or a Hugging Face dataset id such as 'SWE-bench/SWE-bench_Verified'"
            )
    else:
        rows = [task.to_row() if isinstance(task, Task) else task for task in source]
        tasks = tasks_from_rows(complete(rows, family), "rows")
    if instance_ids is not None:
        wanted = list(instance_ids)
        by_id = {task.instance_id: task for task in tasks}
        missing = [name for name in wanted if name not in by_id]
        if missing:
            raise TaskError(f"instance ids not in the source: {', '.join(missing[:10])}")
        tasks = [by_id[name] for name in wanted]
    return tasks


def write_tasks(tasks: Iterable[Task], path: str | os.PathLike[str]) -> Path:
    """Write tasks as a swebench 5.x-format JSONL file (gzip-compressed for ``.jsonl.gz``) that
    :func:`load_tasks` reads back."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    lines = "".join(json.dumps(task.to_row(), sort_keys=True) + "\n" for task in tasks)
    if target.name.endswith(".gz"):
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
            handle.write(lines.encode("utf-8"))
    else:
        tmp.write_text(lines, encoding="utf-8")
    tmp.replace(target)
    return target
