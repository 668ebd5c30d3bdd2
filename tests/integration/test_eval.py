"""`make eval` end to end on the built-in tasks: scripted agents, interruption + resume, an OpenAI-compatible server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import swe_gym_env
from benchmarks.common import default_signals
from swe_gym_env.synth.builtin import wrong_patch
from swe_gym_env.tasks.builtin.specs import ALL_SPECS
from trainer.eval import EvalSettings, ScriptedFactory, run_eval
from trainer.eval.openai_agent import OpenAIClient, OpenAIFactory

TASKS = swe_gym_env.load_tasks("builtin")
SPECS = {spec.instance_id: spec for spec in ALL_SPECS}


def eval_cli(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "trainer.eval", "--dataset", "builtin", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_signals,
                            **kwargs)


@pytest.fixture(scope="module")
def oracle_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("oracle")
    done = eval_cli("--policy", "oracle", "--max-workers", "3", "--run-dir", str(run_dir))
    out, err = done.communicate(timeout=900)
    assert done.returncode == 0, err
    return run_dir, out


def test_oracle_resolves_everything(oracle_run):
    run_dir, out = oracle_run
    report = json.loads((run_dir / "report.json").read_text())
    assert report["resolved"] == report["episodes"] == len(TASKS) and report["resolve_rate"] == 1.0
    assert report["infra_failures"] == 0 and "resolve rate      100.0%" in out
    predictions = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert sorted(p["instance_id"] for p in predictions) == sorted(t.instance_id for t in TASKS)
    assert all(set(p) == {"instance_id", "model_name_or_path", "model_patch"} and p["model_patch"] for p in predictions)
    trajectory = json.loads((run_dir / "trajectories" / TASKS[0].instance_id / "sample-0.json").read_text())
    assert trajectory["turns"] == 3 and trajectory["messages"][0]["role"] == "user"
    assert all("env_seconds" in step for step in trajectory["steps"])


def test_predictions_are_read_by_swebench(oracle_run):
    from swebench.harness.utils import get_predictions_from_file

    run_dir, _ = oracle_run
    predictions = get_predictions_from_file(str(run_dir / "predictions.jsonl"), "unused", "test")
    assert len(predictions) == len(TASKS)


def test_null_resolves_nothing(tmp_path):
    report = run_eval(TASKS, ScriptedFactory("null"), tmp_path, settings=EvalSettings(max_workers=3, num_samples=2))
    assert report["resolved"] == 0 and report["episodes"] == 2 * len(TASKS) and report["pass@2"] == 0.0
    assert report["resolve_rate_ci95"][0] == 0.0


def test_interrupt_then_resume_equals_an_uninterrupted_run(tmp_path, oracle_run):
    run_dir = tmp_path / "run"
    first = eval_cli("--policy", "oracle", "--max-workers", "1", "--run-dir", str(run_dir))
    results = run_dir / "results.jsonl"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if results.exists() and len(results.read_text().splitlines()) >= 4:
            break
        time.sleep(0.2)
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 130 and "--resume" in err
    finished = [json.loads(line)["instance_id"] for line in results.read_text().splitlines()]
    assert 4 <= len(finished) < len(TASKS)

    second = eval_cli("--policy", "oracle", "--max-workers", "2", "--run-dir", str(run_dir), "--resume")
    out, err = second.communicate(timeout=900)
    assert second.returncode == 0, err
    rerun = [line.split()[0] for line in out.splitlines() if " sample 0 " in line]
    assert not set(rerun) & set(finished)  # finished episodes were not run again
    lines = results.read_text().splitlines()
    assert len(lines) == len(TASKS)
    resumed = json.loads((run_dir / "report.json").read_text())
    uninterrupted = json.loads((oracle_run[0] / "report.json").read_text())
    for report in (resumed, uninterrupted):  # wall-clock timings differ between any two runs
        assert set(report.pop("episode_seconds")) == {"p50", "p95", "max"}
    assert resumed == uninterrupted


# -- an OpenAI-compatible server that replays scripted responses ------------------------------------------

def tool_call(name, arguments, call_id):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def completion(content="", calls=None):
    message = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return {"id": "x", "object": "chat.completion", "model": "scripted",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}}


def scripts():
    """Per task: a list of responses; an int status or a raw string stands for a failure or a bad body."""
    gold, text, wrong = TASKS[0], TASKS[1], TASKS[2]
    return {
        gold.instance_id: [  # tool calls, with transient errors in between
            429,
            completion(calls=[tool_call("str_replace_editor", {"command": "create", "path": "/tmp/p.patch",
                                                              "file_text": gold.patch}, "c1")]),
            500,
            503,
            completion(calls=[tool_call("bash", {"command": "git apply /tmp/p.patch"}, "c2")]),
            completion(calls=[tool_call("submit", {}, "c3")]),
        ],
        text.instance_id: [  # text actions, and one malformed response
            "this is not json",
            completion("Let me write the fix.\n```bash\ncat > /tmp/p.patch <<'EOF'\n" + text.patch + "EOF\n```"),
            completion('<function=bash><parameter=command>git apply /tmp/p.patch</parameter></function>'),
            completion('<tool_call>{"name": "submit", "arguments": {}}</tool_call>'),
        ],
        wrong.instance_id: [  # a plausible wrong fix
            completion("```bash\ncat > /tmp/p.patch <<'EOF'\n" + wrong_patch(SPECS[wrong.instance_id]) + "EOF\n"
                       "git apply /tmp/p.patch\n```"),
            completion(calls=[tool_call("submit", {}, "c9"), tool_call("bash", {"command": "ls"}, "c10")]),
        ],
    }


@pytest.fixture
def scripted_server():
    plan = scripts()
    served = {key: 0 for key in plan}
    seen: list[dict] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompt = body["messages"][1]["content"]
            key = next(k for k in plan if next(t for t in TASKS if t.instance_id == k).problem_statement.strip() in prompt)
            with lock:
                seen.append(body)
                response = plan[key][min(served[key], len(plan[key]) - 1)]
                served[key] += 1
            if isinstance(response, int):
                self.send_response(response)
                self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(b'{"error": "try again"}')
                return
            data = response.encode() if isinstance(response, str) else json.dumps(response).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", seen
    server.shutdown()


def test_openai_compatible_endpoint_drives_episodes(tmp_path, scripted_server):
    base_url, seen = scripted_server
    client = OpenAIClient(base_url, "scripted", max_concurrency=2, max_attempts=4)
    tasks = TASKS[:3]
    report = run_eval(tasks, OpenAIFactory(client), tmp_path, settings=EvalSettings(max_workers=3, max_steps=8,
                                                                                    model_name="scripted"))
    records = {json.loads(l)["instance_id"]: json.loads(l) for l in (tmp_path / "results.jsonl").read_text().splitlines()}
    assert records[tasks[0].instance_id]["resolved"]  # tool calls, through 429/500/503
    assert records[tasks[1].instance_id]["resolved"]  # text actions, after a malformed response
    assert records[tasks[1].instance_id]["format_errors"] == 1
    assert not records[tasks[2].instance_id]["resolved"] and records[tasks[2].instance_id]["status"] != "RESOLVED_FULL"
    assert report["resolved"] == 2 and report["infra_failures"] == 0
    assert client.retries == 3 and report["mean_prompt_tokens"] > 0
    first = next(body for body in seen if body["messages"][1]["content"].find(tasks[0].problem_statement.strip()) >= 0)
    assert [tool["function"]["name"] for tool in first["tools"]] == ["bash", "str_replace_editor", "trace", "submit"]
    tool_turn = next(body for body in seen if any(m["role"] == "tool" for m in body["messages"]))
    assert any(m.get("tool_call_id") == "c1" for m in tool_turn["messages"])


def test_endpoint_that_never_recovers_is_an_infra_failure(tmp_path):
    class Down(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Down)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = OpenAIClient(f"http://127.0.0.1:{server.server_address[1]}/v1", "m", max_attempts=2)
        report = run_eval(TASKS[:1], OpenAIFactory(client), tmp_path, settings=EvalSettings(max_workers=1))
    finally:
        server.shutdown()
    assert report["infra_failures"] == 1 and report["episodes"] == 0 and report["infra_failures_by_type"] == {"endpoint": 1}


def test_local_hf_model_runs_batched_episodes(tmp_path):
    from trainer.tiny import TinyConfig, build_tiny, tokenizer_corpus

    model_dir = tmp_path / "tiny"
    build_tiny(tokenizer_corpus(TASKS), TinyConfig(hidden_size=64, num_layers=1, intermediate_size=128, vocab_size=1024),
               model_dir)
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "trainer.eval", "--dataset", "builtin", "--policy", "hf", "--model", str(model_dir),
         "--instances", *[t.instance_id for t in TASKS[:3]], "--max-steps", "2", "--max-new-tokens", "12",
         "--max-workers", "3", "--temperature", "1.0", "--run-dir", str(run_dir)],
        capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["episodes"] == 3 and report["infra_failures"] == 0
    assert report["mean_completion_tokens"] > 0 and report["mean_prompt_tokens"] > 0
    for line in (run_dir / "results.jsonl").read_text().splitlines():
        record = json.loads(line)
        assert record["turns"] == 2 and (record["truncated"] or record["status"])
