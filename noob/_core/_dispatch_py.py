"""Pure-Python twin of ``_dispatch_c.pyx``: same functions, same behaviour, same results.

Used where no compiler is available, when ``NOOB_PUREPYTHON=1`` is set, and as the test
oracle for the compiled module. Read ``_dispatch_c.pxd`` for the table of contents and
``_dispatch_c.pyx`` for the field-by-field description of the tables; this file only
repeats what differs.

The core never sees a node name, a YAML path or a message for users: it speaks integer ids.
Arguments of every public entry are checked by ``_checks``, the very functions the compiled
core calls, so both raise the same exceptions; ``noob.runner`` names nodes and epochs.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from noob._core import _checks
from noob.exceptions import AlreadyDoneError, SignalMismatchError
from noob.types import MetaSignal

NOEVENT = MetaSignal.NoEvent
EXHAUSTED = MetaSignal.Exhausted

# per-node flag bits (mirror _dispatch_c.pxd)
F_ENABLED = 1
F_GENERATOR = 2
F_HOOK_BEFORE = 4
F_HOOK_AFTER = 8
F_EXHAUSTED = 16
F_NATIVE = 32

# native operations of Dispatcher.run (mirror _dispatch_c.pxd)
NATIVE_CALL = 0
NATIVE_GATHER = 1
NATIVE_RET_SCALAR = 2
NATIVE_RET_TUPLE = 3
NATIVE_RET_DICT = 4
NATIVE_RET_BOTH = 5
NATIVE_NEXT = 6
NATIVE_MAP = 7

# scheduler node states (mirror _dispatch_c.pxd)
STATE_WAITING = 0
STATE_READY = 1
STATE_DONE = 2

# _check's verdict on a node (private, as in _dispatch_c.pyx)
CHECK_SKIP = 0
CHECK_DENSE = 1
CHECK_SPARSE = 2

IMPLEMENTATION = "python"


def csr(n, src, dst):
    """CSR adjacency of ``n`` nodes from edge arrays: ``(indptr[n+1], indices[m])``.

    Successors of node ``i`` are ``indices[indptr[i]:indptr[i+1]]``, in edge order; duplicate
    edges are kept. Python equivalent: ``[[d for s, d in zip(src, dst) if s == i] for i in range(n)]``.
    """
    src, dst = _checks.edges(n, src, dst)
    counts = np.bincount(src, minlength=n).astype(np.int32) if len(src) else np.zeros(n, np.int32)
    indptr = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=indptr[1:])
    indices = np.empty(len(src), dtype=np.int32)
    fill = indptr[:-1].copy()
    for k in range(len(src)):
        s = src[k]
        indices[fill[s]] = dst[k]
        fill[s] += 1
    return indptr, indices


def toposort(n, indptr, indices):
    """Generation-by-generation Kahn sort: ``(order[int32], generation[int32], ok)``.

    Generation 0 holds nodes without predecessors in id order; generation g+1 holds nodes
    released while generation g is processed, in the order they were released. Deterministic
    for a given edge order (no hashing). ``ok`` is False when a cycle leaves nodes unsorted;
    ``order`` then holds only the sorted prefix and ``generation`` is -1 for the rest.
    """
    indptr, indices = _checks.csr(n, indptr, indices)
    indeg = np.zeros(n, dtype=np.int32)
    for k in range(len(indices)):
        indeg[indices[k]] += 1
    generation = np.full(n, -1, dtype=np.int32)
    order = np.empty(n, dtype=np.int32)
    current = [i for i in range(n) if indeg[i] == 0]
    pos = 0
    gen = 0
    while current:
        nxt = []
        for node in current:
            order[pos] = node
            pos += 1
            generation[node] = gen
            for k in range(indptr[node], indptr[node + 1]):
                succ = indices[k]
                indeg[succ] -= 1
                if indeg[succ] == 0:
                    nxt.append(int(succ))
        current = nxt
        gen += 1
    return order[:pos].copy(), generation, pos == n


def find_cycle(n, indptr, indices):
    """One cycle as a list of node ids ``[a, b, ..., a]``, or ``[]`` if the graph is acyclic.

    Iterative three-colour DFS from the lowest id, so the reported cycle is deterministic.
    """
    indptr, indices = _checks.csr(n, indptr, indices)
    colour = np.zeros(n, dtype=np.int8)  # 0 white, 1 on stack, 2 done
    parent = np.full(n, -1, dtype=np.int32)
    for root in range(n):
        if colour[root]:
            continue
        stack = [(root, int(indptr[root]))]
        colour[root] = 1
        while stack:
            node, k = stack[-1]
            if k < indptr[node + 1]:
                stack[-1] = (node, k + 1)
                succ = int(indices[k])
                if colour[succ] == 0:
                    colour[succ] = 1
                    parent[succ] = node
                    stack.append((succ, int(indptr[succ])))
                elif colour[succ] == 1:
                    cycle = [succ]
                    walk = node
                    while walk != succ:
                        cycle.append(walk)
                        walk = int(parent[walk])
                    cycle.append(succ)
                    cycle.reverse()
                    return cycle
            else:
                colour[node] = 2
                stack.pop()
    return []


def reachable(n, indptr, indices, starts):
    """Mask ``uint8[n]``: 1 for every node reachable from ``starts`` (an id or a sequence of
    ids; the starts included), in one DFS. On the reversed graph: every node reaching them."""
    indptr, indices = _checks.csr(n, indptr, indices)
    stack = [int(x) for x in np.asarray(starts, dtype=np.int64).reshape(-1)]
    for x in stack:
        _checks.node_id(x, n)
    seen = np.zeros(n, dtype=np.uint8)
    seen[stack] = 1
    while stack:
        node = stack.pop()
        for k in range(indptr[node], indptr[node + 1]):
            succ = int(indices[k])
            if not seen[succ]:
                seen[succ] = 1
                stack.append(succ)
    return seen


def _shared_bytes(flags):
    """The bytearray behind ``flags`` if it is a numpy view of one (a sibling dispatcher's
    ``flags``: shared), else a new bytearray holding a copy."""
    base = getattr(flags, "base", None)
    if isinstance(base, memoryview):  # numpy >= 2 keeps the buffer's memoryview as ``base``
        base = base.obj
    if isinstance(base, bytearray) and len(base) == len(flags):
        return base
    return bytearray(np.asarray(flags, dtype=np.uint8).tobytes())


class Dispatcher:
    """Runs one epoch over the plan's tables. See ``_dispatch_c.pyx`` for the tables."""

    def __init__(self, fns, order, flags, arg_ptr, arg_src, arg_req, n_pos, kwnames,
                 out_ptr, out_slot, store_ptr, store_src, store_dst, store_copy, deepcopy):
        self.n_slots = _checks.dispatcher_tables(len(fns), order, flags, arg_ptr, arg_src, n_pos, kwnames, out_ptr,
                                                 out_slot, store_ptr, store_src, store_dst, store_copy, arg_req)
        self.fns = fns
        self.order = np.asarray(order, dtype=np.int32)
        # flags and ran are numpy views of bytearrays: numpy for the shared API (and for the
        # sub-dispatchers of map regions, which pass our ``flags`` back in), bytearray for the
        # loop, where indexing a numpy array from Python costs ~5x more
        self._flagbuf = _shared_bytes(flags)
        self.flags = np.frombuffer(self._flagbuf, dtype=np.uint8)
        self.arg_ptr = np.asarray(arg_ptr, dtype=np.int32)
        self.arg_src = np.asarray(arg_src, dtype=np.int32)
        self.arg_req = np.asarray(arg_req, dtype=np.uint8)
        self.n_pos = np.asarray(n_pos, dtype=np.int32)
        self.kwnames = kwnames
        self.out_ptr = np.asarray(out_ptr, dtype=np.int32)
        self.out_slot = np.asarray(out_slot, dtype=np.int32)
        self.store_ptr = np.asarray(store_ptr, dtype=np.int32)
        self.store_src = np.asarray(store_src, dtype=np.int32)
        self.store_dst = np.asarray(store_dst, dtype=np.int32)
        self.store_copy = np.asarray(store_copy, dtype=np.uint8)
        self.deepcopy = deepcopy
        n = len(self.flags)
        self._ranbuf = bytearray(n)
        self.ran = np.frombuffer(self._ranbuf, dtype=np.uint8)
        self.current = -1
        self.hook_before = None
        self.hook_after = None
        self.n_exhausted_now = 0
        self.item_index = -1
        # plain-list copies: indexing numpy scalars in a Python loop is slow
        self._order = [int(x) for x in self.order]
        self._args = [
            [(int(self.arg_src[k]), bool(self.arg_req[k])) for k in range(self.arg_ptr[i], self.arg_ptr[i + 1])]
            for i in range(n)
        ]
        self._outs = [[int(x) for x in self.out_slot[self.out_ptr[i]:self.out_ptr[i + 1]]] for i in range(n)]
        self._stores = [
            [(int(self.store_src[k]), int(self.store_dst[k]), bool(self.store_copy[k]))
             for k in range(self.store_ptr[i], self.store_ptr[i + 1])]
            for i in range(n)
        ]
        self._npos = [int(x) for x in self.n_pos]
        self.epochs = 0
        self.last_epoch = None
        self.epoch_slot = -1
        self.reset = np.zeros(0, dtype=np.int32)
        self._reset = []
        self.ret_slot = -1
        self.on_exhausted = None
        self.batch_type = None
        self.shape = None
        self._nativebuf = bytearray(n)
        self.native = np.frombuffer(self._nativebuf, dtype=np.uint8)
        self.gather_n = np.zeros(n, dtype=np.int32)
        self._gather_n = [0] * n
        self.aux = [None] * n

    def set_result(self, ret_slot, on_exhausted=None, batch_type=None, shape=None, epoch_slot=-1, reset=()):
        """What ``epoch`` does around ``run``; see ``_dispatch_c.pyx``."""
        reset_a = np.ascontiguousarray(reset, dtype=np.int32).reshape(-1)
        highest = max(ret_slot, epoch_slot, int(reset_a.max()) if len(reset_a) else -1)
        if len(reset_a) and int(reset_a.min()) < 0:
            raise ValueError("reset holds a negative slot")
        self.n_slots = max(self.n_slots, highest + 1)
        self.epoch_slot = -1 if epoch_slot < 0 else epoch_slot
        self.reset = reset_a
        self._reset = [int(x) for x in reset_a]
        self.ret_slot = -1 if ret_slot < 0 else ret_slot
        self.on_exhausted = on_exhausted
        self.batch_type = batch_type
        self.shape = shape

    def epoch(self, values):
        """Count one epoch, ``run(values)``, then what a runner's ``process()`` returns; see
        ``_dispatch_c.pyx``."""
        if len(values) < self.n_slots:
            _checks.slot_table(values, self.n_slots)
        self.last_epoch = self.epochs
        if self.epoch_slot >= 0:
            values[self.epoch_slot] = self.epochs
        for s in self._reset:
            values[s] = NOEVENT
        self.epochs += 1
        if self.run(values) and self.on_exhausted is not None:
            self.on_exhausted()
        if self.ret_slot < 0:
            return None
        r = values[self.ret_slot]
        if r is NOEVENT:
            return None
        if self.batch_type is not None and type(r) is self.batch_type:
            return self.shape(r)
        return r

    def set_native(self, node, kind, aux=None, gather_n=0):
        """Have ``run`` carry out ``node`` itself instead of calling ``fns[node]``; see ``_dispatch_c.pyx``."""
        _check_node(node, len(self._npos))
        _checks.native(kind, aux, gather_n, len(self._args[node]), self._npos[node], len(self._outs[node]), type(self))
        self._nativebuf[node] = kind
        self.gather_n[node] = gather_n
        self._gather_n[node] = gather_n
        self.aux[node] = aux
        if kind:
            self._flagbuf[node] |= F_NATIVE
        else:
            self._flagbuf[node] &= ~F_NATIVE & 0xFF

    def _map(self, node, values):
        # NATIVE_MAP: run the region once per element; see _dispatch_c._map
        sub = self.aux[node]
        value = values[self._args[node][0][0]]
        sub.current = -1
        if type(value) is not list and type(value) is not tuple:
            return self.fns[node](value)
        items = list(value)
        if not items:
            return self.fns[node](value)
        value_slot, n_slot = self._outs[node]
        values[n_slot] = len(items)
        for k, item in enumerate(items):
            sub.item_index = k
            values[value_slot] = item
            sub.run(values)
        sub.item_index = -1
        return (items[-1], len(items))

    def _native(self, node, values):
        # what the special node emits this epoch, without a call; see _dispatch_c._native
        kind = self._nativebuf[node]
        if kind == NATIVE_NEXT:
            return next(self.aux[node], EXHAUSTED)
        if kind == NATIVE_MAP:
            return self._map(node, values)
        args = self._args[node]
        if kind == NATIVE_GATHER:
            items = self.aux[node]
            items.append(values[args[0][0]])
            target = self._gather_n[node]
            if not target:
                target = values[args[1][0]]
                if target is NOEVENT:
                    return NOEVENT
            if len(items) < target:
                return NOEVENT
            out = items[:]
            items.clear()
            return out
        if kind == NATIVE_RET_SCALAR:
            return values[args[0][0]]
        npos = self._npos[node]
        pos = tuple([values[src] for src, _ in args[:npos]])
        if kind == NATIVE_RET_TUPLE:
            return pos
        kw = {}
        names = self.kwnames[node]
        for j, (src, _) in enumerate(args[npos:]):
            v = values[src]
            if v is not NOEVENT:
                kw[names[j]] = v
        if kind == NATIVE_RET_DICT:
            return kw or None
        return (pos, kw)

    def run_each(self, values, items, value_slot, ret, ret_slot):
        """Run the order once per element of ``items`` (a map); see ``_dispatch_c.pyx``."""
        _checks.slot_table(values, self.n_slots)
        _checks.slot("value_slot", value_slot, values)
        if ret >= 0:
            _check_node(ret, len(self._npos))
            _checks.slot("ret_slot", ret_slot, values)
        collected = []
        for k, item in enumerate(items):
            self.item_index = k
            values[value_slot] = item
            self.run(values)
            if ret >= 0 and self.ran[ret]:
                collected.append((k, values[ret_slot]))
        self.item_index = -1
        return collected

    def set_flag(self, node, bit, on):
        """Set or clear the flag bits ``bit`` (a uint8 mask) of ``node``."""
        _check_node(node, len(self._npos))
        _checks.flag_bit(bit)
        if on:
            self.flags[node] |= bit
        else:
            self.flags[node] &= ~bit & 0xFF

    def run(self, values):
        """Run every node of ``order`` once against the slot table ``values``.

        Returns the number of generator nodes that ran out in this epoch.

        The skip decision and the storing of results are ``_check`` and ``_finish`` written
        out inline: two extra Python calls per node cost this loop ~15 % (measured on a
        chain of 100 nodes). ``tests/test_core_async.py`` checks that ``run`` and the
        ``prepare_call``/``finish`` path give the same slot tables on random tubes. Flags and
        ``ran`` are read through their bytearrays, and ``current`` is only set when a node
        raises, for the same reason.
        """
        if len(values) < self.n_slots:
            _checks.slot_table(values, self.n_slots)
        flags = self._flagbuf
        ran = self._ranbuf
        natives = self._nativebuf
        fns = self.fns
        all_args = self._args
        all_outs = self._outs
        exhausted_now = 0
        node = -1
        try:
            for node in self._order:
                f = flags[node]
                outs = all_outs[node]
                if not (f & F_ENABLED) or (f & F_EXHAUSTED):
                    ran[node] = 0
                    for s in outs:
                        values[s] = NOEVENT
                    continue
                args = all_args[node]
                skip = False
                for src, req in args:
                    if req and values[src] is NOEVENT:
                        skip = True
                        break
                if skip:
                    ran[node] = 0
                    for s in outs:
                        values[s] = NOEVENT
                    continue
                if f & F_HOOK_BEFORE:
                    self.hook_before(node)
                if f & F_NATIVE and natives[node]:  # (the flag bit first: one byte already read)
                    result = self._native(node, values)
                else:  # (indented one level: the call of a user node)
                    npos = self._npos[node]
                    names = self.kwnames[node]
                    try:
                        if names:
                            pos = [values[src] for src, _ in args[:npos]]
                            kw = {}
                            for j, (src, _) in enumerate(args[npos:]):
                                v = values[src]
                                if v is not NOEVENT:
                                    kw[names[j]] = v
                            result = fns[node](*pos, **kw)
                        elif npos == 1:
                            result = fns[node](values[args[0][0]])
                        else:
                            result = fns[node](*[values[src] for src, _ in args])
                    except StopIteration:
                        if not f & F_GENERATOR:
                            raise
                        result = EXHAUSTED
                if result is EXHAUSTED:
                    flags[node] |= F_EXHAUSTED
                    exhausted_now += 1
                    ran[node] = 0
                    for s in outs:
                        values[s] = NOEVENT
                    continue
                ran[node] = 1
                if len(outs) == 1:
                    values[outs[0]] = result
                elif outs:
                    _scatter(node, values, outs, result)
                for src, dst, copy in self._stores[node]:
                    v = values[src]
                    if v is not NOEVENT:
                        values[dst] = self.deepcopy(v) if copy else v
                if f & F_HOOK_AFTER:
                    self.hook_after(node)
        except BaseException:
            self.current = node  # which node failed, for the runner's note
            raise
        self.current = -1
        self.n_exhausted_now = exhausted_now
        return exhausted_now

    def prepare_call(self, node, values):
        """The call of one node, for runners that call nodes themselves (``AsyncRunner``).

        ``None`` if ``node`` is skipped this epoch (outputs set to NoEvent, ``ran[node] = 0``,
        exactly as ``run`` would), else ``(args, kwargs)`` for ``fns[node](*args, **kwargs)``.
        Hooks are not called.
        """
        _check_node(node, len(self._npos))
        _checks.slot_table(values, self.n_slots)
        if self._check(node, values) == CHECK_SKIP:
            return None
        npos = self._npos[node]
        args = self._args[node]
        kwargs = {}
        names = self.kwnames[node]
        if names:
            for j, (src, _) in enumerate(args[npos:]):
                v = values[src]
                if v is not NOEVENT:
                    kwargs[names[j]] = v
        return tuple([values[src] for src, _ in args[:npos]]), kwargs

    def finish(self, node, values, result):
        """Store what ``node`` returned, as ``run`` does after a call; 1 if it ran out.

        ``result`` is the return value, or ``Exhausted`` for a generator whose call raised
        ``StopIteration``. Hooks are not called.
        """
        _check_node(node, len(self._npos))
        _checks.slot_table(values, self.n_slots)
        return self._finish(node, values, result)

    def _check(self, node, values):
        # CHECK_SKIP (outputs := NoEvent, ran := 0), CHECK_DENSE or CHECK_SPARSE; see _dispatch_c._check
        f = self.flags[node]
        if not (f & F_ENABLED) or (f & F_EXHAUSTED):
            self._skip(node, values)
            return CHECK_SKIP
        status = CHECK_DENSE
        for src, req in self._args[node]:
            if values[src] is NOEVENT:
                if req:
                    self._skip(node, values)
                    return CHECK_SKIP
                status = CHECK_SPARSE
        return status

    def _skip(self, node, values):
        self.ran[node] = 0
        for s in self._outs[node]:
            values[s] = NOEVENT

    def _finish(self, node, values, result):
        # 1 if Exhausted (flagged, outputs NoEvent); else scatter and fire round trips, 0
        if result is EXHAUSTED:
            self.flags[node] |= F_EXHAUSTED
            self._skip(node, values)
            return 1
        self.ran[node] = 1
        outs = self._outs[node]
        if len(outs) == 1:
            values[outs[0]] = result
        elif outs:
            _scatter(node, values, outs, result)
        for src, dst, copy in self._stores[node]:
            v = values[src]
            if v is not NOEVENT:
                values[dst] = self.deepcopy(v) if copy else v
        return 0


def _check_node(node, n):
    if node < 0 or node >= n:
        _checks.node_id(node, n)


def _scatter(node, values, outs, result):
    # a tuple or list of exactly len(outs) values, or NoEvent for all; see _dispatch_c._scatter
    if result is NOEVENT:
        for s in outs:
            values[s] = NOEVENT
        return
    if not isinstance(result, (tuple, list)):
        raise SignalMismatchError(node, len(outs), -1, type(result).__name__)
    if len(result) != len(outs):
        raise SignalMismatchError(node, len(outs), len(result), type(result).__name__)
    for j, s in enumerate(outs):
        values[s] = result[j]


class Scheduler:
    """Ready/done bookkeeping of one epoch over a CSR graph. See ``_dispatch_c.Scheduler``.

    ``start()`` returns the nodes without predecessors; ``done(node)`` marks a ready node
    finished and returns the successors it released, in edge order.
    """

    def __init__(self, n, indptr, indices):
        self.n = int(n)
        self.indptr, self.indices = _checks.csr(self.n, indptr, indices)
        self.indegree = np.zeros(n, dtype=np.int32)
        for k in range(len(self.indices)):
            self.indegree[self.indices[k]] += 1
        # plain lists: indexing numpy scalars in a Python loop is slow
        self._succ = [[int(x) for x in self.indices[self.indptr[i]:self.indptr[i + 1]]] for i in range(n)]
        self._indeg = [int(x) for x in self.indegree]
        self._roots = [i for i in range(n) if self._indeg[i] == 0]
        self._pending = [0] * n
        self._state = [STATE_DONE] * n
        self.n_done = self.n

    @property
    def state(self):
        return np.asarray(self._state, dtype=np.uint8)

    @property
    def pending(self):
        return np.asarray(self._pending, dtype=np.int32)

    @property
    def remaining(self):
        """Nodes not yet done in this epoch (0 once every node is done)."""
        return self.n - self.n_done

    def start(self):
        """Begin an epoch: every node waits on its predecessors; return the ready ones (id order)."""
        self._pending = list(self._indeg)
        self._state = [STATE_WAITING if d else STATE_READY for d in self._indeg]
        self.n_done = 0
        return list(self._roots)

    def done(self, node):
        """Mark ready ``node`` done; return the successors it released, in edge order."""
        _check_node(node, self.n)
        state = self._state
        if state[node] != STATE_READY:
            if state[node] == STATE_DONE:
                raise AlreadyDoneError(f"node {node} is already done in this epoch")
            raise ValueError(f"node {node} is not ready: {node} still waits for a predecessor")
        state[node] = STATE_DONE
        self.n_done += 1
        pending = self._pending
        released = []
        for succ in self._succ[node]:
            pending[succ] -= 1
            if pending[succ] == 0:
                state[succ] = STATE_READY
                released.append(succ)
        return released


# ---------------------------------------------------------------------------- async Driver


class _Token:
    """What ``Driver.step`` hands the runner for a node it does not run itself."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<noob core {self.name}>"


SEGMENT = _Token("SEGMENT")  # a synchronous node: run ``run_segment(node)`` in a worker thread
RUNNER = _Token("RUNNER")    # a node the runner calls itself (node-scoped assets, a map)
GATE = _Token("GATE")        # a node that waits for the runner's go (pipelined epochs)

# per-node kinds of the Driver (mirror _dispatch_c.pxd)
KIND_INLINE = 0
KIND_THREAD = 1
KIND_TASK = 2
KIND_RUNNER = 3
KIND_REGION = 4
KIND_GATE = 5


def _call(d, node, values):
    """``fns[node](*pos, **kw)`` from ``values``; ``Exhausted`` if a generator raised StopIteration."""
    args = d._args[node]
    npos = d._npos[node]
    names = d.kwnames[node]
    try:
        if names:
            kw = {}
            for j, (src, _) in enumerate(args[npos:]):
                v = values[src]
                if v is not NOEVENT:
                    kw[names[j]] = v
            return d.fns[node](*[values[src] for src, _ in args[:npos]], **kw)
        return d.fns[node](*[values[src] for src, _ in args])
    except StopIteration:
        if not d._flagbuf[node] & F_GENERATOR:
            raise
        return EXHAUSTED


class Driver:
    """One epoch of an event-driven runner. See ``_dispatch_c.Driver`` for the contract.

    The twin guards the state a worker thread's ``run_segment`` shares with the loop thread
    (``pending``, ``n_done``, ``exhausted``) with a lock: unlike the
    compiled twin's plain C, these Python statements can be interleaved between threads.
    """

    def __init__(self, dispatcher, scheduler, kinds, emit=None):
        n = scheduler.n
        self.dispatcher = dispatcher
        self.n = n
        self.kinds = _checks.driver_kinds(n, kinds, len(dispatcher.fns))
        self._kind = [int(k) for k in self.kinds]
        self._succ = scheduler._succ
        self._indeg = scheduler._indeg
        self._roots = scheduler._roots
        self._pending = [0] * n
        self._ring = [0] * max(n, 1)
        self._head = 0
        self._tail = 0
        self._ranbuf = bytearray(n)
        self.ran = np.frombuffer(self._ranbuf, dtype=np.uint8)
        self._lock = threading.Lock()
        self.emit = emit
        self.stop = False
        self.values = None
        self.node = -1
        self.n_done = n
        self.exhausted = 0

    @property
    def n_ready(self):
        return self._tail - self._head

    @property
    def remaining(self):
        """Nodes not yet done in this epoch (0 once every node is done)."""
        return self.n - self.n_done

    def start(self, values):
        """Begin an epoch over ``values``: nodes without predecessors are ready, in id order.

        ``values`` must hold every slot the dispatcher's tables name (``ValueError``)."""
        _checks.slot_table(values, self.dispatcher.n_slots)
        self.values = values
        self._pending = list(self._indeg)
        roots = self._roots
        self._ring[:len(roots)] = roots
        self._head = 0
        self._tail = len(roots)
        self.n_done = 0
        self.exhausted = 0
        self.node = -1
        self.stop = False
        return 0

    def _release(self, node):
        pending = self._pending
        ring = self._ring
        with self._lock:
            self.n_done += 1
            tail = self._tail
            for succ in self._succ[node]:
                pending[succ] -= 1
                if pending[succ] == 0:
                    ring[tail] = succ
                    tail += 1
            self._tail = tail  # after the slots are written: the loop thread reads up to tail

    def _release_chain(self, node):
        # _release for a segment: the released successors are returned, not queued
        pending = self._pending
        released = []
        with self._lock:
            self.n_done += 1
            for succ in self._succ[node]:
                pending[succ] -= 1
                if pending[succ] == 0:
                    released.append(succ)
        return released

    def _ran_node(self, node, result):
        if self.dispatcher._finish(node, self.values, result):
            self._ranbuf[node] = 0
            with self._lock:
                self.exhausted += 1
            return 1
        self._ranbuf[node] = 1
        return 0

    def step(self):
        """Run what the loop thread can; return the next node's work for the runner, or ``None``."""
        d = self.dispatcher
        values = self.values
        kinds = self._kind
        flags = d._flagbuf
        while self._head < self._tail:
            node = self._ring[self._head]
            self._head += 1
            self.node = node
            kind = kinds[node]
            if kind == KIND_REGION:
                self._release(node)
                continue
            if kind == KIND_GATE:
                return GATE
            if d._check(node, values) == CHECK_SKIP:
                self._ranbuf[node] = 0
                self._release(node)
                continue
            if kind == KIND_INLINE:
                if not self._ran_node(node, _call(d, node, values)):
                    if flags[node] & F_HOOK_AFTER and self.emit is not None:
                        self.emit(node)
                self._release(node)
                continue
            if kind == KIND_TASK:
                return _call(d, node, values)
            return SEGMENT if kind == KIND_THREAD else RUNNER
        return None

    def complete(self, node, result):
        """Node ``node`` returned ``result``: store it, emit, release its successors; then ``step()``."""
        _check_node(node, self.n)
        self.node = node
        if not self._ran_node(node, result):
            if self.dispatcher._flagbuf[node] & F_HOOK_AFTER and self.emit is not None:
                self.emit(node)
        self._release(node)
        return self.step()

    def release(self, node):
        """Node ``node`` is done without a result (the runner found it skipped); then ``step()``."""
        _check_node(node, self.n)
        self.node = node
        self._release(node)
        return self.step()

    def prepare(self, node):
        """``Dispatcher.prepare_call`` for this epoch (``ran`` 0 if skipped); the node is not released."""
        call = self.dispatcher.prepare_call(node, self.values)
        if call is None:
            self._ranbuf[node] = 0
        return call

    def run_segment(self, node, emitted, released):
        """In a worker thread: run ``node`` and the chain after it; ``None`` or ``(node, exc)``.

        Successors released but not run are appended to ``released`` (``resume`` queues them)."""
        _check_node(node, self.n)
        d = self.dispatcher
        values = self.values
        flags = d._flagbuf
        cur = node
        while cur >= 0:
            if d._check(cur, values) == CHECK_SKIP:
                self._ranbuf[cur] = 0
            else:
                try:
                    if not self._ran_node(cur, _call(d, cur, values)) and flags[cur] & F_HOOK_AFTER:
                        emitted.append(cur)
                except BaseException as exc:
                    return (cur, exc)
            out = self._release_chain(cur)
            if len(out) == 1 and self._kind[out[0]] == KIND_THREAD and not self.stop:
                cur = out[0]
                continue
            released.extend(out)
            cur = -1
        return None

    def resume(self, nodes):
        """Queue ``nodes`` (a segment's ``released``) as ready; then ``step()``."""
        for node in nodes:
            _check_node(node, self.n)
        for node in nodes:
            self._ring[self._tail] = node
            self._tail += 1
        return self.step()


# ---------------------------------------------------------------------------- the worker hand-off

_H_IDLE, _H_POSTED, _H_DONE, _H_CALLBACK = 0, 1, 2, 3
_NAP = 1.0  # an idle worker looks whether its loop was closed once a second


class Handoff:
    """Python: the compiled ``Handoff``'s calls and states, with blocking waits for its busy-waits.

    The loop thread waits for a call with ``acquire(timeout=spin)`` on a lock the worker
    releases (the GIL is free meanwhile); the worker sleeps on a semaphore between calls; one
    ``threading.Lock`` guards the state, where the compiled core uses atomics.
    """

    def __init__(self, loop: Any, spin: float = 1e-4, name: str = "noob-handoff"):
        if not spin >= 0:
            raise ValueError(f"spin must be a number of seconds >= 0, got {spin!r}")
        self.loop = loop
        self.name = name
        self._spin = float(spin)
        self._guard = threading.Lock()
        self._posted = threading.Semaphore(0)  # the worker waits on it for a call (or close)
        self._finished = threading.Semaphore(0)  # the loop thread waits on it, H_POSTED only
        self._state = _H_IDLE
        self._closing = False
        self._slow = False
        self._misses = 0  # the loop thread's own: waits that timed out in a row
        self._skip = 0  # waits to skip
        self._fn: Any = None
        self._args: tuple = ()
        self._result: Any = None
        self._ok = False
        self._future: Any = None
        self._thread: threading.Thread | None = None

    @property
    def idle(self) -> bool:
        return self._state == _H_IDLE and not self._closing

    @property
    def spin(self) -> float:
        return self._spin

    def call(self, fn: Any, args: tuple, wait: bool = True) -> Any:
        if type(args) is not tuple:
            raise TypeError(f"args must be a tuple, got {type(args).__name__}")
        if self._state != _H_IDLE or self._closing:
            raise RuntimeError("Handoff.call() while a call is in hand or after close()")
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
            self._thread.start()
        self._fn, self._args = fn, args
        wait = wait and self._spin > 0 and not self._slow
        if self._skip > 0:  # counts calls, waited for or not
            self._skip -= 1
            wait = False
        if not wait:
            future = self._future = self.loop.create_future()
            self._state = _H_CALLBACK
            self._posted.release()
            return future
        self._state = _H_POSTED
        self._posted.release()
        if self._finished.acquire(timeout=self._spin):
            self._misses = 0
            return None
        future = self.loop.create_future()
        with self._guard:
            if self._state == _H_POSTED:
                self._future, self._state = future, _H_CALLBACK
                self._misses = min(self._misses + 1, 6)
                self._skip = (1 << self._misses) - 1
                return future
        self._finished.acquire()  # H_DONE meanwhile: its release is on the way, or made
        self._misses = 0
        return None

    def take(self) -> Any:
        if self._state != _H_DONE:
            raise RuntimeError("Handoff.take() without a finished call")
        result, ok = self._result, self._ok
        self._result = None
        self._state = _H_IDLE
        if not ok:
            raise result
        return result

    def close(self) -> None:
        self._closing = True
        self._posted.release()
        self._thread = None

    def _serve(self) -> None:
        while True:
            if not self._posted.acquire(timeout=_NAP):
                if self.loop.is_closed():  # a runner never deinitialised: its thread goes
                    self._closing = True
                    return
                continue
            if not self._state & 1:  # woken by close()
                return
            fn, args = self._fn, self._args
            self._fn, self._args = None, ()
            t0 = time.perf_counter()
            try:
                self._result, self._ok = fn(*args), True
            except BaseException as exc:  # handed to the loop thread: take() or the future raises it
                self._result, self._ok = exc, False
            fn = None
            args = ()
            self._slow = time.perf_counter() - t0 > self._spin
            with self._guard:
                callback = self._state == _H_CALLBACK
                if not callback:
                    self._state = _H_DONE
            if callback:
                future, result, ok = self._future, self._result, self._ok
                self._future = self._result = None
                self._state = _H_IDLE
                try:
                    self.loop.call_soon_threadsafe(_resolve, future, ok, result)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    pass
                future = result = None
            else:
                self._finished.release()
            if self._closing:
                return


def _resolve(future: Any, ok: bool, result: Any) -> None:
    if future.done():  # cancelled meanwhile
        return
    if ok:
        future.set_result(result)
    else:
        future.set_exception(result)
