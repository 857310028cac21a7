"""Every exception and warning noob raises, shared by both core paths.

Each class is mixed into the builtin a user would naturally catch (``SpecError`` is a
``ValueError``, ``SchedulerExhaustedError`` a ``RuntimeError``), so code written against the
original noob (which raised pydantic ``ValidationError``, itself a ``ValueError``) keeps
working.

This module owns no logic beyond formatting: it must not import any other part of noob.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "AlreadyDoneError",
    "AnnotationWarning",
    "AssetCopyError",
    "AssetCopyWarning",
    "AssetDependsWarning",
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
    "SignalMismatchError",
    "SpecError",
    "TubeError",
]


class NoobCoreError(Exception):
    """Base of every exception noob raises."""


class SchedulerError(NoobCoreError):
    """Base of errors about epochs and scheduling."""


class NotAddedError(SchedulerError, IndexError, ValueError):
    """A node id that is not part of the compiled graph was passed to the core.

    Raised by both cores (``Dispatcher.set_flag`` / ``prepare_call`` / ``finish``,
    ``Scheduler.done``, ``reachable``) for an id outside ``0 <= id < n``. It is an
    ``IndexError`` (the id is an index) and, as in the original, a ``ValueError``.
    Attributes: ``node`` (the id) and ``n`` (how many nodes the graph has).
    """

    def __init__(self, message: str, node: int = -1, n: int = 0):
        super().__init__(message)
        self.node = node
        self.n = n


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
    """Two nodes receive the same mutable asset without an order between them, or a node takes
    a runner-scoped asset directly with no order relative to the node its ``depends`` stores
    it from (so it may see this epoch's value or the next one's).

    Attributes: ``asset``, ``nodes`` (the two unordered node ids) and ``path`` (the YAML path
    of the entry to change, e.g. ``nodes.b.depends[0]``; it also opens the message).
    """

    def __init__(self, message: str, asset: str = "", nodes: tuple[str, ...] = (), path: str = ""):
        super().__init__(message)
        self.asset = asset
        self.nodes = nodes
        self.path = path


class AnnotationWarning(NoobWarning):
    """A signal is wired into a slot whose annotation it can certainly not satisfy.

    Emitted at load only when both annotations are plain classes (or generic aliases of
    them, compared by origin) and neither is a subclass of the other, so ``list[int]`` into
    ``int`` warns while ``int`` into ``float``, ``Any``, unions with an overlap, ``Optional``,
    type variables, protocols and unannotated sides never do. A generator source's signal is
    compared by what it yields (``Generator[int, None, None]``, ``Iterator[int]`` -> ``int``).
    Attributes: ``path`` (e.g. ``nodes.b.depends[0]``), ``node`` and ``slot`` (the receiving
    side), ``source`` (``"a.value"``), ``signal_type`` and ``slot_type``.
    """

    def __init__(self, message: str, path: str = "", node: str = "", slot: Any = None, source: str = "",
                 signal_type: Any = None, slot_type: Any = None):
        super().__init__(message)
        self.path = path
        self.node = node
        self.slot = slot
        self.source = source
        self.signal_type = signal_type
        self.slot_type = slot_type


class AssetDependsWarning(NoobWarning):
    """An asset's ``depends`` names a signal the node does not have: the asset is never stored
    back (it keeps its initial value each epoch). Attributes: ``asset`` and ``path``."""

    def __init__(self, message: str, asset: str = "", path: str = ""):
        super().__init__(message)
        self.asset = asset
        self.path = path


class SignalMismatchError(RunnerError, TypeError, ValueError):
    """A node returned a value that does not fit its signals.

    A node with ``k > 1`` signals must return a tuple (or list) of exactly ``k`` values, one
    per signal in order (or ``NoEvent`` for none of them). Raised by both runners on both
    cores, in the epoch the node returned it; the runner stays usable. It is a ``TypeError``
    when the value is not a tuple or list (as Python's own unpacking of a non-iterable) and a
    ``ValueError`` when the length is wrong (as ``a, b = 1, 2, 3``); one class is both, so
    either ``except`` catches it.

    The core raises it with integer data only (``node_index``, ``expected`` as a count,
    ``found_len``, ``found_type``); the runner then calls :meth:`locate`, which fills in the
    names. Attributes: ``node`` (node id, ``None`` until located), ``epoch``, ``tube``,
    ``expected`` (the signal names, or their count before ``locate``), ``found`` (what was
    returned, in words).
    """

    def __init__(self, node_index: int, expected: int, found_len: int, found_type: str):
        self.node_index = node_index
        self.found_len = found_len
        self.found_type = found_type
        self.node: str | None = None
        self.epoch: Any = None
        self.tube: str | None = None
        self.expected: Any = expected
        super().__init__(self._format())

    @property
    def found(self) -> str:
        if self.found_len < 0:
            return f"a value of type {self.found_type}"
        return f"a {self.found_type} of {self.found_len} value{'s' if self.found_len != 1 else ''}"

    def locate(self, node: str, signals: Sequence[str], epoch: Any, tube: str) -> None:
        """Name the node, its signals, the epoch and the tube (called once, by the runner)."""
        self.node, self.expected, self.epoch, self.tube = node, tuple(signals), epoch, tube
        self.args = (self._format(),)

    def _format(self) -> str:
        if self.node is None:
            return f"node {self.node_index} returned {self.found} for its {self.expected} signals"
        names = ", ".join(repr(s) for s in self.expected)
        return (
            f"node {self.node!r} of tube {self.tube!r} returned {self.found} in epoch {self.epoch}, but it has "
            f"{len(self.expected)} signals ({names}): return a tuple of {len(self.expected)} values, one per "
            f"signal in that order (NoEvent for a signal that does not fire)"
        )

    def __str__(self) -> str:
        return self._format()


class AssetError(NoobError, RuntimeError):
    """An asset factory failed or an asset could not be closed.

    Attributes: ``asset`` (id) and ``scope``. The original exception is ``__cause__``.
    """

    def __init__(self, message: str, asset: str = "", scope: str = ""):
        super().__init__(message)
        self.asset = asset
        self.scope = scope


class AssetCopyError(AssetError, TypeError):
    """A runner asset's stored value had to be copied and could not be.

    An asset with ``depends: node.signal`` takes that signal's value at the end of each epoch.
    When another node also reads the signal in the epoch, noob stores a deep copy, so what
    that node does with its value cannot change the asset; an object holding a lock, a socket
    or a connection cannot be copied. Raised in the epoch of the copy (the runner notes the
    node that emitted the signal); a ``TypeError`` like the failed copy, which is ``__cause__``.
    Attributes: ``asset`` (id, or ids joined by ``" or "`` when several assets could have
    been copied), ``scope`` (``"runner"``), ``source`` (``"node.signal"``), ``readers`` (ids of
    the nodes that read the signal), ``path`` (``assets.<id>.depends``).
    """

    def __init__(self, message: str, asset: str = "", source: str = "", readers: Sequence[str] = (), path: str = ""):
        super().__init__(message, asset=asset, scope="runner")
        self.source = source
        self.readers = tuple(readers)
        self.path = path


class AssetCopyWarning(NoobWarning):
    """A runner asset's value will be deep-copied every epoch (see :class:`AssetCopyError` for
    why): a cost on every epoch, and an ``AssetCopyError`` if the object cannot be copied.
    Emitted when the tube is loaded (and by ``noob validate``). Attributes: ``asset``,
    ``source`` (``"node.signal"``), ``readers`` (node ids) and ``path`` (``assets.<id>.depends``,
    which also opens the message)."""

    def __init__(self, message: str, asset: str = "", source: str = "", readers: Sequence[str] = (), path: str = ""):
        super().__init__(message)
        self.asset = asset
        self.source = source
        self.readers = tuple(readers)
        self.path = path


@attrs.frozen(order=True)
class Problem:
    """One thing wrong with a tube specification.

    ``path`` is the YAML path of the offending entry (``nodes.b.depends[1]``), ``message``
    says what was expected and what was found, ``fix`` how to repair it (may be empty).
    """

    path: str
    message: str
    fix: str = ""
    #: the builtin exception class behind the problem, when there is one (``ModuleNotFoundError``
    #: for a ``type`` whose module does not import, ``AttributeError`` for a missing name)
    error: type[BaseException] | None = attrs.field(default=None, eq=False, order=False, repr=False)
    #: attributes the raised error gets when it is also an ``error`` (``input`` and ``scope`` of an
    #: ``InputMissingError``); taken from the first problem
    details: Mapping[str, Any] | None = attrs.field(default=None, eq=False, order=False, repr=False)

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.fix:
            text += f" -- fix: {self.fix}"
        return text


class SpecError(TubeError, ValueError):
    """A tube specification is invalid. Every problem found is reported at once.

    Attributes: ``tube`` (the tube id, or the file it came from), ``source`` (path or
    ``None``), ``problems`` (a sorted list of :class:`Problem`).

    When every problem comes from the same builtin exception (``Problem.error``, e.g. the one
    ``type`` whose module is missing), the raised object is also an instance of it: a
    dynamically made subclass of ``SpecError`` and ``ModuleNotFoundError`` (or
    ``AttributeError``, or ``InputMissingError`` for params that use an input which is not
    there when the tube is built), so ``except ModuleNotFoundError`` written for the original
    noob, which let the import error through raw, keeps working; the mixed error carries the
    builtin's attributes (``input`` and ``scope`` of an ``InputMissingError``).
    """

    def __new__(cls, problems: Iterable[Problem] = (), *args: Any, **kwargs: Any) -> SpecError:
        if isinstance(problems, (list, tuple, set, frozenset)):
            kinds = {p.error for p in problems}
            if len(kinds) == 1 and (kind := next(iter(kinds))) is not None and not issubclass(cls, kind):
                return super().__new__(_mixed(cls, kind))
        return super().__new__(cls)

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
        if type(self) in _MIXED.values() and self.problems and self.problems[0].details:
            for key, value in self.problems[0].details.items():  # after the builtin's __init__ set its own
                setattr(self, key, value)

    def __reduce__(self) -> tuple:
        # pickles as its class (the plain one behind a mixed class), problems, message and
        # attributes (tube, source, cycle, notes): the default would call cls(message)
        cls = type(self)
        while cls in _MIXED.values():
            cls = cls.__bases__[0]
        return (_rebuild_spec_error, (cls, self.problems, self.args), dict(self.__dict__))

    def _format(self) -> str:
        n = len(self.problems)
        name = repr(self.tube) if self.tube else "<unnamed>"
        where = f" ({self.source})" if self.source else ""
        head = f"{n} error{'s' if n != 1 else ''} in tube {name}{where}:"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


_MIXED: dict[tuple[type, type], type] = {}


def _rebuild_spec_error(cls: type[SpecError], problems: list[Problem], args: tuple) -> SpecError:
    """Unpickle a ``SpecError``: ``__new__`` mixes the builtin kind in again, as when raised."""
    error = cls.__new__(cls, problems)
    error.args = args
    return error


def _mixed(cls: type, kind: type[BaseException]) -> type:
    """``class <cls.__name__>(cls, kind)``, made once per pair."""
    key = (cls, kind)
    if key not in _MIXED:
        _MIXED[key] = type(cls.__name__, (cls, kind), {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
    return _MIXED[key]


def _problem_key(problem: Problem) -> tuple:
    # sort "nodes.b.depends[10]" after "nodes.b.depends[2]"
    parts: list[Any] = []
    for chunk in problem.path.replace("[", ".[").split("."):
        digits = chunk[1:-1]
        if chunk.startswith("[") and digits.isascii() and digits.isdigit():
            # by length, then text: numeric order without int() (a key may hold any digits)
            parts.append((1, len(digits.lstrip("0")), digits))
        else:
            parts.append((0, 0, chunk))
    return (parts, problem.message)


class CycleError(SpecError):
    """The tube's graph has a cycle. ``cycle`` lists the node ids around it, first repeated last."""

    def __init__(self, problems: Iterable[Problem], cycle: Sequence[str], tube: str | None = None, source: Any = None):
        self.cycle = list(cycle)
        super().__init__(problems, tube=tube, source=source)
