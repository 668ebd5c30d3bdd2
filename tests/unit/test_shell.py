"""The persistent shell protocol, run on the host's own bash through pipes (no Docker).

The session script only needs bash and coreutils, so the same code that runs in containers runs here;
the container-only guarantees (fork bombs under a pids limit, the docker socket) are integration tests.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import uuid

import pytest

from swe_gym_env.backends.base import Limits
from swe_gym_env.backends.docker.shell import (
    STDERR,
    STDOUT,
    DockerExecChannel,
    PipeChannel,
    SessionError,
    ShellSession,
    command_line,
    setup_code,
)

LIMITS = Limits(command_timeout=10, output_head=2000, output_tail=500, output_hard_limit=1 << 20)


@pytest.fixture
def session(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shell = ShellSession(lambda: PipeChannel(cwd=str(work)), LIMITS, directory=str(tmp_path / "session"))
    shell.start()
    shell.work = str(work)  # type: ignore[attr-defined]
    yield shell
    shell.close()


def run(shell, command, **kwargs):
    kwargs.setdefault("timeout", 10)
    kwargs.setdefault("base_dir", shell.work)
    return shell.run(command, **kwargs)


def test_output_exit_code_and_stderr_interleaved(session):
    result = run(session, "echo out; echo err >&2; exit 3")
    assert result.exit_code == 3 and not result.timed_out
    assert result.output == "out\nerr\n"


def test_terminal_state_persists_only_when_asked(session):
    run(session, "mkdir -p sub && cd sub && x=5 && export Y=7 && f() { echo in-f; }", persist=True)
    kept = run(session, 'pwd; echo "$x $Y"; f', persist=True)
    assert kept.output.splitlines() == [os.path.join(session.work, "sub"), "5 7", "in-f"]
    clean = run(session, 'pwd; echo "[$x $Y]"', persist=False)
    assert clean.output.splitlines() == [session.work, "[ ]"]


def test_exit_and_exec_do_not_break_the_session(session):
    assert run(session, "cd /; exit 4", persist=True).exit_code == 4
    assert run(session, "exec true").exit_code == 0
    assert run(session, "set -e; false; echo never").exit_code == 1
    assert run(session, "PATH=/nowhere; export PATH").exit_code == 0
    after = run(session, "pwd; ls / >/dev/null && echo ok", persist=True)
    assert after.output.splitlines() == ["/", "ok"]  # state of the command that exited was saved


def test_random_is_not_replayed_from_the_state(session):
    values = {run(session, "echo $RANDOM", persist=True).output for _ in range(3)}
    assert len(values) == 3


def test_workdir_and_env_apply_to_one_command(session, tmp_path):
    result = run(session, 'pwd; echo "$GREETING"', workdir=str(tmp_path), env={"GREETING": "a b 'c'"})
    assert result.output.splitlines() == [str(tmp_path), "a b 'c'"]
    assert run(session, 'echo "[$GREETING]"').output == "[]\n"
    with pytest.raises(ValueError):
        setup_code(None, {"BAD-NAME": "x"})


def test_timeout_kills_the_command_and_its_process_group(session):
    marker = uuid.uuid4().hex
    result = run(session, f"(exec -a sleeper-{marker} sleep 60) & sleep 60", timeout=1)
    assert result.timed_out and result.exit_code in (124, 137)
    left = subprocess.run(["pgrep", "-f", f"sleeper-{marker}"], capture_output=True, text=True)
    assert left.stdout.strip() == ""


def test_output_is_capped_head_and_tail(session):
    result = run(session, "seq 1 100000")
    assert result.truncated
    assert result.output.startswith("1\n2\n") and result.output.rstrip().endswith("100000")
    assert "output truncated" in result.output
    assert len(result.output.encode()) < 4000


def test_endless_output_is_stopped_at_the_hard_limit(session):
    result = run(session, "yes", timeout=20)
    assert result.truncated and not result.timed_out
    assert result.exit_code == 141  # SIGPIPE from the reader that stopped
    assert (1 << 20) <= result.output_bytes <= (1 << 20) + 4096


def test_many_small_writes_are_all_kept(session):
    # a reader that counts reads instead of bytes (dd count=N iflag=count_bytes) cuts this off early
    result = run(session, "for i in $(seq 3000); do echo $i; done; echo done", max_output=1 << 20)
    assert result.exit_code == 0 and result.output.splitlines()[-2:] == ["3000", "done"]


def test_max_output_keeps_the_whole_output(session):
    result = run(session, "seq 1 3000", max_output=1 << 20)
    assert not result.truncated and result.output.splitlines()[-1] == "3000"


def test_background_child_holding_stdout_does_not_hang(session):
    result = run(session, "sleep 30 & echo started")
    assert result.output == "started\n" and result.duration < 5


def test_invalid_utf8_and_nul_are_decoded_safely(session):
    result = run(session, r"printf 'ok \xff\xfe \000 end'")
    assert result.output == "ok \ufffd\ufffd  end"


def test_quotes_newlines_and_nul_in_the_command(session):
    command = "printf '%s\\n' \"it's\" 'a \"b\"'\necho $((1+1))\x00"
    assert run(session, command).output == "it's\na \"b\"\n2\n"
    line = command_line("id", "x\x00y", timeout=1, limits=LIMITS, max_output=None, state_file="", setup="")
    assert b"\x00" not in line


def test_syntax_error_is_an_ordinary_result(session):
    result = run(session, "if then")
    assert result.exit_code == 2 and "syntax error" in result.output


def test_a_killed_shell_is_reported_and_replaced(session):
    run(session, "cd /tmp && z=9", persist=True)
    old_pid = session.pid
    died = run(session, f"kill -9 {old_pid}; sleep 1")
    assert "shell session was killed" in died.output
    after = run(session, 'pwd; echo "$z"', persist=True)
    assert after.exit_code == 0 and after.output.splitlines()[:2] == ["/tmp", "9"]
    assert session.pid != old_pid and session.restarts == 1


def test_a_shell_dead_between_commands_is_restarted_with_a_note(session):
    os.kill(session.pid, 9)
    session.channel.process.wait()
    result = run(session, "echo fine")
    assert result.output.startswith("fine\n") and "new one was started" in result.output


def test_start_failure_raises_session_error(tmp_path):
    shell = ShellSession(lambda: PipeChannel(["bash", "-c", "exit 7"], cwd=str(tmp_path)), LIMITS)
    with pytest.raises(SessionError, match="exited at start|did not start"):
        shell.start()


class SilentChannel:
    """Accepts input, never answers."""

    def __init__(self):
        self.sent = []
        self.closed_calls = 0

    def send(self, data):
        self.sent.append(data)

    def recv(self, timeout):
        raise TimeoutError("silent")

    def closed(self):
        return False

    def pending(self):
        return False

    def exit_status(self):
        return None

    def close(self):
        self.closed_calls += 1


def test_a_session_that_stops_answering_raises_and_is_closed():
    channel = SilentChannel()
    shell = ShellSession(lambda: channel, LIMITS)
    shell.channel, shell.pid = channel, 123  # as if started
    with pytest.raises(SessionError, match="not responding"):
        shell.run("true", timeout=0.1, guard=0.1)
    assert channel.closed_calls == 1 and shell.channel is None


class ScriptedChannel(SilentChannel):
    def __init__(self, frames):
        super().__init__()
        self.frames = list(frames)

    def recv(self, timeout):
        return self.frames.pop(0) if self.frames else None


def test_framing_tolerates_split_frames_stray_bytes_and_stderr():
    shell = ShellSession(lambda: None, LIMITS)
    body = b"hello\nSWEGYM-END not-this-one\n"
    frames = [
        (STDOUT, b"stray SWEGYM zz 0 -1 0 0 0\n"),
        (STDERR, b"bash: warning\n"),
        (STDOUT, b"SWEGYM abc 0 -1 0 0 0\n" + body[:4]),
        (STDOUT, body[4:] + b"\nSWEGYM-E"),
        (STDOUT, b"ND abc\n"),
    ]
    raw = shell._read_result(ScriptedChannel(frames), "abc", deadline=1e18)
    assert raw == b"SWEGYM 0 %d 0 0 0\n" % len(body) + body
    assert shell._read_result(ScriptedChannel([(STDOUT, b"SWEGYM abc 0")]), "abc", 1e18) is None


def test_docker_exec_channel_demultiplexes_frames():
    left, right = socket.socketpair()
    channel = DockerExecChannel(api=None, exec_id="x", sock=left)
    payload = struct.pack(">BxxxL", 1, 5) + b"hello" + struct.pack(">BxxxL", 2, 3) + b"err"
    right.sendall(payload[:3])
    right.sendall(payload[3:])
    assert channel.recv(1) == (1, b"hello")
    assert channel.recv(1) == (2, b"err")
    assert not channel.closed() and not channel.pending()
    channel.send(b"ping")
    assert right.recv(4) == b"ping"
    right.close()
    assert channel.recv(1) is None and channel.closed()
    channel.close()
