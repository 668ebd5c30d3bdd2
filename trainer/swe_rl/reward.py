"""SWE-RL's similarity reward as a TRL reward function: no environment, no container during training."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from swe_gym_env.grading.single_turn import score_answer
from swe_gym_env.swe_rl import Record

from ..metrics import MetricsLogger

log = logging.getLogger(__name__)


class SimilarityReward:
    """``reward(prompts, completions, completion_ids, record_id, ...)`` for GRPOTrainer.

    The answer is decoded from the completion's ids (so no chat-template parser can split the
    ``<think>`` part off), scored against its record's oracle change, and each call's mean reward and
    format rates are logged as an RL iteration (``rollout/reward`` ...).
    """

    __name__ = "similarity"  # TRL names the reward's metrics after it

    def __init__(self, records: Sequence[Record], tokenizer: Any, logger: MetricsLogger | None = None) -> None:
        self.records: Mapping[str, Record] = {record.id: record for record in records}
        self.tokenizer = tokenizer
        self.logger = logger
        self.calls = 0
        self.history: list[dict[str, float]] = []

    def __call__(self, prompts: list[Any], completions: list[Any], completion_ids: list[list[int]],
                 record_id: list[str], trainer_state: Any = None, **kwargs: Any) -> list[float]:
        texts = self.tokenizer.batch_decode(completion_ids, skip_special_tokens=True)
        scores = [score_answer(self.records[rid].context, self.records[rid].oracle_new, text)
                  for rid, text in zip(record_id, texts, strict=True)]
        rewards = [score.reward for score in scores]
        self.calls += 1
        n = max(1, len(scores))
        stats = {
            "rollout/reward": sum(rewards) / n,
            "rollout/well_formed": sum(score.well_formed for score in scores) / n,
            "rollout/exact": sum(reward == 1.0 for reward in rewards) / n,
            "rollout/answers": float(len(scores)),
        }
        self.history.append(stats)
        if self.logger is not None:
            step = (trainer_state.global_step + 1) if trainer_state is not None else self.calls
            self.logger.log("rl", step, stats)
        log.info("RL rollout %d: mean similarity %.3f, well-formed %.0f%%", self.calls, stats["rollout/reward"],
                 100 * stats["rollout/well_formed"])
        return rewards
