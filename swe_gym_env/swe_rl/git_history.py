"""Records from a local git repository's history: every commit (or merged branch) that changes source files.

Each change is compared with its (first) parent. Test files, vendored and generated files are left
out of it; what remains must be source code (:data:`~.files.SOURCE_EXTENSIONS`), within the size
limits, by an author that is not a bot, with a message worth a statement. The record's context is
the changed files at the parent plus the most related unchanged files; its oracle is the change of
the source files alone. A merge commit (``merges=True``) stands for its whole branch: its message
is followed by the subjects of the branch's commits.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import TaskError
from ..patches import make_patch
from ..synth.repo import git_files
from .config import MiningConfig
from .files import decode_text, is_generated, is_source, rank_related
from .records import Record
from .sources import GitTreeFiles, read_related

log = logging.getLogger(__name__)

_TRAILER = re.compile(r"^[A-Za-z][A-Za-z-]*: .+$")  # Signed-off-by:, Co-authored-by:, Change-Id: ...


@dataclass(frozen=True)
class Change:
    """One commit, compared with its first parent."""

    sha: str
    parent: str
    author: str  # "name <email>"
    message: str
    merge: bool = False


class Skip(Exception):
    """A change that makes no record; ``reason`` is a short stable name for the counts."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, errors="replace")
    if done.returncode != 0:
        raise TaskError(f"git {' '.join(args)} failed in {repo}: {done.stderr[-500:]}")
    return done.stdout


def list_changes(repo: str | Path, rev: str = "HEAD", config: MiningConfig = MiningConfig()) -> list[Change]:
    """Commits reachable from ``rev``, newest first (merges only with ``config.merges``)."""
    repo = Path(repo)
    fields = "%H%x1f%P%x1f%an <%ae>%x1f%B%x1e"
    args = ["log", f"--max-count={config.max_commits}", f"--format={fields}"]
    if not config.merges:
        args.append("--no-merges")
    out = []
    for entry in _git(repo, *args, rev, "--").split("\x1e"):
        if not entry.strip():
            continue
        sha, parents, author, message = entry.strip("\n").split("\x1f", 3)
        parents_list = parents.split()
        if not parents_list:
            continue  # a root commit has nothing to compare with
        merge = len(parents_list) > 1
        if merge:
            subjects = _git(repo, "log", "--no-merges", "--format=%s", f"{parents_list[0]}..{sha}").splitlines()
            message = message.rstrip() + "\n\n" + "\n".join(f"- {s}" for s in subjects if s.strip())
        out.append(Change(sha, parents_list[0], author, message.strip(), merge))
    return out


def clean_message(message: str) -> str:
    """The message without trailing trailer lines (Signed-off-by: ...)."""
    lines = message.strip().splitlines()
    while lines and (_TRAILER.match(lines[-1].strip()) or not lines[-1].strip()):
        lines.pop()
    return "\n".join(lines).strip()


def record_from_change(repo: str | Path, change: Change, name: str, config: MiningConfig = MiningConfig()) -> Record:
    """The record of one change, or :class:`Skip` saying why there is none."""
    repo = Path(repo)
    if re.search(config.bot_pattern, change.author, re.IGNORECASE):
        raise Skip("bot", change.author)
    message = clean_message(change.message)
    if len(message) < config.min_message_chars:
        raise Skip("short_message", repr(message))
    listing = _git(repo, "diff-tree", "-r", "-z", "--no-commit-id", "--no-renames", "--name-only", change.parent,
                   change.sha)
    touched = [p for p in listing.split("\0") if p]
    paths = [p for p in touched if is_source(p, config.extensions)]  # tests, vendored files: never shown
    if not paths:
        raise Skip("no_source_change")
    before_raw = git_files(repo, change.parent, paths)
    after_raw = git_files(repo, change.sha, paths)
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for path in paths:
        for raw, texts in ((before_raw, before), (after_raw, after)):
            if path in raw:
                if len(raw[path]) > config.max_file_bytes:
                    raise Skip("file_too_big", path)
                text = decode_text(raw[path])
                if text is None:
                    raise Skip("binary", path)
                texts[path] = text
    generated = {p for p in paths if is_generated(p, before.get(p)) or is_generated(p, after.get(p))}
    paths = [p for p in paths if p not in generated and before.get(p) != after.get(p)]
    if not paths:
        raise Skip("generated" if generated else "no_source_change")
    if len(paths) > config.max_changed_files:
        raise Skip("too_many_files", str(len(paths)))
    before = {p: t for p, t in before.items() if p in paths}
    after = {p: t for p, t in after.items() if p in paths}
    patch = make_patch(before, after)
    lines = sum(1 for line in patch.splitlines() if line[:1] in "+-" and not line.startswith(("+++ ", "--- ")))
    if lines > config.max_changed_lines:
        raise Skip("too_many_lines", str(lines))
    tree = GitTreeFiles(repo, change.parent)
    candidates = [p for p in tree.paths() if p not in paths and is_source(p, config.extensions)]
    related = read_related(tree, rank_related(candidates, {**before, **after}), config.related_files,
                           config.max_file_bytes)
    return Record(
        id=f"{name}@{change.sha[:12]}", repo=name, statement=message, context={**before, **related},
        oracle_new={p: after.get(p, "") for p in paths}, oracle_patch=patch, related=tuple(related),
        origin={"kind": "git", "path": str(repo.resolve()), "commit": change.sha, "parent": change.parent,
                "merge": str(change.merge).lower()},
    )


def mine_history(
    repo: str | Path,
    rev: str = "HEAD",
    *,
    name: str | None = None,
    config: MiningConfig = MiningConfig(),
    on_change: Callable[[Record | None, str], None] | None = None,
) -> tuple[list[Record], Counter[str]]:
    """Records of the changes of a local git repository (newest first), and the skipped ones by reason."""
    root = Path(repo).expanduser().resolve()
    if not root.is_dir():
        raise TaskError(f"{root} is not a directory")
    _git(root, "rev-parse", "--git-dir")  # not a git repository: a TaskError that says so
    name = name or f"local/{root.name}"
    records: list[Record] = []
    skipped: Counter[str] = Counter()
    for change in list_changes(root, rev, config):
        try:
            record = record_from_change(root, change, name, config)
        except Skip as skip:
            log.debug("%s skipped: %s", change.sha[:12], skip)
            skipped[skip.reason] += 1
            if on_change is not None:
                on_change(None, skip.reason)
            continue
        records.append(record)
        if on_change is not None:
            on_change(record, "")
    return records, skipped
