"""Every exception and warning noob raises, shared by both core paths.

Each class is mixed into the builtin a user would naturally catch (``SpecError`` is a
``ValueError``, ``SchedulerExhaustedError`` a ``RuntimeError``), so code written against the
original noob (which raised pydantic ``ValidationError``, itself a ``ValueError``) keeps
working.

This module owns no logic beyond formatting: it must not import any other part of noob.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

__all__ = [
    "AlreadyDoneError",
    "AssetError",
    "ConfigError",
    "ConfigWarning",
    "CycleError",
    "EntrypointImportWarning",
    "ExtraInputWarning",
    "InputError",
    "InputMissingError",
    "InputWarning",
    "NoobCoreError",
    "NoobError",
    "NoobWarning",
    "NotAddedError",
    "Problem",
    "RaceWarning",
    "RunnerError",
    "SchedulerError",
    "SchedulerExhaustedError",
    "SpecError",
    "TubeError",
]


class NoobCoreError(Exception):
    """Base of every exception noob raises."""


class SchedulerError(NoobCoreError):
    """Base of errors about epochs and scheduling."""




class NotAddedError(SchedulerError, ValueError):
    """A node id that is not part of the compiled graph was used."""


class AlreadyDoneError(SchedulerError, ValueError):
    """A node or signal was marked done twice in one epoch."""


class SchedulerExhaustedError(SchedulerError, RuntimeError):
    """Every source of the tube has run out; the runner must be re-initialised.

    Raised by ``process()`` after the epoch in which the last source was exhausted.
    ``run()`` and ``iter()`` catch it and end cleanly.
    """


class NoobError(NoobCoreError):
    """Base of errors raised by noob's Python layer."""


class NoobWarning(UserWarning):
    """Base of every warning noob emits."""


class ConfigError(NoobError):
    """Category: configuration and tube lookup."""



class TubeError(NoobError):
    """Category: tube construction."""


class RunnerError(NoobError):
    """Category: runners."""


class InputError(NoobError):
    """Category: tube and process inputs."""


class ConfigWarning(NoobWarning):
    """Category: configuration warnings."""


class InputWarning(NoobWarning):
    """Category: input warnings."""



class EntrypointImportWarning(ConfigWarning, ImportWarning):
    """A ``noob.add_sources`` entry point could not be imported or called; it is skipped."""



class InputMissingError(InputError, ValueError):
    """A required input was not given.

    Attributes: ``input`` (the input id) and ``scope`` (``"tube"`` or ``"process"``).
    """

    def __init__(self, message: str, input: str | None = None, scope: str | None = None):
        super().__init__(message)
        self.input = input
        self.scope = scope



class ExtraInputWarning(InputWarning, RuntimeWarning):
    """Input was given that the tube does not declare for that scope; it is ignored."""


class RaceWarning(NoobWarning):
    """Two nodes receive the same mutable asset without an order between them.

    Attributes: ``asset`` and ``nodes`` (the two unordered node ids).
    """

    def __init__(self, message: str, asset: str = "", nodes: tuple[str, ...] = ()):
        super().__init__(message)
        self.asset = asset
        self.nodes = nodes


class AssetError(NoobError, RuntimeError):
    """An asset factory failed or an asset could not be closed.

    Attributes: ``asset`` (id) and ``scope``. The original exception is ``__cause__``.
    """

    def __init__(self, message: str, asset: str = "", scope: str = ""):
        super().__init__(message)
        self.asset = asset
        self.scope = scope


@attrs.frozen(order=True)
class Problem:
    """One thing wrong with a tube specification.

    ``path`` is the YAML path of the offending entry (``nodes.b.depends[1]``), ``message``
    says what was expected and what was found, ``fix`` how to repair it (may be empty).
    """

    path: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.fix:
            text += f" -- fix: {self.fix}"
        return text


class SpecError(TubeError, ValueError):
    """A tube specification is invalid. Every problem found is reported at once.

    Attributes: ``tube`` (the tube id, or the file it came from), ``source`` (path or
    ``None``), ``problems`` (a sorted list of :class:`Problem`).
    """

    def __init__(
        self,
        problems: Iterable[Problem],
        tube: str | None = None,
        source: Any = None,
    ):
        self.problems: list[Problem] = sorted(set(problems), key=_problem_key)
        self.tube = tube
        self.source = source
        super().__init__(self._format())

    def _format(self) -> str:
        n = len(self.problems)
        name = repr(self.tube) if self.tube else "<unnamed>"
        where = f" ({self.source})" if self.source else ""
        head = f"{n} error{'s' if n != 1 else ''} in tube {name}{where}:"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


def _problem_key(problem: Problem) -> tuple:
    # sort "nodes.b.depends[10]" after "nodes.b.depends[2]"
    parts: list[Any] = []
    for chunk in problem.path.replace("[", ".[").split("."):
        if chunk.startswith("[") and chunk[1:-1].isdigit():
            parts.append((1, int(chunk[1:-1]), ""))
        else:
            parts.append((0, 0, chunk))
    return (parts, problem.message)


class CycleError(SpecError):
    """The tube's graph has a cycle. ``cycle`` lists the node ids around it, first repeated last."""

    def __init__(self, problems: Iterable[Problem], cycle: Sequence[str], tube: str | None = None, source: Any = None):
        self.cycle = list(cycle)
        super().__init__(problems, tube=tube, source=source)
