"""SWE-RL's data: single-turn records mined from software evolution (Wei et al. 2025).

A record is an issue or commit message, the full content of the files a change touched plus a few
related files it did not touch, and the oracle change (source files only; tests never appear). The
model answers in one turn with SEARCH/REPLACE edits, scored without a container by
:mod:`swe_gym_env.grading.single_turn`; records made from tasks can also be judged by hidden tests.

- :mod:`.records`: :class:`Record`, JSONL, the prompt and the oracle answer;
- :mod:`.files`: source, test, generated and vendored files; ranking related files;
- :mod:`.sources`: files from memory, a git tree or a task's sandbox;
- :mod:`.git_history`: records from a local repository's commits (or merged branches);
- :mod:`.from_tasks`: records from SWE-bench-family rows and the built-in and synthesized tasks;
- :mod:`.config`: :class:`MiningConfig`, the filters.

``swe-gym-env swe-rl mine`` runs the miners from the command line.
"""

from __future__ import annotations

from .config import MiningConfig
from .records import Record, load_records, oracle_answer, prompt_messages, render_prompt, write_records

__all__ = ["MiningConfig", "Record", "load_records", "oracle_answer", "prompt_messages", "render_prompt",
           "write_records"]
