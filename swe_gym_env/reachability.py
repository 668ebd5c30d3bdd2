"""Whether a host answers: one bounded TCP connection attempt, cached per process (offline detection)."""

from __future__ import annotations

import functools
import os
import socket
import threading


@functools.lru_cache(maxsize=64)
def host_reachable(host: str, port: int = 443, timeout: float = 2.0) -> bool:
    """Whether a TCP connection to ``host`` opens within ``timeout`` seconds, name lookup included.

    ``socket.create_connection``'s timeout does not bound the DNS lookup, which can hang for much
    longer on a host without a resolver; the attempt runs in a thread that is abandoned at the
    deadline. Checked once per process and host. ``SWE_GYM_OFFLINE=1`` answers False at once.
    """
    if os.environ.get("SWE_GYM_OFFLINE") == "1":
        return False
    box: dict[str, bool] = {}

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                box["ok"] = True
        except OSError:
            box["ok"] = False

    thread = threading.Thread(target=attempt, daemon=True, name="swe-gym-reach")
    thread.start()
    thread.join(timeout + 0.5)
    return box.get("ok", False)
