"""Execution-trace examples as warm-start rows, and demonstrations that trace before their edit."""

import json
import math

import pytest
from trainer_helpers import TRAIN

import swe_gym_env
from swe_gym_env.trace.examples import TraceExample, changed_functions, read_examples, write_examples
from trainer.chat import ChatFormat
from trainer.data import IGNORE, sft_rows
from trainer.demos import demo_actions, starting_files
from trainer.rft import SFTSettings, fine_tune, replay_probability
from trainer.trace_data import trace_episode, trace_examples

TASKS = {task.instance_id: task for task in swe_gym_env.load_tasks("builtin")}
EXAMPLE = TraceExample(
    task_id="swe-gym__textkit-1", state="buggy", test="tests/test_wrap.py::test_truncate_word_boundary_sentence",
    path="textkit/wrap.py", function="truncate", code="  53      return cut.rstrip() + ellipsis",
    test_source='def test_x():\n    assert truncate("hello world again", 14, word_boundary=True) == "hello world..."',
    trace="call truncate(text='hello world again', length=14)  textkit/wrap.py:38\nreturn truncate -> 'hello...'",
    result="failed: AssertionError: assert 'hello...' == 'hello world...'",
)


def test_an_example_is_one_model_turn_with_loss_on_the_answer_only(tokenizer):
    chat = ChatFormat(tokenizer)
    episode = trace_episode(EXAMPLE, chat)
    assert "Predict the execution" in episode.prompt and "textkit/wrap.py" in episode.prompt
    assert episode.num_turns == 1 and episode.turns[0].action == EXAMPLE.answer()
    (row,) = sft_rows([episode])
    trained = [token for token, label in zip(row["input_ids"], row["labels"], strict=True) if label != IGNORE]
    assert tokenizer.decode(trained, skip_special_tokens=True) == EXAMPLE.answer()


def test_examples_of_other_tasks_are_left_out(tmp_path):
    other = TraceExample(**{**EXAMPLE.to_json(), "task_id": "swe-gym__textkit-4"})
    path = write_examples([EXAMPLE, other, EXAMPLE], tmp_path / "traces.jsonl.gz")
    assert len(read_examples(path)) == 3
    chosen = trace_examples([TASKS["swe-gym__textkit-1"]], 10, path=str(path))
    assert [example.task_id for example in chosen] == ["swe-gym__textkit-1"] * 2
    assert trace_examples([TASKS["swe-gym__textkit-1"]], 0, path=str(path)) == []


def test_the_replay_stop_is_judged_on_the_demonstrations_only(tokenizer, model, tmp_path):
    chat = ChatFormat(tokenizer)
    examples = [trace_episode(EXAMPLE, chat)] * 3
    demo = trace_episode(TraceExample(**{**EXAMPLE.to_json(), "result": "passed", "trace": "return x -> 1"}), chat)
    metrics = fine_tune(model, tokenizer, [*examples, demo], SFTSettings(learning_rate=1e-3, epochs=1, stop_at_replay=0.5),
                        tmp_path / "sft", replay_episodes=[demo])
    assert metrics["steps"] == 4
    assert math.isclose(metrics["replay_probability"], replay_probability(model, [demo])[0], rel_tol=1e-6)
    assert not math.isclose(metrics["replay_probability"], replay_probability(model, examples[:1])[0], rel_tol=1e-3)


@pytest.mark.parametrize("task", TRAIN, ids=lambda task: task.instance_id)
def test_a_demonstration_can_trace_the_visible_tests_first(task):
    files = starting_files(task)
    plain = demo_actions(task, files)
    traced = demo_actions(task, files, trace_first=True)
    assert traced[1:] == plain
    call = json.loads(traced[0].removeprefix("<tool_call>").removesuffix("</tool_call>"))
    (_path, function), *_ = changed_functions(task.patch, files)
    assert call["name"] == "trace" and call["arguments"]["focus"] == function.name
    assert "python3 -m pytest" in call["arguments"]["command"]
