"""TRL's GRPOTrainer(environment_factory=...) on the tiny model, against real containers.

TRL's own code runs every step - the tool loop that parses the model's tool calls and calls the
environment's methods, ``get_reward``, advantages, the loss and the optimizer step. Only sampling is
scripted (as mini-swe-agent's and the OpenAI tests script their models): ``model.generate`` returns
the demonstration's next tool call, or an immediate ``submit``, so that the rewards are known.
"""

import os

import pytest
import torch

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from swe_gym_env.backends.docker.cleanup import project_containers
from swe_gym_env.backends.docker.client import LABEL, get_client
from swe_gym_env.integrations.trl import TRLEnvironmentFactory, TRLSWEEnvironment
from swe_gym_env.tasks.task import load_tasks
from trainer.demos import demo_actions, starting_files
from trainer.tiny import TinyConfig, build_model, tokenizer_corpus, train_tokenizer

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TASKS = load_tasks("builtin")[:2]
GOLD = {task.problem_statement.strip(): demo_actions(task, starting_files(task)) for task in TASKS}
SUBMIT = '<tool_call>{"name": "submit", "arguments": {}}</tool_call>'
DONE = "I have submitted the fix."  # no tool call: TRL's tool loop ends
SMALL = TinyConfig(vocab_size=1024, hidden_size=32, num_layers=1, num_heads=2, num_kv_heads=1, intermediate_size=64)


def mine():
    return [c.name for c in project_containers(get_client()) if (c.labels or {}).get(f"{LABEL}.pid") == str(os.getpid())]


@pytest.fixture(scope="module")
def tokenizer():
    torch.set_num_threads(1)
    extra = [action for actions in GOLD.values() for action in actions]
    return train_tokenizer(tokenizer_corpus(TASKS, extra), SMALL.vocab_size)


class ScriptedSampling:
    """``model.generate`` that writes scripted turns: per group, even draws play the demonstration, odd
    draws submit at once (``empty=False``: every draw plays it). ``on_turn(turn)`` runs before a turn."""

    def __init__(self, model, tokenizer, empty=True, on_turn=None):
        self.tokenizer, self.empty, self.on_turn = tokenizer, empty, on_turn
        self.calls = 0
        model.generate = self

    def choose(self, context, draw):
        turn = context.count("<tool_response>")
        [actions] = [actions for statement, actions in GOLD.items() if statement in context]
        if turn == 0:
            return SUBMIT if self.empty and draw % 2 else actions[0]
        if SUBMIT in context.split("<tool_response>")[0]:  # this draw submitted at once
            return DONE
        return actions[turn] if turn < len(actions) else DONE

    def __call__(self, input_ids, attention_mask, **kwargs):
        turns = {self.tokenizer.decode(ids[mask.bool()]).count("<tool_response>") for ids, mask in
                 zip(input_ids, attention_mask)}
        if self.on_turn is not None:
            self.on_turn(min(turns))
        self.calls += 1
        rows = []
        for draw, (ids, mask) in enumerate(zip(input_ids, attention_mask)):
            text = self.choose(self.tokenizer.decode(ids[mask.bool()]), draw)
            rows.append(self.tokenizer.encode(text, add_special_tokens=False) + [self.tokenizer.eos_token_id])
        completion = torch.full((len(rows), max(map(len, rows))), self.tokenizer.pad_token_id, dtype=input_ids.dtype)
        for i, row in enumerate(rows):
            completion[i, : len(row)] = torch.tensor(row)
        return torch.cat([input_ids, completion], dim=1)


def make_trainer(tokenizer, factory, task_ids, tmp_path):
    model = build_model(tokenizer, SMALL)
    config = GRPOConfig(
        output_dir=str(tmp_path / "trl"), per_device_train_batch_size=2 * len(task_ids), num_generations=2,
        max_steps=1, learning_rate=1e-2, max_completion_length=3072, max_tool_calling_iterations=6,
        use_cpu=True, bf16=False, report_to=[], disable_tqdm=True, logging_steps=1, save_strategy="no", seed=0,
    )
    rows = [{"prompt": [{"role": "user", "content": ""}], "task_id": task_id} for task_id in task_ids]
    trainer = GRPOTrainer(model=model, args=config, processing_class=tokenizer,
                          train_dataset=Dataset.from_list(rows), environment_factory=factory)
    captured = []
    original = trainer.compute_loss

    def compute_loss(model, inputs, *args, **kwargs):
        captured.append(inputs["advantages"].detach().clone())
        return original(model, inputs, *args, **kwargs)

    trainer.compute_loss = compute_loss
    return model, trainer, captured


def test_grpo_trainer_trains_on_swe_v0_rewards(tokenizer, tmp_path):
    with TRLEnvironmentFactory(tasks=TASKS, max_steps=10) as factory:
        model, trainer, captured = make_trainer(tokenizer, factory, [t.instance_id for t in TASKS], tmp_path)
        ScriptedSampling(model, tokenizer)
        before = [p.detach().clone() for p in model.parameters()]
        trainer.train()
        environments = trainer.environments
        assert all(isinstance(e, TRLSWEEnvironment) for e in environments) and len(factory.environments) == 4
        rewards = [e.get_reward() for e in environments]
        assert rewards == [1.0, 0.0, 1.0, 0.0]  # gold, then an immediate submit, per task
        assert [e.turns for e in environments] == [n for actions in GOLD.values() for n in (len(actions), 1)]
        assert all(e.info["report"]["status"] == ("RESOLVED_FULL" if r else "RESOLVED_NO")
                   for e, r in zip(environments, rewards))
        assert trainer.state.log_history[0]["rewards/TRLSWEEnvironment/mean"] == 0.5
        [advantages] = captured  # in TRL's shuffled order: per group, the resolved one up, the other down
        assert [round(a, 3) for a in sorted(advantages.tolist())] == [-0.707, -0.707, 0.707, 0.707]
        assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert mine() == []


def test_an_infrastructure_failure_is_masked_not_a_zero(tokenizer, tmp_path):
    task = TASKS[0]
    with TRLEnvironmentFactory(tasks=[task], max_steps=10) as factory:
        model, trainer, captured = make_trainer(tokenizer, factory, [task.instance_id], tmp_path)

        def kill_one(turn):
            if turn == 1:  # after the first tool call, one rollout's container dies from outside
                trainer.environments[0].env.sandbox.container.kill()

        ScriptedSampling(model, tokenizer, empty=False, on_turn=kill_one)
        trainer.train()
        broken, healthy = trainer.environments
        assert broken.failure["type"] == "sandbox_lost" and broken.get_reward() is None
        assert healthy.get_reward() == 1.0
        # TRL leaves the unscorable rollout out of the group: no advantage for either. A false zero
        # would have given the healthy rollout a positive advantage and the broken one a negative one.
        [advantages] = captured
        assert advantages.tolist() == [0.0, 0.0]
        assert trainer.state.log_history[0]["rewards/TRLSWEEnvironment/mean"] == 1.0
        assert broken.env.sandbox is None
    assert mine() == []


def test_an_exception_mid_training_leaves_no_container(tokenizer, tmp_path):
    task = TASKS[0]

    def crash(turn):
        if turn == 2:
            raise RuntimeError("generation failed")

    with pytest.raises(RuntimeError, match="generation failed"), TRLEnvironmentFactory(tasks=[task]) as factory:
        model, trainer, _ = make_trainer(tokenizer, factory, [task.instance_id], tmp_path)
        ScriptedSampling(model, tokenizer, on_turn=crash)
        trainer.train()
    assert mine() == []
