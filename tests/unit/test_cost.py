"""Expected test cost: where it comes from, and the bounds it sets."""

import json

import pytest

from swe_gym_env import load_tasks
from swe_gym_env.grading.cost import (
    CAP,
    COST_KEY,
    FLOOR,
    CostCache,
    TestCost,
    command_timeout,
    expected_cost,
    grading_bound,
    row_cost,
)
from swe_gym_env.grading.validation import with_test_cost

TASK = load_tasks("builtin")[0]


def test_nothing_known_means_swe_benchs_timeout():
    bound = grading_bound(None)
    assert bound.seconds == CAP == 1800 and "nothing is known" in bound.rule


@pytest.mark.parametrize("wall, std, expected", [(1.0, 0.0, FLOOR), (20.0, 1.0, 106.0), (500.0, 50.0, CAP)])
def test_the_bound_is_a_multiple_of_the_expected_cost_between_floor_and_cap(wall, std, expected):
    bound = grading_bound(TestCost(wall, std))
    assert bound.seconds == pytest.approx(expected)
    assert f"{wall:.2f}" in bound.rule and bound.as_dict()["expected"]["wall"] == wall


def test_command_timeouts_leave_room_for_the_tasks_own_suite():
    assert command_timeout(120.0, None) == 120.0
    assert command_timeout(120.0, TestCost(10.0)) == 120.0
    assert command_timeout(60.0, TestCost(100.0)) == 230.0
    assert command_timeout(60.0, TestCost(5000.0)) == CAP
    assert command_timeout(3.0, TestCost(100.0), explicit=True) == 3.0  # the user's choice is kept


def test_a_row_carries_its_cost_and_the_cache_fills_in_for_rows_without(tmp_path):
    cache = CostCache(tmp_path / "cost.json")
    assert row_cost(TASK) is None or row_cost(TASK).source == "row"
    bare = with_test_cost(TASK, None)
    assert bare is TASK
    costed = with_test_cost(TASK, TestCost.from_runs([1.0, 1.2, 1.4], [0.5, 0.7], "row"))
    recorded = costed.extra[COST_KEY]
    assert recorded["runs"] == 3 and recorded["wall"] == pytest.approx(1.2) and recorded["cpu"] == pytest.approx(0.6)
    assert json.loads(json.dumps(costed.to_row()))[COST_KEY] == recorded  # round-trips through a row
    assert row_cost(load_tasks([costed.to_row()])[0]).wall == pytest.approx(1.2)
    plain = load_tasks([{k: v for k, v in TASK.to_row().items() if k != COST_KEY}])[0]
    assert expected_cost(plain, cache) is None
    cache.record(plain, 2.0, 1.0)
    cache.record(plain, 4.0, None)
    got = expected_cost(plain, cache)
    assert got.source == "cache" and got.wall == pytest.approx(3.0) and got.runs == 2 and got.cpu == pytest.approx(1.0)
    assert expected_cost(costed, cache).source == "row"  # the row's own measurement comes first


def test_the_cache_keeps_a_bounded_history_and_survives_a_broken_file(tmp_path):
    cache = CostCache(tmp_path / "cost.json")
    for i in range(30):
        cache.record(TASK, float(i), None)
    assert expected_cost(load_tasks([{k: v for k, v in TASK.to_row().items() if k != COST_KEY}])[0], cache).runs == 20
    (tmp_path / "cost.json").write_text("{not json")
    assert cache.get(TASK) is None
    cache.record(TASK, 1.0, None)
    assert cache.get(TASK).wall == 1.0


@pytest.mark.parametrize("value", ["not json", {"wall": "slow"}, [], None])
def test_malformed_row_costs_are_ignored(value):
    row = {**TASK.to_row(), COST_KEY: value}
    assert row_cost(load_tasks([row])[0]) is None


@pytest.mark.parametrize("given, expected", [({}, 2 * 100 + 30), ({"command_timeout": 7}, 7),
                                             ({"limits_timeout": 9}, 9)])
def test_an_env_raises_only_the_default_command_timeout_for_a_costly_task(given, expected):
    from swe_gym_env.backends.base import Limits
    from swe_gym_env.env import SWEEnv

    costly = with_test_cost(TASK, TestCost(100.0, source="row"))
    kwargs = {"limits": Limits(command_timeout=given.pop("limits_timeout"))} if "limits_timeout" in given else given
    env = SWEEnv(tasks=[costly], backend="fake", **kwargs)
    _, info = env.reset(seed=0)
    assert info["limits"]["command_timeout"] == expected
    env.close()
