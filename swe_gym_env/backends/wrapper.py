"""The command wrapper: how one command runs inside a sandbox with a real timeout and capped output.

Any sandbox that can run ``bash -c`` with arguments (a ``docker exec``, a persistent shell session)
runs an agent's command under :data:`EXEC_WRAPPER` and turns its output into an :class:`ExecResult`
with :func:`parse_wrapper_output`.
"""

from __future__ import annotations

from .base import ExecResult, Limits, decode

# A command runs under this wrapper, inside the sandbox (bash and coreutils are all it needs):
# - `timeout -k 2` kills the command's whole process group after the timeout (not only the client),
# - output goes through a pipe to one `cat` (no stdio buffering: each read is written at once) whose
#   file a soft RLIMIT_FSIZE caps at head + hard limit: past it, cat dies and the command gets SIGPIPE
#   (so `yes` ends at once and cannot fill the disk); the head and the tail are cut from that file,
# - a background child that keeps the pipe open does not hold the exec open (the wrapper waits for the
#   readers briefly, then returns what it has),
# - leftover processes in the command's group are all killed when there are more than $6 of them or
#   when they fill the container's process table (a fork bomb); the group is counted again after a
#   short wait, since a bomb may still be small when the command returns,
# - RLIMIT_FSIZE bounds every file the command writes,
# - the command's processes volunteer for the OOM killer (oom_score_adj 1000), so memory pressure they
#   cause kills them, never the wrapper that cleans up after them.
# It prints one header line "SWEGYM rc head_bytes rest_bytes killed leftover", then the head, then the
# tail of the rest.
EXEC_WRAPPER = r"""cmd=$1 tmo=$2 hb=$3 tb=$4 hard=$5 maxbg=$6 fsize=$7
p=/tmp/.swe-gym-exec-$$
rm -f "$p".*
mkfifo "$p.done" || exit 125
exec 3<>"$p.done"
ulimit -f "$fsize" 2>/dev/null
timeout -k 2 "$tmo" bash -c "builtin echo 1000 2>/dev/null >/proc/self/oom_score_adj; $cmd" </dev/null > >(exec >/dev/null 2>&1; ulimit -S -f $(((hb + hard + 1023) / 1024)); cat >"$p.out"; echo >"$p.done") 2>&1 3>&- &
tp=$!
wait "$tp"; rc=$?
killed=0
crowded() {  # the container's process table (pids cgroup, v1 or v2) is more than 3/4 full
  local f cur max
  for f in /sys/fs/cgroup/pids/pids /sys/fs/cgroup/pids; do
    [ -r "$f.current" ] && read -r cur < "$f.current" && read -r max < "$f.max" && break
  done
  [ -n "$cur" ] && [ "$max" != max ] && [ $((cur * 4)) -gt $((max * 3)) ]
}
scan() {
  n=0
  for d in /proc/[0-9]*; do
    read -r line 2>/dev/null < "$d/stat" || continue
    rest=${line##*) }; set -- $rest
    [ "$3" = "$tp" ] && n=$((n+1))
  done
  if [ "$n" -gt "$maxbg" ] || { [ "$n" -gt 0 ] && crowded; }; then kill -KILL -- "-$tp" 2>/dev/null; killed=$n; n=0; fi
}
scan
if [ "$n" -gt 0 ]; then read -t 0.3 -u 3 _; scan; else read -t 10 -u 3 _; fi
exec 3>&-
size=$(stat -c %s "$p.out" 2>/dev/null || echo 0)
if [ "$size" -le $((hb + tb)) ]; then
  printf 'SWEGYM %s %s 0 %s %s\n' "$rc" "$size" "$killed" "$n"
  cat "$p.out" 2>/dev/null
else
  printf 'SWEGYM %s %s %s %s %s\n' "$rc" "$hb" "$((size - hb))" "$killed" "$n"
  head -c "$hb" "$p.out" 2>/dev/null
  tail -c "$tb" "$p.out" 2>/dev/null
fi
rm -f "$p".*
"""

TIMEOUT_EXIT_CODES = (124, 137)  # timeout(1): TERM worked / KILL was needed


def wrapper_argv(command: str, timeout: float, limits: Limits, max_output: int | None = None) -> list[str]:
    """The argv that runs ``command`` under :data:`EXEC_WRAPPER`."""
    head, tail, hard = limits.output_head, limits.output_tail, limits.output_hard_limit
    if max_output is not None:
        head, tail, hard = max_output, 0, max(hard, max_output + 1)
    return [
        "bash",
        "-c",
        EXEC_WRAPPER,
        "swe-gym-exec",
        command,
        f"{timeout:g}",
        str(head),
        str(tail),
        str(hard),
        str(limits.max_background),
        str(max(1, limits.max_file_size // 1024)),  # bash's ulimit -f counts KiB
    ]


def parse_wrapper_output(raw: bytes, timeout: float, duration: float) -> ExecResult:
    """Turn the wrapper's header + head + tail into an :class:`ExecResult` with a truncation marker."""
    header, _, body = raw.partition(b"\n")
    parts = header.split()
    if len(parts) != 6 or parts[0] != b"SWEGYM":
        # The wrapper itself could not run (no bash, no /tmp, pids exhausted): report what came back.
        return ExecResult(output=decode(raw), exit_code=125, duration=duration, output_bytes=len(raw))
    rc, head_size, rest_size, killed, _leftover = (int(x) for x in parts[1:])
    head, tail = body[:head_size], body[head_size:]
    truncated = rest_size > len(tail)
    text = decode(head)
    if truncated:
        omitted = rest_size - len(tail)
        text += (
            f"\n\n[... output truncated: {omitted} bytes omitted of {head_size + rest_size}"
            f"{'+' if rest_size >= 1 << 24 else ''} ...]\n\n"
        )
    text += decode(tail)
    timed_out = rc in TIMEOUT_EXIT_CODES and duration >= timeout * 0.98
    return ExecResult(
        output=text,
        exit_code=rc,
        timed_out=timed_out,
        truncated=truncated,
        duration=duration,
        killed_background=killed,
        output_bytes=head_size + rest_size,
    )

