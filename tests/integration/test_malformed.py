"""Malformed actions against the real env: an observation that says what was wrong, never an exception."""


ACTIONS = [
    ("", "empty"),
    ("rm -rf / please", "No tool call found"),
    ('<tool_call>{"name": "bash", "arguments": {"command": "ls"</tool_call>', "not valid JSON"),
    ('<tool_call>{"name": "teleport", "arguments": {}}</tool_call>', "Unknown tool"),
    ('<tool_call>{"name": "bash", "arguments": {}}</tool_call>', "missing required"),
    ('<tool_call>{"name": "bash", "arguments": {"command": "ls", "timeout": 5}}</tool_call>', "unexpected argument"),
    ({"name": "str_replace_editor", "arguments": {"command": "str_replace", "path": "textkit/wrap.py",
                                                  "old_str": "this text is not there", "new_str": "x"}}, "not found"),
    ({"name": "str_replace_editor", "arguments": {"command": "str_replace", "path": "textkit/wrap.py",
                                                  "old_str": "return", "new_str": "x"}}, "must be unique"),
    ({"name": "str_replace_editor", "arguments": {"command": "view", "path": "/testbed/no/such/file.py"}}, "does not exist"),
    ({"name": "str_replace_editor", "arguments": {"command": "str_replace", "path": "nope.py", "old_str": "a",
                                                  "new_str": "b"}}, "does not exist"),
    ({"name": "str_replace_editor", "arguments": {"command": "create", "path": "/testbed/textkit",
                                                  "file_text": "x"}}, "directory"),
    ({"name": "str_replace_editor", "arguments": {"command": "undo_edit", "path": "textkit/wrap.py"}}, "no edit"),
    (["not", "a", "call"], "must be text or a tool-call dict"),
]


def test_every_malformed_action_is_explained(make_env):
    env = make_env(max_steps=100)
    env.reset(options={"task_id": "swe-gym__textkit-1"})
    for action, expected in ACTIONS:
        obs, reward, terminated, truncated, info = env.step(action)
        assert expected in obs, (action, obs)
        assert reward == 0.0 and not terminated and not truncated and "failure" not in info
    assert info["format_errors"] + info["tool_errors"] == len(ACTIONS)
    obs, *_ = env.step("```bash\necho still fine\n```")
    assert obs.strip() == "still fine"
