"""The trainer on a CUDA device: batched generation and one RFT and one DAPO step in bf16 (skipped without CUDA)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


@pytest.fixture(scope="module")
def tiny():
    import swe_gym_env
    from trainer.demos import demo_actions, starting_files
    from trainer.tiny import TinyConfig, build_model, tokenizer_corpus, train_tokenizer

    tasks = swe_gym_env.load_tasks("builtin")[:3]
    extra = [a for t in tasks for a in demo_actions(t, starting_files(t))]
    tokenizer = train_tokenizer(tokenizer_corpus(tasks, extra), 1024)
    config = TinyConfig(vocab_size=1024, hidden_size=64, num_layers=2, num_heads=2, num_kv_heads=1, intermediate_size=128)
    return tokenizer, lambda: build_model(tokenizer, config).to("cuda")


def test_generation_on_gpu_keeps_sampling_logprobs(tiny):
    from trainer.policy import HFPolicy, Sampling

    tokenizer, make = tiny
    model = make()
    policy = HFPolicy(model, tokenizer, Sampling(max_new_tokens=16), seed=0)
    contexts = [policy.chat.prompt_ids("fix the bug"), policy.chat.prompt_ids("another, longer bug report here")]
    generations = policy.generate(contexts, [16, 8])
    assert len(generations[0].token_ids) <= 16 and len(generations[1].token_ids) <= 8
    for context, generation in zip(contexts, generations):
        ids = torch.tensor([context + list(generation.token_ids)], device="cuda")
        with torch.no_grad():
            logits = model(ids).logits[0, len(context) - 1 : -1].float()
        expected = torch.log_softmax(logits, -1).gather(-1, ids[0, len(context):, None])[:, 0].cpu()
        assert torch.allclose(expected, torch.tensor(generation.logprobs), atol=1e-3)


def test_one_rl_step_runs_on_gpu_in_bf16(tiny, tmp_path):
    from trainer.config import RLConfig
    from trainer.envs import make_envs
    from trainer.policy import HFPolicy, Sampling
    from trainer.rl import EpisodeRolloutFunc, build_grpo_trainer, grpo_config
    from trainer.rollout import RolloutLimits

    tokenizer, make = tiny
    model = make()
    config = RLConfig(steps=1, tasks_per_step=1, num_generations=2, learning_rate=1e-2, dynamic_sampling=False)
    with make_envs(2, tasks="builtin", backend="fake", max_steps=3) as envs:
        rollout = EpisodeRolloutFunc(HFPolicy(model, tokenizer, Sampling(max_new_tokens=16)), envs,
                                     ["swe-gym__textkit-1"], RolloutLimits(3, 2048, 16), config)
        args = grpo_config(config, tmp_path, seed=0, report_to=[], max_context_tokens=2048)
        assert args.bf16 and not args.use_cpu
        trainer = build_grpo_trainer(model, tokenizer, rollout, ["swe-gym__textkit-1"], args)
        before = [p.detach().clone() for p in model.parameters()]
        trainer.train()
    assert rollout.calls == 1
    # all-fail groups give zero advantages: the step runs end to end on the GPU; parameters move only with signal
    assert all(p.device.type == "cuda" for p in model.parameters())
    assert len(before) == len(list(model.parameters()))
