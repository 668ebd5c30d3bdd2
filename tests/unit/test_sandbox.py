import pytest

from swe_gym_env.backends.base import ExecResult, Limits, decode, format_observation
from swe_gym_env.backends.wrapper import parse_wrapper_output, wrapper_argv


def test_parse_plain_output():
    result = parse_wrapper_output(b"SWEGYM 3 6 0 0 0\nhello\n", timeout=10, duration=0.1)
    assert result == ExecResult("hello\n", 3, False, False, 0.1, 0, 6)


def test_parse_truncated_output_keeps_head_and_tail():
    raw = b"SWEGYM 0 4 1000 0 0\nHEADTAIL"
    result = parse_wrapper_output(raw, timeout=10, duration=0.1)
    assert result.truncated and result.output.startswith("HEAD") and result.output.endswith("TAIL")
    assert "output truncated: 996 bytes omitted of 1004" in result.output


def test_timeout_needs_the_exit_code_and_the_time():
    assert parse_wrapper_output(b"SWEGYM 124 0 0 0 0\n", timeout=2, duration=2.05).timed_out
    assert not parse_wrapper_output(b"SWEGYM 124 0 0 0 0\n", timeout=2, duration=0.1).timed_out


def test_broken_wrapper_output_is_reported_not_raised():
    result = parse_wrapper_output(b"OCI runtime exec failed", timeout=2, duration=0.1)
    assert result.exit_code == 125 and "OCI runtime" in result.output


def test_decode_never_fails():
    assert decode(b"ok \xff\xfe\x00end") == "ok \ufffd\ufffdend"


def test_observation_notes():
    assert format_observation(ExecResult("", 0)) == "(no output)\n"
    assert "[exit code 2]" in format_observation(ExecResult("boom", 2))
    text = format_observation(ExecResult("", 124, timed_out=True), timeout=5)
    assert "timed out after 5 s" in text and "exit code" not in text
    assert "3 leftover background processes were killed" in format_observation(ExecResult("x", 0, killed_background=3))


def test_wrapper_argv_and_limits():
    argv = wrapper_argv("ls", 3.5, Limits(), max_output=100)
    assert argv[:2] == ["bash", "-c"] and argv[4] == "ls" and argv[5] == "3.5" and argv[6] == "100" and argv[7] == "0"
    with pytest.raises(ValueError):
        Limits(command_timeout=0)
    with pytest.raises(ValueError):
        Limits(pids=2)
