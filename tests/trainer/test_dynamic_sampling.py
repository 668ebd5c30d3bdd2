"""DAPO dynamic sampling: groups whose outcomes are all equal are dropped; infrastructure failures are masked."""

from trainer.config import RLConfig
from trainer.episode import Episode, Turn
from trainer.rl import is_informative, select_groups, shaped_reward, to_trl


def episode(resolved: bool, failure: bool = False, task: str = "t", turns: int = 2, truncated: bool = False) -> Episode:
    completion = (5, 6, 7, 8)
    return Episode(
        task_id=task, prompt_ids=(1, 2, 3), completion_ids=completion, env_mask=(1, 1, 0, 1),
        logprobs=(-0.1, -0.2, 0.0, -0.3), turns=tuple(Turn(0, 2, "a", "o", False) for _ in range(turns)),
        reward=1.0 if resolved else 0.0, resolved=resolved, truncated=failure or truncated,
        failure={"type": "daemon", "message": "down", "phase": "step"} if failure else None,
    )


def test_all_equal_groups_are_not_informative():
    assert not is_informative([episode(True), episode(True), episode(True)])
    assert not is_informative([episode(False), episode(False)])
    assert is_informative([episode(True), episode(False)])
    # judged on pass/fail among episodes the infrastructure did not break
    assert not is_informative([episode(True), episode(True), episode(False, failure=True)])


def test_select_groups_drops_uniform_groups_and_refills():
    mixed = [episode(True, task="m"), episode(False, task="m")]
    solved = [episode(True, task="s"), episode(True, task="s")]
    failed = [episode(False, task="f"), episode(False, task="f")]
    draws = []

    def resample(count):
        draws.append(count)
        return [[episode(True, task="r"), episode(False, task="r")]] * count

    kept, masked, rounds = select_groups([mixed, solved, failed], 3, resample, max_rounds=1)
    assert draws == [2] and rounds == 1 and masked == []
    assert [g[0].task_id for g in kept] == ["m", "r", "r"]

    kept, masked, rounds = select_groups([mixed, solved, failed], 3, None, max_rounds=1)
    assert [g[0].task_id for g in kept] == ["m"] and [g[0].task_id for g in masked] == ["s", "f"]


def test_to_trl_masks_dropped_groups_and_failures():
    config = RLConfig()
    kept = [[episode(True), episode(False), episode(False, failure=True)]]
    masked = [[episode(False, task="f"), episode(False, task="f"), episode(False, task="f")]]
    out = to_trl(kept, masked, config, max_context_tokens=100)
    assert len(out["prompt_ids"]) == 6
    assert out["env_mask"][0] == [1, 1, 0, 1] and out["env_mask"][1] == [1, 1, 0, 1]
    assert out["env_mask"][2] == [0, 0, 0, 0]  # the infrastructure broke it: no loss
    assert out["env_reward"][2] is None  # and no reward (TRL leaves it out of the group baseline)
    assert all(mask == [0, 0, 0, 0] for mask in out["env_mask"][3:])  # all-equal group: dropped
    assert out["completion_ids"][0] == [5, 6, 7, 8] and out["prompt_ids"][0] == [1, 2, 3]
    assert out["logprobs"][0] == [-0.1, -0.2, 0.0, -0.3]


def test_truncated_episodes_keep_their_reward_but_carry_no_loss():
    kept = [[episode(True), episode(False), episode(False, truncated=True)]]
    out = to_trl(kept, [], RLConfig(), max_context_tokens=100)
    assert out["env_mask"][:2] == [[1, 1, 0, 1], [1, 1, 0, 1]]
    assert out["env_mask"][2] == [0, 0, 0, 0]  # DAPO overlong filtering: cut by the turn limit
    assert out["env_reward"] == [1.0, 0.0, 0.0]  # still in the group baseline
    out = to_trl(kept, [], RLConfig(mask_truncated=False), max_context_tokens=100)
    assert out["env_mask"][2] == [1, 1, 0, 1]


def test_reward_shaping_is_off_by_default_and_penalizes_when_asked():
    config = RLConfig()
    assert shaped_reward(episode(True, turns=9), config, 100) == 1.0
    config = RLConfig(turn_penalty=0.1, turn_penalty_after=5, overlong_buffer=4, overlong_penalty=1.0)
    assert abs(shaped_reward(episode(True, turns=8), config, 100) - 0.7) < 1e-9
    long_episode = episode(True, turns=1)  # 7 tokens with a context of 8 and a buffer of 4: 3/4 penalty
    assert abs(shaped_reward(long_episode, config, 8) - 0.25) < 1e-9
    assert shaped_reward(episode(True, failure=True), config, 100) is None
