"""The README's chat-completions tool loop, run as written: the real openai client, a scripted endpoint
(an httpx transport in this process: no network), SWE-v0 in real containers."""

import json
import os
import re
from pathlib import Path

import gymnasium as gym
import httpx
import pytest
from openai import OpenAI

from swe_gym_env.backends.docker.cleanup import project_containers
from swe_gym_env.backends.docker.client import LABEL, get_client
from swe_gym_env.tasks.task import load_tasks

pytestmark = pytest.mark.docker

README = Path(__file__).resolve().parents[2] / "README.md"
TASK = load_tasks("builtin")[8]


def readme_example():
    """The README's python block that defines run_episode, executed as a module that is not __main__."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    [source] = [block for block in blocks if "def run_episode(" in block]
    namespace = {"__name__": "readme_example"}
    exec(compile(source, "README.md", "exec"), namespace)
    return namespace["run_episode"]


def mine():
    return [c.name for c in project_containers(get_client()) if (c.labels or {}).get(f"{LABEL}.pid") == str(os.getpid())]


def tool_call(number, name, **arguments):
    return {"id": f"call_{number}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}


class ScriptedEndpoint:
    """A chat-completions endpoint that answers with the next scripted message and records requests."""

    def __init__(self, replies, before_reply=None):
        self.replies = list(replies)
        self.requests = []
        self.before_reply = before_reply

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/chat/completions"
        self.requests.append(json.loads(request.content))
        if self.before_reply is not None:
            self.before_reply(len(self.requests))
        message = self.replies.pop(0)
        body = {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion", "created": 0, "model": "scripted",
                "choices": [{"index": 0, "message": {"role": "assistant", **message},
                             "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}]}
        return httpx.Response(200, json=body)

    def client(self):
        return OpenAI(api_key="scripted", base_url="http://endpoint.invalid/v1", max_retries=0,
                      http_client=httpx.Client(transport=httpx.MockTransport(self)))


GOLD = [
    {"content": "I will look first."},  # no tool call: the loop asks for one
    {"content": None, "tool_calls": [tool_call(1, "str_replace_editor", command="create", path="/tmp/fix.patch",
                                               file_text=TASK.patch)]},
    {"content": None, "tool_calls": [tool_call(2, "bash", command="git apply /tmp/fix.patch && rm /tmp/fix.patch")]},
    {"content": "Done.", "tool_calls": [tool_call(3, "submit")]},
]


@pytest.fixture
def env():
    env = gym.make("SWE-v0", tasks="builtin", max_steps=20)
    yield env
    env.close()


def test_the_readme_loop_resolves_the_gold_fix_and_not_an_empty_one(env):
    run_episode = readme_example()
    endpoint = ScriptedEndpoint(GOLD)
    assert run_episode(endpoint.client(), "scripted", env, TASK.instance_id) == 1.0
    first, last = endpoint.requests[0], endpoint.requests[-1]
    assert first["tools"] == env.unwrapped.tools and first["model"] == "scripted"
    assert TASK.problem_statement.strip() in first["messages"][1]["content"]
    assert last["messages"][-1] == {"role": "tool", "tool_call_id": "call_2", "content": "(no output)\n"}
    assert last["messages"][3]["content"].startswith("Use a tool")

    empty = ScriptedEndpoint([{"content": None, "tool_calls": [tool_call(1, "submit")]}])
    assert run_episode(empty.client(), "scripted", env, TASK.instance_id) == 0.0


def test_an_infrastructure_failure_is_none_not_zero(env):
    def kill_at_second_request(count):
        if count == 2:
            env.unwrapped.sandbox.container.kill()

    endpoint = ScriptedEndpoint(GOLD[1:], before_reply=kill_at_second_request)
    assert readme_example()(endpoint.client(), "scripted", env, TASK.instance_id) is None
    assert env.unwrapped.sandbox is None  # the broken episode's sandbox is released at once
    env.close()  # and the warm pool with the env
    assert mine() == []
