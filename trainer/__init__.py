"""trainer: rejection fine-tuning, then DAPO RL, for SWE-v0 agents, with TRL and Accelerate.

Modules, each with one job: ``tiny`` (the embedded model and tokenizer), ``chat`` (chat-template
pieces), ``policy`` (batched token-in/token-out sampling), ``envs`` (concurrent environments),
``rollout`` (collecting episodes), ``episode`` (the Episode record and JSONL), ``demos``
(demonstrations from gold patches), ``data`` (training rows), ``rft`` (SFT stages), ``rl`` (DAPO with
GRPOTrainer), ``config``, ``metrics``, ``pipeline`` and ``cli``; ``swe_rl`` is the single-turn SWE-RL
recipe (``recipe: swe_rl``). Importing the package imports nothing heavy.
"""

__all__ = ["__version__"]
__version__ = "0.1.0"
