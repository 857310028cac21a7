"""RayRunner's compiled path: a tube's stages as one Ray Compiled Graph (``ray.dag``).

Owns: building the graph from a ``RayRunner``'s layout (one ``InputNode``, one bound actor
method per stage, a ``MultiOutputNode`` of what the driver reads), compiling it once per
``init()``, submitting epochs (at most ``max_epochs_in_flight`` at a time), fetching their
results in epoch order, and tearing it down at ``deinit()``. It also says when a tube cannot
take this path (``unavailable``). Must not: place nodes or cut stages (``noob.runner.ray``'s
``_Layout``), run nodes (the actors' ``run_compiled``), or turn Ray's errors into noob's
(``RayRunner._ray_error`` does, for both paths).

The graph
    Stage ``s`` (see ``noob.runner.ray``) becomes ``actor.run_compiled.bind(s, feed, *incoming)``
    on its group's actor when it reads no other stage or reads the tube's inputs: ``feed`` is
    the graph's input, ``(epoch, inputs)`` (the epoch number and this epoch's input values by
    slot, or ``None``); ``incoming`` are the outputs of the stages it reads, one per value
    that crosses actors. Every other stage is ``actor.run_compiled_after.bind(s, *incoming)``
    and counts its epochs: each reader of a channel costs every epoch, and Ray calls a stage
    in every epoch, because a stage's failure travels as a value (``StageFailed``). Should an
    error escape a stage all the same (Ray then stops the graph), the next epoch compiles the
    graph again and the actors count from there (``RayRunner._rebuild``). A stage returns
    ``(status, *values)`` split into separate outputs (``num_returns``); the statuses of the
    stages that report (sources, the return node, stages sending nothing on, every stage
    while callbacks want events) are the graph's outputs, in stage order. Values travel actor
    to actor through Ray's channels (shared memory on one machine, Ray's transfer between
    machines): the driver never holds them.

Epochs
    ``submit`` writes one ``feed`` and returns the output refs; Ray refuses more than
    ``max_epochs_in_flight`` executions whose results were not fetched, so the runner keeps at
    most that many. ``fetch`` reads an epoch's refs in stage order; a failed stage's ref
    raises its exception (Ray sends the exception on in place of the values, so downstream
    stages do not run), and the rest of that epoch's refs are still read, so the graph stays
    usable for the next epoch. A wait longer than ``timeout`` leaves the graph in an unknown
    state: it is marked ``broken`` and the runner must ``deinit()`` (the actors are killed: a
    node may still be running in them) and ``init()`` again.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import logging
import pickle
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np
import ray

from noob.exceptions import NoobWarning

__all__ = ["CompiledFallbackWarning", "CompiledGraph", "Raised", "StageFailed", "own", "unavailable"]


class CompiledFallbackWarning(NoobWarning, RuntimeWarning):
    """``RayRunner(compiled="auto")`` cannot run this tube as a Ray Compiled Graph and uses
    Ray's classic actor calls instead (the message says why). Emitted once per runner."""


class StageFailed:
    """A stage's exception sent on as a value, in place of the stage's status and values.

    Ray would send the exception itself, but then every output of that epoch raises it when
    read, and the driver loses the statuses (events, exhausted sources) of the stages that
    did run. A stage receiving a ``StageFailed`` does not run and passes it on. ``exc`` is
    the user's exception (its note written in the actor), ``text`` its remote traceback.
    """

    __slots__ = ("exc", "exhausted", "text")

    def __init__(self, exc: BaseException, text: str, exhausted: tuple = ()):
        self.exc = exc
        self.text = text
        self.exhausted = exhausted  # sources that ran out upstream in this epoch (node indices)

    def joined(self, exhausted: tuple) -> StageFailed:
        """This failure, also carrying the sources ``exhausted`` upstream."""
        return StageFailed(self.exc, self.text, self.exhausted + exhausted) if exhausted else self

    @classmethod
    def of(cls, exc: BaseException) -> StageFailed:
        text = "".join(traceback.format_exception(exc))
        try:
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001 - an exception that cannot travel is described instead
            notes, node = getattr(exc, "__notes__", []), getattr(exc, "noob_node", None)
            exc = RuntimeError(f"{type(exc).__qualname__}: {exc} (the exception could not be pickled to the driver)")
            for note in notes:
                exc.add_note(note)
            if node is not None:
                exc.noob_node = node  # type: ignore[attr-defined]
        exc.__traceback__ = None
        return cls(exc, text)


class Raised:
    """What ``CompiledGraph.fetch`` gives for a ref whose wait raised ``exc``."""

    __slots__ = ("exc",)

    def __init__(self, exc: BaseException):
        self.exc = exc


_PLAIN = (type(None), bool, int, float, str)
#: seconds a graph's loop in an actor has to end at teardown before the actor is killed
LOOP_EXIT = 1
#: epochs slower than this (seconds) are waited for by sleeping first (see ``fetch``)
SLEEP_ABOVE = 0.005
#: the share of the recent latency slept through
SLEEP_SHARE = 0.75


def own(value: Any) -> Any:
    """``value`` with its own memory. Ray reads numpy arrays (and other buffers) from a
    channel without a copy, and does not write the next value into that channel while such a
    view lives: a value a node or the caller keeps would stop the graph. A numpy array is
    copied once; anything else is deep-copied (its arrays come out writeable, as they went
    in); plain scalars are passed as they are."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is np.ndarray:
        return value.copy()
    return copy.deepcopy(value)


def unavailable() -> str | None:
    """Why this Ray connection cannot run compiled graphs (``None`` if it can)."""
    try:
        from ray.dag import InputNode, MultiOutputNode  # noqa: F401
    except ImportError as exc:  # an old Ray
        return f"this Ray ({ray.__version__}) has no compiled graphs ({exc})"
    with contextlib.suppress(Exception):
        from ray.util.client import ray as client

        if client.is_connected():
            return "compiled graphs do not run through Ray Client (address='ray://...')"
    return None


class CompiledGraph:
    """One compiled graph over a runner's actors (see the module docstring).

    ``stages`` are the layout's ``_Stage`` objects, ``actors`` the actor of each group,
    ``reports[s]`` whether stage ``s`` returns a status first. ``reporting`` lists the stages
    whose status is an output, in output order.
    """

    def __init__(self, stages: Sequence[Any], actors: dict[str, Any], reports: Sequence[bool],
                 max_in_flight: int, timeout: float):
        from ray.dag import InputNode, MultiOutputNode

        self.broken = False
        self._actors = list(dict.fromkeys(actors[st.group] for st in stages))
        self.reporting: list[int] = []
        outputs: list[Any] = []
        with InputNode() as feed:
            sent: dict[tuple[int, int], Any] = {}  # (stage, output position) -> graph node
            for st, report in zip(stages, reports):
                n = int(report) + len(st.out_slots)
                incoming = [sent[src] for src in st.in_from]
                if st.in_from and not st.pass_inputs:  # counts its epochs: one channel less to read
                    method = actors[st.group].run_compiled_after
                    args = (st.index, *incoming)
                else:
                    method = actors[st.group].run_compiled
                    args = (st.index, feed, *incoming)
                if n > 1:
                    method = method.options(num_returns=n)
                node = method.bind(*args)
                nodes = list(node) if n > 1 else [node]
                if report:
                    outputs.append(nodes[0])
                    self.reporting.append(st.index)
                for j in range(len(st.out_slots)):
                    sent[(st.index, j)] = nodes[j + int(report)]
            dag = MultiOutputNode(outputs)
        self._graph = dag.experimental_compile(_submit_timeout=timeout, _max_inflight_executions=max_in_flight)
        self._submitted: collections.deque[float] = collections.deque()  # when each epoch in flight was submitted
        self._latency = 0.0  # seconds from submitting an epoch to having its results, lately

    def submit(self, epoch: int, inputs: dict | None) -> list[tuple[int, Any]]:
        """Start one epoch; ``(stage, ref)`` of each reporting stage, in stage order."""
        refs = list(zip(self.reporting, self._graph.execute((epoch, inputs))))
        self._submitted.append(time.perf_counter())
        return refs

    def fetch(self, refs: Sequence[Any], timeout: float) -> list[Any]:
        """Each ref's value, or ``Raised(exc)``; all of them are read (see the module docstring),
        except after a wait longer than ``timeout`` seconds, which marks the graph ``broken``.
        Ray reads all outputs of an epoch at once: a slow stage makes the first ref wait.

        Ray's read waits by spinning, which takes a core from the actors; when epochs take
        longer than ``SLEEP_ABOVE`` seconds, the driver sleeps through most of the wait first
        (``SLEEP_SHARE`` of the recent latency, which adapts when epochs get faster)."""
        submitted = self._submitted.popleft() if self._submitted else time.perf_counter()
        if self._latency > SLEEP_ABOVE:
            pause = submitted + SLEEP_SHARE * self._latency - time.perf_counter()
            if pause > 0:
                time.sleep(min(pause, timeout))
        out: list[Any] = []
        for ref in refs:
            if self.broken:
                out.append(Raised(TimeoutError("an earlier wait of this epoch timed out")))
                continue
            try:
                out.append(own(ref.get(timeout=timeout)))
            except Exception as exc:  # noqa: BLE001 - handed to the runner, which raises it
                if isinstance(exc, TimeoutError):
                    self.broken = True
                out.append(Raised(exc))
            except BaseException:  # Ctrl-C: the read is half done, the graph cannot be trusted
                self.broken = True
                raise
        self._latency = time.perf_counter() - submitted
        return out

    def drain(self, pending: Sequence[Sequence[Any]], timeout: float) -> None:
        """Read and drop the results of epochs still in flight (each a list of refs)."""
        for refs in pending:
            self.fetch(refs, timeout)

    def teardown(self, timeout: float) -> set[Any]:
        """Stop the graph's loops in the actors; returns the ids of the actors that cannot run
        another graph.

        A ``broken`` graph's actors are all killed (a node may still be running, and Ray would
        wait for it forever): all their ids come back. Otherwise Ray cancels each actor's
        loop; the ids of the loops not ended within ``LOOP_EXIT`` seconds come back, their
        actors alive: Ray 2.60 leaves a loop waiting on a channel for good after a graph has
        carried large arrays (its teardown would wait 30 s, then forever). Such an actor
        still serves ordinary calls (``deinit``), and must then be killed by the caller, which
        also ends Ray's wait here."""
        from ray.dag import DAGContext

        ctx = DAGContext.get_current()
        previous = ctx.teardown_timeout
        ctx.teardown_timeout = LOOP_EXIT
        quiet = logging.getLogger("ray.dag.compiled_dag_node")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # Ray warns about the loops handed back
        worker = threading.Thread(target=self._graph.teardown, kwargs={"kill_actors": self.broken}, daemon=True,
                                  name="noob-ray-teardown")
        try:
            worker.start()
            worker.join(LOOP_EXIT + 1.0 if not self.broken else max(5.0, min(timeout, 60.0)))
            if self.broken:
                for actor in self._actors:
                    with contextlib.suppress(Exception):
                        ray.kill(actor)
                worker.join(30.0)
                return {actor._actor_id for actor in self._actors}
            if not worker.is_alive():
                return set()
            loops = dict(getattr(self._graph, "worker_task_refs", {}))
            done, _ = ray.wait(list(loops.values()), num_returns=len(loops), timeout=0) if loops else ([], [])
            return {actor._actor_id for actor, ref in loops.items() if ref not in done}
        finally:
            ctx.teardown_timeout = previous
            quiet.setLevel(level)
