"""The SWE-RL recipe (``recipe: swe_rl``): single-turn RL on software-evolution records, judged at the end by tests.

Warm start on the oracle answers (the gold edits as SEARCH/REPLACE blocks), then GRPO with the DAPO
loss and SWE-RL's similarity reward as a TRL reward function - no environment and no container while
training. After each stage the answers are judged twice: the mean similarity reward, and the
test-judged resolve rate in SWE-v0's sandboxes.

- :mod:`.data`: the run's records, split by task; prompts, oracle answers as episodes, GRPO rows;
- :mod:`.reward`: the similarity reward for GRPOTrainer;
- :mod:`.evaluate`: answers, their similarity, their verdict from the hidden tests, the correlation;
- :mod:`.report`: the progress plot and the printed table;
- :mod:`.pipeline`: :class:`SweRLPipeline`, the stages.
"""
