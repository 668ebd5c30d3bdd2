"""Typed errors: bad inputs raise ``TaskError``/``ConfigError``; infrastructure faults raise ``InfraError``.

Agent mistakes are never exceptions: they become observations. Infrastructure faults are exceptions
inside the package and a typed ``info["failure"]`` outside it (see :class:`Failure`), so that a trainer
can drop an episode that the infrastructure broke instead of learning from a false zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


class SweGymError(Exception):
    """Base class of every error this package raises on purpose."""


class TaskError(SweGymError, ValueError):
    """A task source or a task row is malformed; the message names the row and the field."""


class ConfigError(SweGymError, ValueError):
    """An argument or option has a value the package cannot use; the message says which and why."""


class AnswerFormatError(SweGymError, ValueError):
    """A model's single-turn answer breaks the format (tags, edit blocks, a SEARCH that is not found).

    An agent mistake: the single-turn reward turns it into -1 and never lets it escape.
    """


class InfraError(SweGymError):
    """The infrastructure (daemon, image, container, grader), not the agent, failed.

    ``kind`` is a short stable name that ends up in ``info["failure"]["type"]``.
    """

    kind = "infra"


class DaemonError(InfraError):
    """The Docker daemon could not be reached or refused a request."""

    kind = "daemon"


class ImageNotFoundError(InfraError):
    """A task's image is not present locally and the pull policy forbids or failed to pull it."""

    kind = "image_missing"


class SandboxStartError(InfraError):
    """A container could not be created, started or prepared for its task."""

    kind = "sandbox_start"


class SandboxLostError(InfraError):
    """A running container disappeared or stopped answering."""

    kind = "sandbox_lost"


class GradingError(InfraError):
    """The grading run itself broke (not the agent's patch)."""

    kind = "grading"


@dataclass(frozen=True)
class Failure:
    """What ``info["failure"]`` holds when the infrastructure broke an episode."""

    type: str
    message: str
    phase: str  # "reset", "step" or "grading"

    @classmethod
    def from_error(cls, error: BaseException, phase: str) -> Failure:
        kind = getattr(error, "kind", "infra")
        return cls(type=kind, message=f"{type(error).__name__}: {error}", phase=phase)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)
