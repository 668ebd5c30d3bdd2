"""SWE-v0 as a vector env: N sub-envs, each with its own task and sandbox, stepped concurrently on threads.

``gym.make_vec("SWE-v0", num_envs=N, ...)`` returns a :class:`ThreadVectorEnv` over N :class:`SWEEnv`
that share one Docker backend (one client, one warm pool, one reaper). The work of a step is I/O on the
Docker daemon, so threads give the concurrency; observations stay plain strings (no shared memory).

Batching follows Gymnasium: observations are a tuple of ``str``; rewards, terminations and
truncations are NumPy arrays of shape ``(N,)``; ``info`` is a dict of arrays with a boolean ``_key``
mask per key (nested dicts such as ``failure`` and ``report`` are batched the same way).

Autoreset (``autoreset_mode``, see https://farama.org/Vector-Autoreset-Mode):

- ``NextStep`` (default): a sub-env that ended is reset by the next ``step`` (its action is ignored);
- ``SameStep``: it is reset in the same step; the ending observation and info are in
  ``info["final_obs"]`` and ``info["final_info"]``;
- ``Disabled``: nothing is reset for you. Episodic LLM rollouts use this: step until every sub-env has
  ended, then ``reset(options={"reset_mask": mask})``. Stepping an ended sub-env with an action is an
  error; give it ``None`` instead.

In every mode an action of ``None`` skips that sub-env for this step (its observation is ``""``, its
reward 0, its flags False, and it adds nothing to ``info``). ``options["task_id"]`` may be one id for
all sub-envs or a sequence of N (None = drawn by the sub-env's seeded generator).

A failure in one sub-env never stops the others. Infrastructure faults are already typed in
``info["failure"]`` by :class:`SWEEnv`; any other exception (a bug) is logged with its traceback and
reported the same way, with ``failure["type"] == "env_error"``: the sub-env's episode ends truncated
(a failed reset is reported at once, and its next step returns the truncation). Only a
:class:`ConfigError` (a bad argument from the caller) is raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from .backends.base import Limits
from .backends.factory import make_backend, resolve_limits
from .env import SWEEnv
from .errors import ConfigError, Failure, InfraError
from .tasks.task import load_tasks

log = logging.getLogger(__name__)

PER_ENV_OPTIONS = ("task_id",)


class ThreadVectorEnv(VectorEnv):
    """Steps N text environments concurrently on a thread pool; see the module docstring.

    ``env_fns`` make the sub-envs. ``backend``, if given, is closed with the vector env (the sub-envs
    share it). ``max_workers`` defaults to N.
    """

    def __init__(
        self,
        env_fns: Sequence[Callable[[], Any]],
        *,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        max_workers: int | None = None,
        backend: Any = None,
    ) -> None:
        if not env_fns:
            raise ConfigError("a vector env needs at least one sub-env")
        try:
            self.autoreset_mode = (
                autoreset_mode if isinstance(autoreset_mode, AutoresetMode) else AutoresetMode(autoreset_mode)
            )
        except ValueError:
            modes = [mode.value for mode in AutoresetMode]
            raise ConfigError(f"autoreset_mode must be one of {modes}, got {autoreset_mode!r}") from None
        self.backend = backend
        self.num_envs = len(env_fns)
        self._executor = ThreadPoolExecutor(max_workers or self.num_envs, thread_name_prefix="swe-gym-vec")
        self.envs: list[Any] = []
        try:
            self.envs = [fn() for fn in env_fns]
        except BaseException:
            self._close_backend()
            self._executor.shutdown(wait=False)
            raise
        first = self.envs[0]
        self.metadata = {**first.metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = first.render_mode
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._observations: list[str] = [""] * self.num_envs
        self._rewards = np.zeros(self.num_envs, dtype=np.float64)
        self._terminations = np.zeros(self.num_envs, dtype=np.bool_)
        self._truncations = np.zeros(self.num_envs, dtype=np.bool_)
        self._autoreset_envs = np.zeros(self.num_envs, dtype=np.bool_)
        self._broken: list[dict[str, str] | None] = [None] * self.num_envs  # a reset that raised
        self._explicit_task = [False] * self.num_envs

    # -- reset -------------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        """Reset every sub-env, or those in ``options["reset_mask"]``; returns (observations, infos)."""
        if self.closed:
            raise RuntimeError("the vector env is closed")
        seeds = self._seeds(seed)
        options = dict(options or {})
        mask = self._reset_mask(options.pop("reset_mask", None))
        per_env = [self._options_for(i, options) for i in range(self.num_envs)]
        chosen = [i for i in range(self.num_envs) if mask[i]]
        results = self._map(lambda i: self._reset_one(i, seeds[i], per_env[i]), chosen)
        infos: dict[str, Any] = {}
        for i, (observation, info) in zip(chosen, results, strict=True):
            self._observations[i] = observation
            self._terminations[i] = self._truncations[i] = self._autoreset_envs[i] = False
            self._rewards[i] = 0.0
            infos = self._add_info(infos, info, i)
        return tuple(self._observations), infos

    def _seeds(self, seed: int | Sequence[int | None] | None) -> list[int | None]:
        if seed is None:
            return [None] * self.num_envs
        if isinstance(seed, (int, np.integer)):
            return [int(seed) + i for i in range(self.num_envs)]
        seeds = list(seed)
        if len(seeds) != self.num_envs:
            raise ConfigError(f"seed must be None, an int or {self.num_envs} seeds, got {len(seeds)}")
        return seeds

    def _reset_mask(self, mask: Any) -> np.ndarray:
        if mask is None:
            return np.ones(self.num_envs, dtype=np.bool_)
        if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
            raise ConfigError(f"options['reset_mask'] must be a numpy bool array of shape ({self.num_envs},)")
        if not mask.any():
            raise ConfigError("options['reset_mask'] must select at least one sub-env")
        return mask

    def _options_for(self, i: int, options: dict[str, Any]) -> dict[str, Any]:
        mine = dict(options)
        for key in PER_ENV_OPTIONS:
            value = mine.get(key)
            if isinstance(value, (list, tuple, np.ndarray)):
                if len(value) != self.num_envs:
                    raise ConfigError(f"options[{key!r}] must be one value or {self.num_envs} values, got {len(value)}")
                mine[key] = value[i]
            if mine.get(key) is None:
                mine.pop(key, None)
        return mine

    def _reset_one(self, i: int, seed: int | None, options: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        env = self.envs[i]
        self._broken[i] = None
        self._explicit_task[i] = "task_id" in options
        try:
            observation, info = env.reset(seed=seed, options=options or None)
        except ConfigError:
            raise
        except Exception as error:
            failure = self._report(i, error, "reset")
            self._broken[i] = failure
            return "", {"failure": failure}
        self._prefetch_next(i)
        return observation, info

    def _prefetch_next(self, i: int) -> None:
        """Ask the shared warm pool for this sub-env's next task (unless the caller picks tasks)."""
        prefetch = getattr(self.backend, "prefetch", None)
        if prefetch is None or self._explicit_task[i]:
            return
        try:
            upcoming = self.envs[i].unwrapped.peek_next_task()
            if upcoming is not None:
                prefetch(upcoming)
        except Exception as error:  # a hint only
            log.debug("no prefetch for sub-env %d: %s", i, error)

    def prefetch(self, task_ids: Sequence[str]) -> None:
        """Hint the tasks the next resets will use (callers that pass ``options["task_id"]``)."""
        prefetch = getattr(self.backend, "prefetch", None)
        if prefetch is None:
            return
        by_id = {task.instance_id: task for task in getattr(self.envs[0].unwrapped, "tasks", [])}
        for task_id in task_ids:
            if task_id in by_id:
                prefetch(by_id[task_id])

    # -- step --------------------------------------------------------------------------------------
    def step(
        self, actions: Sequence[Any]
    ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Step every sub-env with its action (``None`` skips it); see the module docstring for autoreset."""
        if self.closed:
            raise RuntimeError("the vector env is closed")
        actions = list(actions) if not isinstance(actions, str) else [actions]
        if len(actions) != self.num_envs:
            raise ConfigError(f"step needs {self.num_envs} actions (None to skip a sub-env), got {len(actions)}")
        if self.autoreset_mode == AutoresetMode.DISABLED:
            ended = [i for i in range(self.num_envs) if self._autoreset_envs[i] and actions[i] is not None]
            if ended:
                raise ConfigError(
                    f"sub-env(s) {ended} ended and autoreset is Disabled: reset them with "
                    "options={'reset_mask': mask}, or pass None as their action"
                )
        plan = []
        for i, action in enumerate(actions):
            if self.autoreset_mode == AutoresetMode.NEXT_STEP and self._autoreset_envs[i]:
                plan.append((i, "reset", None))
            elif action is None:
                plan.append((i, "skip", None))
            else:
                plan.append((i, "step", action))
        results = self._map(lambda item: self._run_one(*item), plan)
        infos: dict[str, Any] = {}
        for (i, kind, _), (observation, reward, terminated, truncated, info) in zip(plan, results, strict=True):
            self._observations[i] = observation
            self._rewards[i], self._terminations[i], self._truncations[i] = reward, terminated, truncated
            if kind != "skip":
                infos = self._add_info(infos, info, i)
        self._autoreset_envs = np.logical_or(self._terminations, self._truncations)
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            self._autoreset_envs[:] = False
        return (
            tuple(self._observations),
            self._rewards.copy(),
            self._terminations.copy(),
            self._truncations.copy(),
            infos,
        )

    def _run_one(self, i: int, kind: str, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if kind == "skip":
            return "", 0.0, False, False, {}
        if kind == "reset":
            observation, info = self._reset_one(i, None, {})
            return observation, 0.0, False, False, info
        result = self._step_one(i, action)
        if self.autoreset_mode == AutoresetMode.SAME_STEP and (result[2] or result[3]):
            final_obs, final_info = result[0], result[4]
            observation, info = self._reset_one(i, None, {})
            info = {**info, "final_obs": final_obs, "final_info": final_info}
            return observation, result[1], result[2], result[3], info
        return result

    def _step_one(self, i: int, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        failure = self._broken[i]
        if failure is not None:  # its reset raised: end the episode now
            self._broken[i] = None
            return _failure_observation(failure), 0.0, False, True, {"failure": failure}
        try:
            observation, reward, terminated, truncated, info = self.envs[i].step(action)
        except ConfigError:
            raise
        except Exception as error:
            failure = self._report(i, error, "step")
            try:
                self.envs[i].unwrapped._release_sandbox()
            except Exception:  # the next reset releases it anyway
                pass
            return _failure_observation(failure), 0.0, False, True, {"failure": failure}
        return observation, float(reward), bool(terminated), bool(truncated), info

    @staticmethod
    def _report(i: int, error: Exception, phase: str) -> dict[str, str]:
        if isinstance(error, InfraError):
            log.warning("sub-env %d: infrastructure failure in %s: %s", i, phase, error)
            return Failure.from_error(error, phase).as_dict()
        log.error("sub-env %d raised in %s (reported in its info, the others go on)", i, phase, exc_info=error)
        return Failure(type="env_error", message=f"{type(error).__name__}: {error}", phase=phase).as_dict()

    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        """``fn`` over ``items`` on the thread pool, in order; a ConfigError is raised after all finish."""
        if len(items) == 1:
            return [fn(items[0])]
        futures = [self._executor.submit(fn, item) for item in items]
        results, config_error = [], None
        for future in futures:
            try:
                results.append(future.result())
            except ConfigError as error:
                config_error = config_error or error
                results.append(None)
        if config_error is not None:
            raise config_error
        return results

    # -- the rest of the VectorEnv API -------------------------------------------------------------
    def render(self) -> tuple[Any, ...]:
        return tuple(env.render() for env in self.envs)

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        results = []
        for env in self.envs:
            attribute = env.get_wrapper_attr(name)
            results.append(attribute(*args, **kwargs) if callable(attribute) else attribute)
        return tuple(results)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self.call(name)

    def set_attr(self, name: str, values: Any) -> None:
        if not isinstance(values, (list, tuple)):
            values = [values] * self.num_envs
        if len(values) != self.num_envs:
            raise ConfigError(f"set_attr needs {self.num_envs} values, got {len(values)}")
        for env, value in zip(self.envs, values, strict=True):
            env.set_wrapper_attr(name, value)

    @property
    def np_random_seed(self) -> tuple[int | None, ...]:
        return self.get_attr("np_random_seed")

    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:
        return self.get_attr("np_random")

    def close_extras(self, **kwargs: Any) -> None:
        """Close every sub-env (in parallel), then the shared backend (drains the warm pool)."""
        if self.envs:
            futures = [self._executor.submit(env.close) for env in self.envs]
            for future in futures:
                try:
                    future.result()
                except Exception as error:  # closing must not raise
                    log.warning("closing a sub-env failed: %s", error)
        self._executor.shutdown(wait=True)
        self._close_backend()

    def _close_backend(self) -> None:
        close = getattr(self.backend, "close", None)
        if close is not None:
            try:
                close()
            except Exception as error:
                log.warning("closing the shared backend failed: %s", error)

    def __del__(self) -> None:
        if not getattr(self, "closed", True):
            try:
                self.close()
            except Exception:
                pass


def _failure_observation(failure: dict[str, str]) -> str:
    return f"[infrastructure failure, not your fault: {failure.get('message', '')}]"


def make_vector_env(
    num_envs: int = 1,
    *,
    tasks: Any = "builtin",
    split: str = "test",
    instance_ids: Sequence[str] | None = None,
    backend: str | Any = "docker",
    autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
    max_workers: int | None = None,
    warm_pool: int | None = None,
    pool_memory: str | int | None = "4g",
    exec_mode: str = "session",
    limits: Limits | None = None,
    command_timeout: float | None = None,
    network: str = "internal",
    pull_policy: str = "missing",
    max_episode_steps: int | None = None,
    ray_address: str | None = None,
    **env_kwargs: Any,
) -> ThreadVectorEnv:
    """The ``vector_entry_point`` of SWE-v0: N :class:`SWEEnv` sharing one backend, on threads.

    Tasks are loaded once. With ``backend="docker"`` the sub-envs share one :class:`DockerBackend`
    whose warm pool holds ``warm_pool`` containers (default 2N+4: each sub-env's next task and its
    grading, and spares) and whose client keeps a connection per thread. Every other keyword goes to
    :class:`SWEEnv` (``max_steps``, ``reward``, ``grading_timeout``, ...).
    """
    if num_envs < 1:
        raise ConfigError(f"num_envs must be at least 1, got {num_envs}")
    if max_episode_steps is not None:
        env_kwargs.setdefault("max_steps", max_episode_steps)
    task_list = load_tasks(tasks, split=split, instance_ids=instance_ids)
    shared = make_backend(
        backend, num_envs=num_envs, limits=resolve_limits(limits, command_timeout), network=network,
        pull_policy=pull_policy, warm_pool=warm_pool, pool_memory=pool_memory, exec_mode=exec_mode,
        max_workers=max_workers, ray_address=ray_address,
    )
    owned = shared if isinstance(backend, str) else None

    def make_one() -> SWEEnv:
        return SWEEnv(task_list, backend=shared, network=network, pull_policy=pull_policy, exec_mode=exec_mode, **env_kwargs)

    return ThreadVectorEnv(
        [make_one] * num_envs, autoreset_mode=autoreset_mode, max_workers=max_workers, backend=owned
    )

