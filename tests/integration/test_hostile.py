"""Hostile commands are contained and the env keeps working: timeouts, floods, fork bombs, network, disk, memory."""

import socket
import threading
import time

import docker
import pytest
from steps import bash

from swe_gym_env.backends.base import Limits
from swe_gym_env.backends.docker.network import NETWORK_NAME

LIMITS = Limits(command_timeout=3, memory="512m", pids=128, max_file_size=64 << 20, output_head=2000, output_tail=500)


@pytest.fixture(scope="module", params=["session", "stateless"])
def env(request):
    from swe_gym_env.env import SWEEnv

    env = SWEEnv(tasks="builtin", limits=LIMITS, max_steps=200, exec_mode=request.param)
    env.reset(seed=0)
    yield env
    env.close()


def alive(env):
    obs, info = bash(env, "echo alive")
    assert obs.strip() == "alive" and info["exit_code"] == 0


def timed(env, command):
    started = time.monotonic()
    obs, info = bash(env, command)
    return obs, info, time.monotonic() - started


def test_sleep_forever_comes_back_at_the_timeout(env):
    obs, info, seconds = timed(env, "sleep 100000")
    assert info["timed_out"] and "timed out after 3 s" in obs and seconds < 3 + 4
    obs, info = bash(env, "ps -eo args | grep -c '^sleep 100000' || true")
    assert obs.strip() == "0"  # killed inside the container, not only on the client
    alive(env)


def test_yes_is_truncated_quickly(env):
    obs, info, seconds = timed(env, "yes")
    assert info["truncated_output"] and "output truncated" in obs and len(obs) < 4000 and seconds < 5
    alive(env)


def test_fork_bomb_is_contained(env):
    obs, info, seconds = timed(env, ":(){ :|:& };:")
    assert seconds < 10
    alive(env)
    obs, info = bash(env, "ps -e --no-headers | wc -l")
    assert int(obs.strip()) < 20


def test_background_process_holding_stdout_does_not_hang(env):
    obs, info, seconds = timed(env, "sleep 1000 & echo started")
    assert obs.startswith("started") and seconds < 2.5
    alive(env)


def test_non_utf8_output_is_decoded_safely(env):
    obs, info = bash(env, r"printf 'caf\xe9 \xff\xfe ok\n'")
    assert obs.startswith("caf\ufffd \ufffd\ufffd ok")


def test_no_network(env):
    obs, info = bash(env, "python3 -c \"import socket; socket.create_connection(('1.1.1.1', 80), timeout=2)\" 2>&1 | tail -1")
    assert "Error" in obs or "timed out" in obs


def test_name_resolution_fails_fast(env):
    obs, info, seconds = timed(env, "getent hosts deb.debian.org || echo no-dns")
    assert obs.strip() == "no-dns" and seconds < 3


def test_host_services_are_unreachable(env):
    client = docker.from_env()
    gateway = client.networks.get(NETWORK_NAME).attrs["IPAM"]["Config"][0]["Gateway"]
    server = socket.socket()
    server.bind(("0.0.0.0", 0))
    server.listen()
    port = server.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    try:
        obs, info = bash(env, f"python3 -c \"import socket; socket.create_connection(('{gateway}', {port}), timeout=2);"
                              f" print('CONNECTED')\" 2>&1 | tail -1")
    finally:
        server.close()
    assert "CONNECTED" not in obs and not accepted


def test_filling_the_disk_is_bounded_per_file(env):
    obs, info = bash(env, "(dd if=/dev/zero of=/testbed/big bs=1M count=300; head -c 200000000 /dev/zero > /tmp/big2)"
                          " 2>/dev/null; stat -c size=%s /testbed/big /tmp/big2; rm -f /testbed/big /tmp/big2")
    sizes = [int(word[5:]) for word in obs.split() if word.startswith("size=")]
    assert len(sizes) == 2 and all(0 < size <= 64 << 20 for size in sizes), obs
    alive(env)


def test_memory_is_bounded(env):
    obs, info = bash(env, "python3 -c 'b = bytearray(1 << 30); print(len(b))'")
    assert info["exit_code"] != 0 and str(1 << 30) not in obs
    alive(env)


def test_output_limits_survive_a_flood_of_lines(env):
    obs, info = bash(env, "seq 1 200000")
    assert obs.startswith("1\n2\n") and obs.rstrip().endswith("200000") and "output truncated" in obs


def test_a_slow_writer_keeps_all_its_output(env):
    # 600 separate writes, 1 ms apart; the pause is bash's own `read -t` on an empty FIFO (no fork per line,
    # so a loaded machine does not push the loop past the 3 s command timeout; not `:`, which the fork bomb
    # above redefined in the persistent session)
    obs, info = bash(env, "mkfifo /tmp/pause && exec 9<>/tmp/pause && "
                          "for i in $(seq 600); do echo $i; read -t 0.001 -u 9 || true; done")
    assert info["exit_code"] == 0 and obs.startswith("1\n2\n") and obs.rstrip().endswith("600"), (info["exit_code"], obs[:200], obs[-300:])


def test_killing_every_process_does_not_kill_the_container(env):
    obs, info = bash(env, "kill -9 -1")
    assert "failure" not in info
    alive(env)
