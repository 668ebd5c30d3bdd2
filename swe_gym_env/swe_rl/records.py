"""A single-turn record (issue, code context, oracle change) as data: JSONL, the prompt, the oracle answer.

A :class:`Record` is what SWE-RL trains on: the statement (an issue or a commit message), the full
content of the files the change touched and of a few related files it did not touch, and the oracle
change (as a patch of source files and as the changed files' new content). Tests never appear in
either. A record made from a task names it (``task_id``), so an answer can also be judged by the
task's hidden tests in SWE-v0.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import TaskError
from ..grading.answer import edits_for, format_answer
from ..grading.single_turn import changed_files

SYSTEM_PROMPT = (
    "A user will ask you to solve a task. First think it through, as on scratch paper, then give the solution.\n"
    "Your answer must have this form:\n<think>\nyour reasoning\n</think>\n<solution>\nthe final solution\n</solution>"
)

PROMPT_TEMPLATE = """We are solving an issue in the repository {repo}. The issue:
--- BEGIN ISSUE ---
{statement}
--- END ISSUE ---

Below are files of the repository. Some of them may need changes, others not.

{files}

Find where the issue comes from, then fix it with *SEARCH/REPLACE* edits. Write each edit in a fenced \
code block of its own:
1. the file path after "### "
2. the line <<<<<<< SEARCH
3. whole lines copied exactly from the file, indentation included
4. the line =======
5. the lines to put in their place
6. the line >>>>>>> REPLACE

For example:

```python
### mathweb/flask/app.py
<<<<<<< SEARCH
from flask import Flask
=======
import math
from flask import Flask
>>>>>>> REPLACE
```"""

FILE_TEMPLATE = "--- BEGIN FILE ---\n```\n### {path}\n{content}\n```\n--- END FILE ---"


@dataclass(frozen=True)
class Record:
    """One change to learn from, and what it takes to judge an answer to it."""

    id: str
    repo: str
    statement: str
    context: Mapping[str, str]  # path -> content before the change: changed files that existed, related files
    oracle_new: Mapping[str, str]  # path -> content after the change, for each file it changes ("" = deleted)
    oracle_patch: str  # the same change as a git-style patch
    related: tuple[str, ...] = ()  # the context files the change does not touch
    task_id: str = ""  # the SWE-v0 task whose hidden tests judge an answer; "" when there is none
    origin: Mapping[str, str] = field(default_factory=dict)  # where it came from (kind, source, commit...)

    @property
    def changed(self) -> tuple[str, ...]:
        return tuple(sorted(self.oracle_new))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["related"] = list(self.related)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str = "record") -> Record:
        names = {f.name for f in fields(cls)}
        missing = [name for name in ("id", "repo", "statement", "context", "oracle_new") if name not in data]
        if missing:
            raise TaskError(f"{where}: field(s) {', '.join(missing)} missing")
        unknown = sorted(set(data) - names)
        if unknown:
            raise TaskError(f"{where}: unknown field(s) {unknown}")
        for name in ("context", "oracle_new"):
            if not isinstance(data[name], Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in data[name].items()
            ):
                raise TaskError(f"{where}: field {name!r} must map paths to file contents")
        record = cls(**{**data, "related": tuple(data.get("related", ()))})
        if not changed_files(record.context, record.oracle_new):
            raise TaskError(f"{where}: the oracle changes no file")
        return record


def render_prompt(record: Record) -> str:
    """The user message: the issue, every context file in full (sorted by path), the edit format."""
    shown = [FILE_TEMPLATE.format(path=path, content=record.context[path].rstrip("\n")) for path in sorted(record.context)]
    return PROMPT_TEMPLATE.format(repo=record.repo, statement=record.statement.strip(), files="\n\n".join(shown))


def prompt_messages(record: Record, system_prompt: str | None = None) -> list[dict[str, str]]:
    """The chat: SWE-RL's thinking system prompt (or ``system_prompt``), then the record's prompt."""
    return [
        {"role": "system", "content": system_prompt or SYSTEM_PROMPT},
        {"role": "user", "content": render_prompt(record)},
    ]


def oracle_answer(record: Record) -> str:
    """The oracle change written as an answer: a short thought naming the files, then SEARCH/REPLACE edits."""
    edits = [edit for path in record.changed for edit in edits_for(path, record.context.get(path, ""),
                                                                   record.oracle_new[path])]
    return format_answer(f"The change belongs in {', '.join(record.changed)}.", edits)


def write_records(records: Iterable[Record], path: str | os.PathLike[str]) -> Path:
    """Records as JSONL (gzip-compressed for ``.gz``), one object per line."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(record.to_json(), sort_keys=True) + "\n" for record in records)
    tmp = target.with_name(target.name + ".tmp")
    if target.name.endswith(".gz"):
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as handle:
            handle.write(lines.encode("utf-8"))
    else:
        tmp.write_text(lines, encoding="utf-8")
    tmp.replace(target)
    return target


def load_records(path: str | os.PathLike[str]) -> list[Record]:
    """Records from a JSONL file (``.gz`` too); ids must be unique."""
    source = Path(path)
    if not source.is_file():
        raise TaskError(f"record file {str(source)!r} does not exist")
    opener = gzip.open if source.name.endswith(".gz") else open
    records: list[Record] = []
    seen: set[str] = set()
    with opener(source, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{source} line {number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                raise TaskError(f"{where}: not valid JSON: {error}") from None
            if not isinstance(data, Mapping):
                raise TaskError(f"{where}: expected an object, got {type(data).__name__}")
            record = Record.from_json(data, where)
            if record.id in seen:
                raise TaskError(f"{where}: record id {record.id!r} repeats an earlier one")
            seen.add(record.id)
            records.append(record)
    if not records:
        raise TaskError(f"{source}: no records")
    return records
