"""What the miners keep: how many related files a context gets, and the filters on changes."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from .files import SOURCE_EXTENSIONS


@dataclass(frozen=True)
class MiningConfig:
    """Filters and shape of mined records (history and tasks alike, where they apply)."""

    related_files: int = 2  # unchanged files shown beside the changed ones, so not every given file needs an edit
    extensions: tuple[str, ...] = SOURCE_EXTENSIONS  # what counts as source code
    max_changed_files: int = 5  # source files per change: larger changes rarely answer one issue
    max_changed_lines: int = 200  # added + removed source lines per change
    max_file_bytes: int = 200_000  # per context file: a larger one would crowd everything else out of the prompt
    min_message_chars: int = 10  # a shorter message ("fix", "wip") says nothing about the change
    bot_pattern: str = r"\[bot\]|dependabot|renovate|github-actions|pre-commit-ci|greenkeeper|snyk-bot"  # authors
    merges: bool = False  # also take merge commits: a merged branch as one change against its first parent
    max_commits: int = 1000  # commits looked at, newest first

    def __post_init__(self) -> None:
        for name in ("related_files", "max_changed_files", "max_changed_lines", "max_file_bytes", "max_commits"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.extensions or not all(ext.startswith(".") for ext in self.extensions):
            raise ConfigError(f"extensions must be suffixes such as '.py', got {self.extensions!r}")
