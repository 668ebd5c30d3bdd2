"""Steps an agent takes in integration tests, through the env's own tools; and git for test repositories."""

import os
import subprocess
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "dev",
    "GIT_AUTHOR_EMAIL": "dev@example.invalid",
    "GIT_COMMITTER_NAME": "dev",
    "GIT_COMMITTER_EMAIL": "dev@example.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    """``git args`` in ``cwd`` with a fixed identity and no user or system configuration; its stdout."""
    return subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True, capture_output=True, text=True
    ).stdout


def bash(env, command: str):
    """One bash step; returns (observation, info)."""
    obs, reward, terminated, truncated, info = env.step({"name": "bash", "arguments": {"command": command}})
    assert not terminated and not truncated, (obs, info)
    return obs, info


def submit(env):
    return env.step('<tool_call>{"name": "submit", "arguments": {}}</tool_call>')


def apply_patch_with_tools(env, patch: str) -> None:
    """Write a patch with the editor, then `git apply` it with bash: the gold or any fix, through the tools."""
    obs, *_ = env.step({"name": "str_replace_editor",
                        "arguments": {"command": "create", "path": "/tmp/fix.patch", "file_text": patch}})
    assert obs.startswith("File created"), obs
    obs, info = bash(env, "git apply /tmp/fix.patch && rm /tmp/fix.patch && git status --short")
    assert info["exit_code"] == 0, obs
