"""Execution-trace examples as warm-start rows: *given the code and a test, predict the trace and the result*.

The examples come from :mod:`swe_gym_env.trace.examples` (the training tasks' FAIL_TO_PASS tests,
traced before and after the gold fix), read from a file or generated in fresh sandboxes. Each becomes
a one-turn :class:`Episode`: the example's prompt as the user message (no tools), its answer as the
model turn, loss on the answer only - the same rows the demonstrations make.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any

from swe_gym_env.tasks.task import Task
from swe_gym_env.trace.examples import TraceExample, generate, read_examples

from .chat import ChatFormat
from .episode import Episode, Turn

log = logging.getLogger(__name__)


def trace_episode(example: TraceExample, chat: ChatFormat) -> Episode:
    """One example as a one-turn episode whose model turn is the trace and the result."""
    answer = example.answer()
    completion = chat.action_ids(answer)
    return Episode(
        task_id=f"trace:{example.task_id}",
        prompt_ids=tuple(chat.prompt_ids(example.prompt())),
        completion_ids=tuple(completion),
        env_mask=(1,) * len(completion),
        logprobs=(0.0,) * len(completion),
        turns=(Turn(0, len(completion), answer, "", False, None),),
        reward=0.0,
        resolved=False,
        truncated=False,
        prompt=example.prompt(),
        end_reason="trace_example",
        meta={"kind": "trace_example", "state": example.state, "test": example.test},
    )


def trace_examples(tasks: Sequence[Task], count: int, *, path: str | None = None, backend: str | Any = "docker",
                   seed: int = 0) -> list[TraceExample]:
    """Up to ``count`` examples of ``tasks`` (those of other tasks in ``path`` are left out: no held-out leak)."""
    if count <= 0:
        return []
    ids = {task.instance_id for task in tasks}
    if path is not None:
        examples = [example for example in read_examples(path) if example.task_id in ids]
    else:
        from swe_gym_env.backends.factory import make_backend

        owned = make_backend(backend, warm_pool=0)
        try:
            examples = generate(tasks, owned)
        finally:
            owned.close()
    random.Random(seed).shuffle(examples)
    if len(examples) < count:
        log.info("%d trace examples available (%d asked for)", len(examples), count)
    return examples[:count]
