"""A persistent shell per sandbox: commands go to one long-lived bash, completion comes back as a sentinel.

One ``docker exec`` costs tens of milliseconds of daemon work; writing a line to a shell that is
already running costs well under one. :class:`ShellSession` keeps a bash running in the sandbox (its
stdin and stdout are a byte channel: a hijacked docker exec socket, or plain pipes in the unit tests)
and runs each command through :data:`SESSION_SCRIPT`'s ``__sg_run``, which keeps every guarantee of the
stateless wrapper (:data:`swe_gym_env.backends.wrapper.EXEC_WRAPPER`):

- the command runs in a child ``bash`` in a process group of its own; at the timeout the whole group
  gets SIGTERM, and SIGKILL 2 s later (what ``timeout -k 2`` does, without exec'ing it);
- its output goes through a pipe to a ``cat`` that stops it with SIGPIPE past a hard limit; the head
  and the tail are kept; a background child that holds the pipe does not hold the command open;
- more than ``max_background`` leftover processes (a fork bomb) are all killed; RLIMIT_FSIZE applies;
- the command's processes take oom_score_adj 1000, so the OOM killer takes them, never the session;
- the output is decoded safely (invalid UTF-8 becomes U+FFFD).

The session shell itself never runs the agent's code, so ``exit``, ``exec``, ``set -e`` or a broken
``PATH`` cannot break the protocol. Like a terminal, the working directory, shell variables (exported
or not) and functions persist from one command to the next when ``persist=True``: the child bash
restores them from a state file before the command and saves them on exit (a command killed at its
timeout does not save). If the session shell dies anyway (the agent killed it), the command that was
running reports it, and the next command starts a fresh shell transparently, with the saved state.

Framing: the result of a command is ``SWEGYM <id> rc head_bytes rest_bytes killed leftover\\n``, the
head, the tail of the rest, then ``\\nSWEGYM-END <id>\\n``; ``<id>`` is random per command, so a command
cannot forge the end of its own output.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Protocol

from ..base import WORKDIR, ExecResult, Limits, decode
from ..wrapper import parse_wrapper_output

log = logging.getLogger(__name__)

STDOUT, STDERR = 1, 2
READY = b"SWEGYM-READY "
RESTART_NOTE = (
    "[note: the shell session had ended (killed or exited) and a new one was started for this command; "
    "the working directory and variables of the last completed command were kept]"
)
DIED_NOTE = (
    "[the shell session was killed while this command ran (exit status {status}); its output is lost. "
    "A new shell starts with the next command, with the working directory and variables of the last "
    "completed command]"
)

# Runs in the child bash: $1 the command, $2 the state file ("" = do not persist), $3 setup code
# (explicit workdir / env of this call). The state file is `declare -p` + `declare -f` + the cwd,
# sourced at the top level (bash's own read-only variables fail to restore, silently). The command is
# eval'ed at the top level, so `exit`, `return` and syntax errors behave as with `bash -c`.
CHILD_PRELUDE = " ".join(  # one line, so that bash reports the command's own line numbers
    r"""builtin echo 1000 2>/dev/null >/proc/self/oom_score_adj;
    if [ -n "$2" ] && [ -r "$2" ]; then builtin . "$2" >/dev/null 2>&1; RANDOM=$$; fi;
    __sg_cmd=$1 __sg_st=$2 __sg_pre=$3; set --;
    __sg_save() { { builtin printf 'builtin cd -- %q 2>/dev/null\n' "$PWD"; builtin unset -v __sg_cmd __sg_pre;
    builtin declare -p; builtin declare -f; } >"$__sg_st" 2>/dev/null; };
    if [ -n "$__sg_st" ]; then builtin trap __sg_save EXIT; fi;
    builtin eval "$__sg_pre" || exit 126;
    builtin eval "$__sg_cmd"
""".split()
)

# Sent once to the session bash. {dir} holds the message fifo (fd 3), the output pipe and file, and the
# state file; {fsize} is RLIMIT_FSIZE in KiB. `__sg_run id timeout head tail hard maxbg cwd state pre cmd`
# prints one framed result. With job control on (`set -m`) each command and its reader are jobs in
# process groups of their own, so the command's group can be counted and killed without exec'ing
# timeout(1). The reader `cat` copies the output as it comes (no stdio buffering) from a fifo into a
# file through the session's fd 4; RLIMIT_FSIZE stops it at head+hard bytes (then SIGPIPE stops the
# command), and fd 4's offset (fdinfo) says how many bytes were kept. (`dd count=N iflag=count_bytes`
# counts partial reads as blocks and would cut a slow writer off after a few hundred writes.) The
# command's exit status ("x") and the reader's end ("r") come back on fd 3 tagged with the command's
# id, so a stale reader of an earlier command (kept alive by a background child that holds the pipe)
# is never mistaken for this one; it keeps writing to the pipe and file of an older generation.
SESSION_SCRIPT = r"""S={dir}
mkdir -p "$S" || exit 125
rm -f "$S/done"; mkfifo "$S/done" || exit 125
exec 3<>"$S/done"
ulimit -f {fsize} 2>/dev/null
__sg_gen=$$
__sg_prelude={prelude}
__sg_count() {{  # n = the number of processes in group $1 (builtins only: works when no fork can)
  local d line rest g=$1
  n=0
  kill -0 -- "-$g" 2>/dev/null || return 0  # the group is empty: no need to look
  for d in /proc/[0-9]*; do
    read -r line 2>/dev/null < "$d/stat" || continue
    rest=${{line##*) }}; set -- $rest
    [ "$3" = "$g" ] && n=$((n+1))
  done
}}
__sg_reap() {{  # kill every other process group with more than $1 members (a bomb an earlier command left)
  local -A c; local d line rest g own max=$1
  [ -n "$__sg_dirty" ] || return 0  # only after a command that left processes behind
  __sg_dirty=
  read -r line < /proc/$$/stat; rest=${{line##*) }}; set -- $rest; own=$3
  for d in /proc/[0-9]*; do
    read -r line 2>/dev/null < "$d/stat" || continue
    rest=${{line##*) }}; set -- $rest
    c[$3]=$(( ${{c[$3]:-0}} + 1 ))
  done
  for g in "${{!c[@]}}"; do
    [ "$g" != "$own" ] && [ "$g" -gt 1 ] && [ "${{c[$g]}}" -gt "$max" ] && kill -KILL -- "-$g" 2>/dev/null
  done
}}
__sg_recv() {{  # wait up to $1 s for one message on fd 3; record it when it is the current command's
  local k i v
  read -r -t "$1" -u 3 k i v || return 1
  [ "$i" = "$__sg_id" ] || return 0
  case $k in x) __sg_x=$v ;; r) __sg_r=1 ;; esac
}}
__sg_run() {{
  local id=$1 tmo=$2 hb=$3 tb=$4 hard=$5 maxbg=$6 wd=$7 st=$8 pre=$9 cmd=${{10}} o f k v tp rp rc n=0 killed=0 nb= w=10 t=0
  o=$S/out.$__sg_gen; f=$S/pipe.$__sg_gen
  __sg_id=$id __sg_x= __sg_r=
  __sg_reap "$maxbg"
  [ -p "$f" ] || {{ rm -f "$f"; mkfifo "$f"; }}
  builtin cd -- "$wd" 2>/dev/null || builtin cd /
  exec 4>"$o.out"
  {{ ulimit -S -f $(((hb + hard + 1023) / 1024)); cat <"$f" >&4; echo "r $id" >&3; }} </dev/null 2>/dev/null &
  rp=$!
  {{ bash -c "$__sg_prelude" bash "$cmd" "$st" "$pre" </dev/null >"$f" 2>&1 3>&- 4>&-; echo "x $id $?" >&3; }} 4>&- &
  tp=$!
  while [ -z "$__sg_x" ] && __sg_recv "$tmo"; do :; done
  if [ -n "$__sg_x" ]; then
    rc=$__sg_x
  else  # the timeout: TERM the command's group, KILL it 2 s later (what `timeout -k 2` does)
    kill -TERM -- "-$tp" 2>/dev/null
    while [ "$t" -lt 40 ] && kill -0 -- "-$tp" 2>/dev/null; do __sg_recv 0.05; t=$((t+1)); done
    if kill -0 -- "-$tp" 2>/dev/null; then kill -KILL -- "-$tp" 2>/dev/null; rc=137; else rc=124; fi
  fi
  wait "$tp" 2>/dev/null
  __sg_count "$tp"
  if [ "$n" -gt "$maxbg" ]; then kill -KILL -- "-$tp" 2>/dev/null; killed=$n; n=0; fi
  [ "$n" -gt 0 ] && w=0.3 && __sg_dirty=1
  while [ -z "$__sg_r" ] && __sg_recv "$w"; do :; done
  if [ "$n" -gt 0 ]; then  # count again: a fork bomb may still have been small when the command returned
    __sg_count "$tp"
    if [ "$n" -gt "$maxbg" ]; then kill -KILL -- "-$tp" 2>/dev/null; killed=$n; n=0; fi
  fi
  [ -n "$__sg_r" ] && wait "$rp" 2>/dev/null
  while read -r k v; do [ "$k" = pos: ] && {{ nb=$v; break; }}; done < /proc/$$/fdinfo/4
  exec 4>&-
  case $killed:$rc in 0:124|0:137) __sg_dirty=1 ;; 0:*) ;; *) __sg_dirty=1 ;; esac
  case $nb in ''|*[!0-9]*) nb=$(stat -c %s "$o.out" 2>/dev/null) ;; esac
  nb=${{nb:-0}}
  if [ "$nb" -le 65536 ] && [ "$nb" -le $((hb + tb)) ]; then
    # small: read by bash itself (no cat to fork; NUL bytes drop out) and sent in one write
    local -a buf; local body; mapfile -t -d '' buf < "$o.out" 2>/dev/null; printf -v body '%s' "${{buf[@]}}"
    printf 'SWEGYM %s %s -1 0 %s %s\n%s\nSWEGYM-END %s\n' "$id" "$rc" "$killed" "$n" "$body" "$id"
  elif [ "$nb" -le $((hb + tb)) ]; then
    printf 'SWEGYM %s %s -1 0 %s %s\n' "$id" "$rc" "$killed" "$n"
    cat "$o.out" 2>/dev/null
    printf '\nSWEGYM-END %s\n' "$id"
  else
    printf 'SWEGYM %s %s %s %s %s %s\n' "$id" "$rc" "$hb" "$((nb - hb))" "$killed" "$n"
    head -c "$hb" "$o.out" 2>/dev/null
    [ "$tb" -gt 0 ] && tail -c "$tb" "$o.out" 2>/dev/null
    printf '\nSWEGYM-END %s\n' "$id"
  fi
  if [ -z "$__sg_r" ]; then rm -f "$o.out" "$f"; __sg_gen=$((__sg_gen+1)); elif [ "$nb" -gt 65536 ]; then : >"$o.out"; fi
}}
set -m  # job control: every command runs as a job, in a process group of its own
printf 'SWEGYM-READY %s\n' "$$"
"""


def session_script(directory: str, limits: Limits) -> str:
    """The bootstrap text of a session whose files live in ``directory``."""
    return SESSION_SCRIPT.format(
        dir=shlex.quote(directory),
        fsize=max(1, limits.max_file_size // 1024),
        prelude=shlex.quote(CHILD_PRELUDE),
    )


def setup_code(workdir: str | None, env: dict[str, str] | None) -> str:
    """Shell code that moves to ``workdir`` and exports ``env`` before a command (empty: nothing to do)."""
    parts = []
    if workdir:
        parts.append(f"builtin cd -- {shlex.quote(workdir)} || exit 126")
    for key, value in (env or {}).items():
        if not key.replace("_", "a").isalnum() or key[:1].isdigit():
            raise ValueError(f"invalid environment variable name {key!r}")
        parts.append(f"export {key}={shlex.quote(value)}")
    return "\n".join(parts)


def command_line(
    command_id: str,
    command: str,
    *,
    timeout: float,
    limits: Limits,
    max_output: int | None,
    state_file: str,
    setup: str,
    base_dir: str = WORKDIR,
) -> bytes:
    """The line written to the session to run ``command`` (NUL bytes cannot reach bash and are dropped)."""
    head, tail, hard = limits.output_head, limits.output_tail, limits.output_hard_limit
    if max_output is not None:
        head, tail, hard = max_output, 0, max(hard, max_output + 1)
    words = [
        "__sg_run",
        command_id,
        f"{timeout:g}",
        str(head),
        str(tail),
        str(hard),
        str(limits.max_background),
        shlex.quote(base_dir),
        shlex.quote(state_file) if state_file else "''",
        shlex.quote(setup) if setup else "''",
        shlex.quote(command.replace("\x00", "")) if command else "''",
    ]
    return (" ".join(words) + "\n").encode("utf-8", errors="surrogateescape")


class Channel(Protocol):
    """A duplex byte stream to a shell: stdin one way, (stream, bytes) frames of stdout/stderr back."""

    def send(self, data: bytes) -> None: ...

    def recv(self, timeout: float | None) -> tuple[int, bytes] | None:
        """The next frame, ``None`` at end of stream; raises ``TimeoutError`` after ``timeout`` s."""
        ...

    def closed(self) -> bool:
        """True when the other end has gone (checked without blocking)."""
        ...

    def pending(self) -> bool:
        """True when bytes are waiting to be read (checked without blocking)."""
        ...

    def exit_status(self) -> int | None: ...

    def close(self) -> None: ...


class DockerExecChannel:
    """A ``docker exec`` of bash with stdin attached; stdout/stderr arrive multiplexed in 8-byte frames."""

    HEADER = struct.Struct(">BxxxL")

    def __init__(self, api: object, exec_id: str, sock: object) -> None:
        self.api = api
        self.exec_id = exec_id
        self._io = sock
        self._sock: socket.socket = getattr(sock, "_sock", sock)  # type: ignore[assignment]
        self._buffer = bytearray()
        self._eof = False

    def send(self, data: bytes) -> None:
        self._sock.settimeout(30.0)
        self._sock.sendall(data)

    def _fill(self, want: int, deadline: float | None) -> bool:
        while len(self._buffer) < want:
            if self._eof:
                return False
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError("no output from the shell session")
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(max(65536, want - len(self._buffer)))
            except TimeoutError:
                raise
            except OSError:
                chunk = b""
            if not chunk:
                self._eof = True
                return False
            self._buffer += chunk
        return True

    def recv(self, timeout: float | None) -> tuple[int, bytes] | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._fill(8, deadline):
            return None
        stream, size = self.HEADER.unpack_from(self._buffer)
        if not self._fill(8 + size, deadline):
            return None
        data = bytes(self._buffer[8 : 8 + size])
        del self._buffer[: 8 + size]
        return stream, data

    def _peek(self) -> bytes | None:
        """Bytes waiting on the socket (b"" at EOF), or None when nothing is waiting."""
        try:
            self._sock.settimeout(0)
            return self._sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, TimeoutError, InterruptedError):
            return None
        except OSError:
            return b""

    def closed(self) -> bool:
        return self._eof or self._peek() == b""

    def pending(self) -> bool:
        return bool(self._buffer) or bool(self._peek())

    def exit_status(self) -> int | None:
        try:
            return self.api.exec_inspect(self.exec_id).get("ExitCode")  # type: ignore[attr-defined]
        except Exception:  # the daemon or the container is gone: no status to report
            return None

    def close(self) -> None:
        for target in (self._sock, self._io):
            try:
                target.close()  # type: ignore[attr-defined]
            except Exception:  # already closed
                pass


class SessionError(RuntimeError):
    """The session shell could not be started or stopped answering (the caller decides what it means)."""


class ShellSession:
    """A long-lived bash in a sandbox that runs commands with the wrapper's guarantees.

    ``open_channel`` starts a new bash and returns its :class:`Channel`; it is called again when the
    shell has died. ``directory`` is where the session keeps its fifo, output files and state.
    ``on_death`` is called when the shell dies during a command, before that is reported as the
    command's result: it raises if the sandbox itself is gone (an infrastructure fault, not the
    agent's doing). Not thread-safe: the owning sandbox serializes calls.
    """

    def __init__(
        self,
        open_channel: Callable[[], Channel],
        limits: Limits,
        directory: str | None = None,
        start_timeout: float = 30.0,
        on_death: Callable[[], None] | None = None,
    ) -> None:
        self.open_channel = open_channel
        self.on_death = on_death
        self.limits = limits
        self.directory = directory or f"/tmp/.swe-gym-sh-{secrets.token_hex(6)}"
        self.state_file = f"{self.directory}/state"
        self.start_timeout = start_timeout
        self.channel: Channel | None = None
        self.pid: int | None = None
        self.restarts = 0
        self.commands = 0
        self._stderr = bytearray()

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the shell (again) and wait until it is ready; raises :class:`SessionError`."""
        self.close()
        channel = self.open_channel()
        try:
            channel.send(session_script(self.directory, self.limits).encode())
            raw = self._read_until(channel, READY, b"\n", time.monotonic() + self.start_timeout)
        except (OSError, TimeoutError, SessionError) as error:
            channel.close()
            raise SessionError(f"the shell session did not start: {error}") from error
        if raw is None:
            status = channel.exit_status()
            channel.close()
            detail = decode(bytes(self._stderr[-500:])).strip()
            raise SessionError(f"the shell session exited at start (status {status}): {detail}")
        try:
            self.pid = int(raw.split()[-1])
        except (ValueError, IndexError):
            self.pid = None
        self.channel = channel

    @property
    def alive(self) -> bool:
        return self.channel is not None and not self.channel.closed()

    def close(self) -> None:
        channel, self.channel = self.channel, None
        if channel is not None:
            channel.close()

    # -- commands ----------------------------------------------------------------------------------
    def run(
        self,
        command: str,
        *,
        timeout: float,
        max_output: int | None = None,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
        persist: bool = False,
        base_dir: str = WORKDIR,
        guard: float = 30.0,
    ) -> ExecResult:
        """Run ``command``; it is killed inside the sandbox after ``timeout`` s.

        Commands start in ``base_dir``; ``persist`` restores and saves the terminal state (cwd,
        variables, functions). ``workdir`` and ``env``, when given, apply to this command only, after the
        state. Raises :class:`SessionError`
        when the shell cannot be (re)started, or when nothing came back ``guard`` s after the timeout
        (the sandbox is not responding). A shell that dies during the command is reported in the
        result, never retried: the command may have had effects.
        """
        note = ""
        if self.channel is None or self.channel.closed():
            if self.channel is not None:
                note = RESTART_NOTE
                self.restarts += 1
            self.start()
        assert self.channel is not None
        if self.channel.pending():  # stray bytes (a command wrote to the session's own stdout): drop them
            self._drain(self.channel)
        command_id = secrets.token_hex(8)
        line = command_line(
            command_id,
            command,
            timeout=timeout,
            limits=self.limits,
            max_output=max_output,
            state_file=self.state_file if persist else "",
            setup=setup_code(workdir, env),
            base_dir=base_dir,
        )
        started = time.monotonic()
        self.commands += 1
        try:
            self.channel.send(line)
            result = self._read_result(self.channel, command_id, started + timeout + guard)
        except TimeoutError as error:
            self.kill()
            raise SessionError(
                f"the command did not return within {timeout + guard:.0f} s; the sandbox is not responding"
            ) from error
        except OSError:
            result = None
        duration = time.monotonic() - started
        if result is None:  # the session shell died while the command ran
            status = self.channel.exit_status() if self.channel is not None else None
            self.close()
            if self.on_death is not None:
                self.on_death()
            self.restarts += 1
            text = DIED_NOTE.format(status=status if status is not None else "unknown")
            return ExecResult(output=text + "\n", exit_code=status if status else 255, duration=duration)
        parsed = parse_wrapper_output(result, timeout, duration)
        if note:
            parsed = _with_note(parsed, note)
        return parsed

    def kill(self) -> None:
        """Close the channel of a session that stopped answering (the caller may also kill its pid)."""
        self.close()

    # -- framing -----------------------------------------------------------------------------------
    def _read_result(self, channel: Channel, command_id: str, deadline: float) -> bytes | None:
        """The wrapper-format bytes of the result of ``command_id``, or None if the shell died."""
        header_mark = f"SWEGYM {command_id} ".encode()
        end_mark = f"\nSWEGYM-END {command_id}\n".encode()
        buffer = bytearray()
        header_end = -1
        header: list[bytes] = []
        scanned = 0
        while True:
            frame = channel.recv(max(0.0, deadline - time.monotonic()))
            if frame is None:
                return None
            stream, data = frame
            if stream == STDERR:
                self._note_stderr(data)
                continue
            buffer += data
            if header_end < 0:
                at = buffer.find(header_mark)
                if at < 0:
                    continue
                newline = buffer.find(b"\n", at)
                if newline < 0:
                    continue
                if at > 0:
                    log.debug("dropped %d stray bytes before a result", at)
                header = bytes(buffer[at:newline]).split()
                del buffer[: newline + 1]
                header_end = 0
                scanned = 0
            end = buffer.find(end_mark, max(0, scanned - len(end_mark)))
            if end >= 0:
                body = bytes(buffer[:end])
                if len(buffer) > end + len(end_mark):
                    log.debug("dropped %d stray bytes after a result", len(buffer) - end - len(end_mark))
                rc, head_size, rest_size, killed, leftover = (int(x) for x in header[2:7])
                if head_size < 0:
                    head_size = len(body)
                prefix = f"SWEGYM {rc} {head_size} {rest_size} {killed} {leftover}\n".encode()
                return prefix + body
            scanned = len(buffer)

    def _read_until(self, channel: Channel, mark: bytes, stop: bytes, deadline: float) -> bytes | None:
        buffer = bytearray()
        while True:
            frame = channel.recv(max(0.0, deadline - time.monotonic()))
            if frame is None:
                return None
            stream, data = frame
            if stream == STDERR:
                self._note_stderr(data)
                continue
            buffer += data
            at = buffer.find(mark)
            if at >= 0:
                end = buffer.find(stop, at + len(mark))
                if end >= 0:
                    return bytes(buffer[at:end])

    def _drain(self, channel: Channel) -> None:
        dropped = 0
        while channel.pending():
            frame = channel.recv(0.05)
            if frame is None:
                break
            dropped += len(frame[1])
        if dropped:
            log.debug("dropped %d stray bytes from a shell session", dropped)

    def _note_stderr(self, data: bytes) -> None:
        self._stderr += data
        del self._stderr[:-4096]
        log.debug("shell session stderr: %s", decode(data).rstrip())


def _with_note(result: ExecResult, note: str) -> ExecResult:
    import dataclasses

    output = result.output if result.output.endswith("\n") or not result.output else result.output + "\n"
    return dataclasses.replace(result, output=output + note + "\n")


class PipeChannel:
    """A :class:`Channel` over a local process's pipes (the unit tests run the protocol on the host)."""

    def __init__(self, argv: list[str] | None = None, cwd: str | None = None, env: dict[str, str] | None = None):
        import subprocess

        self.process = subprocess.Popen(
            argv or ["bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd or WORKDIR,
            env=env,
            start_new_session=True,
        )
        self._lock = threading.Lock()
        self._pending: list[tuple[int, bytes]] = []
        self._open = {self.process.stdout.fileno(): STDOUT, self.process.stderr.fileno(): STDERR}  # type: ignore[union-attr]

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def _poll(self, timeout: float | None) -> None:
        import select

        if not self._open:
            return
        ready, _, _ = select.select(list(self._open), [], [], timeout)
        for fd in ready:
            data = os.read(fd, 65536)
            if data:
                self._pending.append((self._open[fd], data))
            else:
                del self._open[fd]

    def recv(self, timeout: float | None) -> tuple[int, bytes] | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._pending:
            if STDOUT not in self._open.values():
                return None
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError("no output from the shell session")
            self._poll(remaining)
        return self._pending.pop(0)

    def closed(self) -> bool:
        self._poll(0)
        return STDOUT not in self._open.values() and not self._pending

    def pending(self) -> bool:
        self._poll(0)
        return bool(self._pending)

    def exit_status(self) -> int | None:
        try:
            return self.process.wait(timeout=5)
        except Exception:
            return None

    def close(self) -> None:
        import signal

        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()  # type: ignore[union-attr]
            except Exception:
                pass
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
