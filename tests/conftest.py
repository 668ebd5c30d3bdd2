"""Shared test setup: keep the package's logging quiet unless a test asks for it."""

import logging

logging.getLogger("swe_gym_env").setLevel(logging.WARNING)

# tests/fixtures holds repositories the tests run pytest on (in containers), not tests of ours
collect_ignore_glob = ["fixtures/*"]
