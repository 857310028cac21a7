"""Compiled core of noob: graph kernels and the per-epoch dispatch loop.

Python validates the tube (``noob.tube``'s builder) and allocates every table below with a
fixed dtype (``noob.plan``); this module only computes. It speaks integer ids: node ``i`` is the i-th node of the
plan, slot ``s`` the s-th entry of the slot table (a Python list the runner owns).

Slot table (``values``, a ``list``; regions laid out by ``noob.plan``):
    [signal slots | input slots | asset slots | epoch slot | constant slots]
    A signal slot holds the value a node emitted this epoch, or ``MetaSignal.NoEvent`` when
    it did not fire. Asset slots hold the asset objects; constants hold ``params`` values.

Per-node tables (``n`` nodes; CSR-style ``*_ptr`` arrays have ``n + 1`` entries):
    order      int32[k]    nodes in execution (topological) order
    flags      uint8[n]    C_ENABLED | C_GENERATOR | C_HOOK_BEFORE | C_HOOK_AFTER | C_EXHAUSTED
    arg_ptr    int32[n+1]  args of node i are arg_*[arg_ptr[i]:arg_ptr[i+1]]; positional first
    arg_src    int32[m]    slot feeding the argument
    arg_req    uint8[m]    1 if the node must be skipped when that slot holds NoEvent;
                           0 for an optional keyword, which is then left out of the call
    n_pos      int32[n]    how many of the node's args are positional; the rest are keywords
    kwnames    list[n]     tuple of keyword names of those keyword args (or None)
    out_ptr    int32[n+1]  signals of node i are out_slot[out_ptr[i]:out_ptr[i+1]]
    out_slot   int32[k]    slot each signal is written to
    store_ptr  int32[n+1]  runner-scope asset round trips fired by node i:
    store_src  int32[r]      when slot store_src fired, asset slot store_dst takes its value,
    store_dst  int32[r]      through ``deepcopy`` if store_copy is 1 (another node still
    store_copy uint8[r]      consumes the signal), else the object itself
    ran        uint8[n]    output: 1 if the node was called this epoch and emitted

Compiler directives are set once in setup.py (boundscheck/wraparound off): every public
entry (each ``def``/``cpdef`` below) first validates what it is given with ``_checks`` -- the
same functions the pure-Python twin calls, so a bad id or table raises the same exception on
both paths (``NotAddedError`` for a node id outside the graph, ``ValueError`` for malformed
tables or a short slot table). Past those checks every index comes from validated tables, so
bounds checks inside the loops would only re-verify them. ``NOOB_CYTHON_DEBUG=1`` turns them
back on.
"""

from cpython.mem cimport PyMem_Malloc, PyMem_Free
from cpython.object cimport PyObject
from cpython.list cimport PyList_GET_ITEM
from cpython.ref cimport Py_INCREF, Py_DECREF
from libc.stdint cimport int32_t, uint8_t

import numpy as np

from noob._core import _checks
from noob.exceptions import AlreadyDoneError, SignalMismatchError
from noob.types import MetaSignal

cdef extern from "Python.h":
    # New reference, NULL (-> exception) on error. Available since CPython 3.9.
    object PyObject_Vectorcall(object callable, PyObject** args, size_t nargsf, PyObject* kwnames)
    int PyList_SetItem(object lst, Py_ssize_t i, object item) except -1

NOEVENT = MetaSignal.NoEvent
EXHAUSTED = MetaSignal.Exhausted
cdef PyObject* _NOEVENT = <PyObject*>NOEVENT
cdef PyObject* _EXHAUSTED = <PyObject*>EXHAUSTED

F_ENABLED = C_ENABLED
F_GENERATOR = C_GENERATOR
F_HOOK_BEFORE = C_HOOK_BEFORE
F_HOOK_AFTER = C_HOOK_AFTER
F_EXHAUSTED = C_EXHAUSTED

# scheduler node states (mirrored as S_* in _dispatch_py.py)
STATE_WAITING = S_WAITING
STATE_READY = S_READY
STATE_DONE = S_DONE

IMPLEMENTATION = "compiled"


def csr(int n, src, dst):
    """CSR adjacency of ``n`` nodes from edge arrays: ``(indptr[n+1], indices[m])``.

    Successors of node ``i`` are ``indices[indptr[i]:indptr[i+1]]`` in edge order.
    Python: ``[[d for s, d in zip(src, dst) if s == i] for i in range(n)]``.
    """
    s_a, d_a = _checks.edges(n, src, dst)
    cdef int32_t[::1] s = s_a
    cdef int32_t[::1] d = d_a
    cdef Py_ssize_t m = s.shape[0], k
    indptr_a = np.zeros(n + 1, dtype=np.int32)
    indices_a = np.empty(m, dtype=np.int32)
    cdef int32_t[::1] indptr = indptr_a
    cdef int32_t[::1] indices = indices_a
    cdef int32_t[::1] fill
    for k in range(m):
        indptr[s[k] + 1] += 1
    for k in range(n):
        indptr[k + 1] += indptr[k]
    fill_a = indptr_a[:n].copy()
    fill = fill_a
    for k in range(m):
        indices[fill[s[k]]] = d[k]
        fill[s[k]] += 1
    return indptr_a, indices_a


def toposort(int n, indptr_in, indices_in):
    """Generation-by-generation Kahn sort: ``(order[int32], generation[int32], ok)``.

    Generation 0: nodes without predecessors, in id order; generation g+1: nodes released
    while generation g is processed, in release order. ``ok`` is False on a cycle (``order``
    then holds the sorted prefix; unsorted nodes keep generation -1).
    Python: see ``_dispatch_py.toposort``.
    """
    ip_a, ix_a = _checks.csr(n, indptr_in, indices_in)
    cdef int32_t[::1] indptr = ip_a
    cdef int32_t[::1] indices = ix_a
    indeg_a = np.zeros(n, dtype=np.int32)
    gen_a = np.full(n, -1, dtype=np.int32)
    order_a = np.empty(n, dtype=np.int32)
    cdef int32_t[::1] indeg = indeg_a
    cdef int32_t[::1] generation = gen_a
    cdef int32_t[::1] order = order_a
    cdef Py_ssize_t k, m = indices.shape[0]
    cdef int32_t node, succ, head = 0, tail = 0, gen_end, gen = 0
    for k in range(m):
        indeg[indices[k]] += 1
    # ``order`` doubles as the FIFO queue: [head, tail) is pending, a generation ends at gen_end
    for k in range(n):
        if indeg[k] == 0:
            order[tail] = <int32_t>k
            tail += 1
    gen_end = tail
    while head < tail:
        node = order[head]
        generation[node] = gen
        head += 1
        for k in range(indptr[node], indptr[node + 1]):
            succ = indices[k]
            indeg[succ] -= 1
            if indeg[succ] == 0:
                order[tail] = succ
                tail += 1
        if head == gen_end:
            gen += 1
            gen_end = tail
    return order_a[:tail].copy(), gen_a, tail == n


def find_cycle(int n, indptr_in, indices_in):
    """One cycle ``[a, b, ..., a]`` as node ids, or ``[]``; three-colour DFS from the lowest id."""
    ip_a, ix_a = _checks.csr(n, indptr_in, indices_in)
    cdef int32_t[::1] indptr = ip_a
    cdef int32_t[::1] indices = ix_a
    colour_a = np.zeros(n, dtype=np.int8)
    parent_a = np.full(n, -1, dtype=np.int32)
    stack_node_a = np.empty(n, dtype=np.int32)
    stack_k_a = np.empty(n, dtype=np.int32)
    cdef signed char[::1] colour = colour_a
    cdef int32_t[::1] parent = parent_a
    cdef int32_t[::1] stack_node = stack_node_a
    cdef int32_t[::1] stack_k = stack_k_a
    cdef int32_t root, node, k, succ, walk
    cdef Py_ssize_t top
    for root in range(n):
        if colour[root]:
            continue
        top = 0
        stack_node[0] = root
        stack_k[0] = indptr[root]
        colour[root] = 1
        while top >= 0:
            node = stack_node[top]
            k = stack_k[top]
            if k < indptr[node + 1]:
                stack_k[top] = k + 1
                succ = indices[k]
                if colour[succ] == 0:
                    colour[succ] = 1
                    parent[succ] = node
                    top += 1
                    stack_node[top] = succ
                    stack_k[top] = indptr[succ]
                elif colour[succ] == 1:
                    cycle = [succ]
                    walk = node
                    while walk != succ:
                        cycle.append(walk)
                        walk = parent[walk]
                    cycle.append(succ)
                    cycle.reverse()
                    return cycle
            else:
                colour[node] = 2
                top -= 1
    return []


def reachable(int n, indptr_in, indices_in, starts):
    """Mask ``uint8[n]``: 1 for every node reachable from ``starts`` (an id or a sequence of
    ids; the starts included). One DFS however many starts: O(n + m).

    On the reversed graph (``csr(n, dst, src)``) it gives every node that reaches ``starts``.
    Python: ``{v for s in starts for v in descendants(s) | {s}}`` as a mask.
    """
    ip_a, ix_a = _checks.csr(n, indptr_in, indices_in)
    start_a = np.asarray(starts, dtype=np.int64).reshape(-1)
    for x in start_a:
        _checks.node_id(int(x), n)
    cdef int32_t[::1] indptr = ip_a
    cdef int32_t[::1] indices = ix_a
    seen_a = np.zeros(n, dtype=np.uint8)
    stack_a = np.empty(max(n, 1), dtype=np.int32)
    cdef uint8_t[::1] seen = seen_a
    cdef int32_t[::1] stack = stack_a
    cdef Py_ssize_t top = -1
    cdef int32_t node, k, succ
    for x in start_a:
        node = <int32_t>x
        if not seen[node]:
            seen[node] = 1
            top += 1
            stack[top] = node
    while top >= 0:
        node = stack[top]
        top -= 1
        for k in range(indptr[node], indptr[node + 1]):
            succ = indices[k]
            if not seen[succ]:
                seen[succ] = 1
                top += 1
                stack[top] = succ
    return seen_a


cdef inline void _set(list values, Py_ssize_t i, object v):
    # list.__setitem__ without the Python-level call; ``values`` is never resized while an
    # epoch runs and ``i`` comes from a plan-checked table.
    Py_INCREF(v)  # PyList_SetItem steals a reference: give it one first
    PyList_SetItem(values, i, v)


cdef inline int _check_node(Py_ssize_t node, Py_ssize_t n) except -1:
    # the one bounds check of the Python-facing per-node methods: ids come from callers
    # outside this module, and with boundscheck off a bad id would read out of bounds.
    # Inline comparison first; the shared ``_checks`` composes the (same) error.
    if node < 0 or node >= n:
        _checks.node_id(node, n)
    return 0


cdef inline int _check_values(Dispatcher d, list values) except -1:
    # every slot the tables name exists in ``values`` (one comparison per call)
    if len(values) < d.n_slots:
        _checks.slot_table(values, d.n_slots)
    return 0


# _check's verdict on a node (plain ints: they never leave this module)
cdef enum:
    CHECK_SKIP = 0    # do not call: outputs set to NoEvent, ran = 0
    CHECK_DENSE = 1   # call with every argument
    CHECK_SPARSE = 2  # call, leaving out optional keywords whose slot holds NoEvent


cdef inline void _skip(Dispatcher d, int32_t node, list values):
    # outputs := NoEvent, ran := 0 (a skipped, disabled or exhausted node)
    cdef Py_ssize_t k
    d._ran[node] = 0
    for k in range(d._out_ptr[node], d._out_ptr[node + 1]):
        _set(values, d._out_slot[k], NOEVENT)


cdef inline int _check(Dispatcher d, int32_t node, list values) except -1:
    """Decide whether ``node`` runs this epoch; skip it (``_skip``) if not. Shared by ``run``
    and ``prepare_call`` so both paths take the same decision.

    Python: skip if disabled or exhausted or any required arg slot holds NoEvent; else
    CHECK_SPARSE if an optional keyword slot holds NoEvent, else CHECK_DENSE.
    """
    cdef uint8_t f = d._flags[node]
    cdef Py_ssize_t k
    cdef int status = CHECK_DENSE
    if not (f & C_ENABLED) or (f & C_EXHAUSTED):
        _skip(d, node, values)
        return CHECK_SKIP
    for k in range(d._arg_ptr[node], d._arg_ptr[node + 1]):
        if <PyObject*>PyList_GET_ITEM(values, d._arg_src[k]) == _NOEVENT:
            if d._arg_req[k]:
                _skip(d, node, values)
                return CHECK_SKIP
            status = CHECK_SPARSE
    return status


cdef inline int _finish(Dispatcher d, int32_t node, list values, object result) except -1:
    """Store what ``node`` returned; 1 if it was ``Exhausted`` (node flagged, outputs NoEvent).

    Python: on Exhausted set C_EXHAUSTED and skip; else ran := 1, scatter ``result`` over the
    node's signal slots, then fire its asset round trips (``store_*``; NoEvent never stores).
    """
    cdef Py_ssize_t k, o0 = d._out_ptr[node], o1 = d._out_ptr[node + 1]
    cdef PyObject* v
    if <PyObject*>result == _EXHAUSTED:
        d._flags[node] |= C_EXHAUSTED
        _skip(d, node, values)
        return 1
    d._ran[node] = 1
    if o1 - o0 == 1:
        _set(values, d._out_slot[o0], result)
    elif o1 > o0:
        d._scatter(node, values, o0, o1, result)
    for k in range(d._store_ptr[node], d._store_ptr[node + 1]):
        v = <PyObject*>PyList_GET_ITEM(values, d._store_src[k])
        if v != _NOEVENT:
            if d._store_copy[k]:
                _set(values, d._store_dst[k], d.deepcopy(<object>v))
            else:
                _set(values, d._store_dst[k], <object>v)
    return 0


cdef class Dispatcher:
    """Runs one epoch over the plan's tables (see the module docstring for every field).

    ``hook_before(node)`` / ``hook_after(node)`` are Python callables invoked around nodes
    flagged C_HOOK_BEFORE / C_HOOK_AFTER (node-scoped assets, callbacks). ``current`` is the
    node being run, so the runner can name it when a node raises.
    """

    def __cinit__(self):
        self._buf = NULL
        self._buf_len = 0

    def __init__(self, list fns, order, flags, arg_ptr, arg_src, arg_req, n_pos, list kwnames,
                 out_ptr, out_slot, store_ptr, store_src, store_dst, store_copy, deepcopy):
        cdef Py_ssize_t n = len(fns), i, widest = 1
        self.n_slots = _checks.dispatcher_tables(n, order, flags, arg_ptr, arg_src, n_pos, kwnames, out_ptr,
                                                 out_slot, store_ptr, store_src, store_dst, store_copy, arg_req)
        self.fns = fns
        self.order = np.ascontiguousarray(order, dtype=np.int32)
        self.flags = np.ascontiguousarray(flags, dtype=np.uint8)
        self.arg_ptr = np.ascontiguousarray(arg_ptr, dtype=np.int32)
        self.arg_src = np.ascontiguousarray(arg_src, dtype=np.int32)
        self.arg_req = np.ascontiguousarray(arg_req, dtype=np.uint8)
        self.n_pos = np.ascontiguousarray(n_pos, dtype=np.int32)
        self.kwnames = kwnames
        self.out_ptr = np.ascontiguousarray(out_ptr, dtype=np.int32)
        self.out_slot = np.ascontiguousarray(out_slot, dtype=np.int32)
        self.store_ptr = np.ascontiguousarray(store_ptr, dtype=np.int32)
        self.store_src = np.ascontiguousarray(store_src, dtype=np.int32)
        self.store_dst = np.ascontiguousarray(store_dst, dtype=np.int32)
        self.store_copy = np.ascontiguousarray(store_copy, dtype=np.uint8)
        self.ran = np.zeros(n, dtype=np.uint8)
        self.deepcopy = deepcopy
        self.hook_before = None
        self.hook_after = None
        self.current = -1
        self.n_exhausted_now = 0
        self.item_index = -1
        self._order = self.order
        self._flags = self.flags
        self._arg_ptr = self.arg_ptr
        self._arg_src = self.arg_src
        self._arg_req = self.arg_req
        self._n_pos = self.n_pos
        self._out_ptr = self.out_ptr
        self._out_slot = self.out_slot
        self._store_ptr = self.store_ptr
        self._store_src = self.store_src
        self._store_dst = self.store_dst
        self._store_copy = self.store_copy
        self._ran = self.ran
        for i in range(n):
            widest = max(widest, self._arg_ptr[i + 1] - self._arg_ptr[i])
        self._buf = <PyObject**>PyMem_Malloc(widest * sizeof(PyObject*))
        if self._buf == NULL:
            raise MemoryError()
        self._buf_len = widest

    def __dealloc__(self):
        PyMem_Free(self._buf)

    def run_each(self, list values, items, Py_ssize_t value_slot, int ret, Py_ssize_t ret_slot):
        """Run the order once per element of ``items``, the element in ``value_slot`` (a map).

        Returns the values of slot ``ret_slot`` from the runs where node ``ret`` ran (``[]``
        when ``ret`` < 0). ``item_index`` is the element being run, so the runner can name the
        sub-epoch when a node raises. Python: ``for k, item in enumerate(items):
        values[value_slot] = item; self.run(values); if ran[ret]: out.append(values[ret_slot])``.
        """
        cdef list collected = []
        cdef Py_ssize_t k = 0
        _check_values(self, values)
        _checks.slot("value_slot", value_slot, values)
        if ret >= 0:
            _check_node(ret, self._flags.shape[0])
            _checks.slot("ret_slot", ret_slot, values)
        for item in items:
            self.item_index = k
            _set(values, value_slot, item)
            self.run(values)
            if ret >= 0 and self._ran[ret]:
                collected.append(<object>PyList_GET_ITEM(values, ret_slot))
            k += 1
        self.item_index = -1
        return collected

    def set_flag(self, int node, int bit, bint on):
        """Set or clear the flag bits ``bit`` (a uint8 mask) of ``node``."""
        _check_node(node, self._flags.shape[0])
        _checks.flag_bit(bit)
        if on:
            self._flags[node] |= bit
        else:
            self._flags[node] &= ~bit & 0xFF

    cpdef int run(self, list values) except -1:
        """Run every node of ``order`` once against the slot table ``values``.

        Python: for each node in order: skip (outputs := NoEvent) if disabled, exhausted or a
        required slot holds NoEvent; else call ``fns[node](*pos, **kw)``, write the result to
        its signal slots, fire asset round trips, and call the hooks. Returns the number of
        generator nodes that ran out this epoch.
        """
        cdef Py_ssize_t oi, k, a0, a1, npos, nkw, j, n_order = self._order.shape[0]
        cdef int32_t node
        cdef uint8_t f
        cdef int status
        cdef PyObject* v
        cdef PyObject** buf = self._buf
        cdef object fn, result, names, kw_tuple
        cdef int exhausted_now = 0
        _check_values(self, values)
        for oi in range(n_order):
            node = self._order[oi]
            self.current = node
            status = _check(self, node, values)
            if status == CHECK_SKIP:
                continue
            f = self._flags[node]
            if f & C_HOOK_BEFORE:
                self.hook_before(node)
            fn = self.fns[node]
            a0 = self._arg_ptr[node]
            a1 = self._arg_ptr[node + 1]
            npos = self._n_pos[node]
            nkw = (a1 - a0) - npos
            try:
                if nkw == 0:
                    for k in range(a0, a1):
                        buf[k - a0] = <PyObject*>PyList_GET_ITEM(values, self._arg_src[k])
                    result = PyObject_Vectorcall(fn, buf, <size_t>(a1 - a0), NULL)
                elif status == CHECK_DENSE:
                    # every keyword present: the node's precomputed kwnames tuple applies
                    for k in range(a0, a1):
                        buf[k - a0] = <PyObject*>PyList_GET_ITEM(values, self._arg_src[k])
                    names = self.kwnames[node]
                    result = PyObject_Vectorcall(fn, buf, <size_t>npos, <PyObject*>names)
                else:
                    # optional keywords missing: build the kwnames tuple of the present ones
                    names = self.kwnames[node]
                    present = []
                    j = 0
                    for k in range(a0, a1):
                        v = <PyObject*>PyList_GET_ITEM(values, self._arg_src[k])
                        if k - a0 < npos:
                            buf[j] = v
                            j += 1
                        elif v != _NOEVENT:
                            buf[j] = v
                            j += 1
                            present.append(names[k - a0 - npos])
                    kw_tuple = tuple(present)
                    result = PyObject_Vectorcall(fn, buf, <size_t>npos, <PyObject*>kw_tuple)
            except StopIteration:
                if not f & C_GENERATOR:
                    raise
                result = EXHAUSTED
            if _finish(self, node, values, result):
                exhausted_now += 1
                continue
            if f & C_HOOK_AFTER:
                self.hook_after(node)
        self.current = -1
        self.n_exhausted_now = exhausted_now
        return exhausted_now

    cpdef object prepare_call(self, int node, list values):
        """The call of one node, for runners that call nodes themselves (``AsyncRunner``).

        ``None`` if ``node`` is skipped this epoch -- disabled, exhausted, or a required slot
        holds NoEvent -- with its signal slots set to NoEvent and ``ran[node] = 0``, exactly
        as ``run`` would; else ``(args, kwargs)``: call ``fns[node](*args, **kwargs)`` (an
        optional keyword whose slot holds NoEvent is left out). Hooks are not called: the
        caller does what ``hook_before`` would.
        Python: ``None if skipped else (tuple(pos values), {name: value for present kw})``.
        """
        cdef int status
        cdef Py_ssize_t k, a0, a1, npos
        cdef PyObject* v
        cdef dict kwargs
        cdef tuple names
        _check_node(node, self._flags.shape[0])
        _check_values(self, values)
        status = _check(self, <int32_t>node, values)
        if status == CHECK_SKIP:
            return None
        a0 = self._arg_ptr[node]
        a1 = self._arg_ptr[node + 1]
        npos = self._n_pos[node]
        args = tuple([<object>PyList_GET_ITEM(values, self._arg_src[k]) for k in range(a0, a0 + npos)])
        kwargs = {}
        if a1 - a0 > npos:
            names = self.kwnames[node]
            for k in range(a0 + npos, a1):
                v = <PyObject*>PyList_GET_ITEM(values, self._arg_src[k])
                if v != _NOEVENT:
                    kwargs[names[k - a0 - npos]] = <object>v
        return (args, kwargs)

    cpdef int finish(self, int node, list values, object result) except -1:
        """Store what ``node`` returned, as ``run`` does after a call; 1 if it ran out.

        ``result`` is the node's return value, or ``Exhausted`` for a generator node whose
        call raised ``StopIteration``. Scatters it over the node's signal slots and fires its
        asset round trips; on ``Exhausted`` flags the node C_EXHAUSTED, sets its outputs to
        NoEvent and returns 1. Hooks are not called.
        """
        _check_node(node, self._flags.shape[0])
        _check_values(self, values)
        return _finish(self, <int32_t>node, values, result)

    cdef int _scatter(self, int32_t node, list values, Py_ssize_t o0, Py_ssize_t o1, object result) except -1:
        # one value per signal: a tuple or list of exactly o1 - o0 values, or NoEvent for all.
        # Anything else raises SignalMismatchError with integers only (node id, counts, type
        # name); the runner names the node and epoch (SignalMismatchError.locate).
        # Python: ``for s, v in zip(out_slots, result, strict=True): values[s] = v``.
        cdef Py_ssize_t k, n_items
        cdef tuple items
        if <PyObject*>result == _NOEVENT:
            for k in range(o0, o1):
                _set(values, self._out_slot[k], NOEVENT)
            return 0
        if isinstance(result, tuple):
            items = <tuple>result
        elif isinstance(result, list):
            items = tuple(<list>result)
        else:
            raise SignalMismatchError(node, o1 - o0, -1, type(result).__name__)
        n_items = len(items)
        if n_items != o1 - o0:
            raise SignalMismatchError(node, o1 - o0, n_items, type(result).__name__)
        for k in range(o0, o1):
            _set(values, self._out_slot[k], items[k - o0])
        return 0


cdef class Scheduler:
    """Ready/done bookkeeping of one epoch over a CSR graph, for event-driven runners.

    A small state machine in the manner of ``graphlib.TopologicalSorter``: ``start()``
    begins an epoch and returns the nodes without predecessors; ``done(node)`` marks a
    ready node finished and returns the successors it released (those whose last
    predecessor it was). Every node becomes ready exactly once per epoch -- a node the
    runner skips is still ``done`` so that its successors are released (and skipped in
    turn by ``Dispatcher.prepare_call`` if they required its signals).

    Fields:
        n          int           number of nodes
        indptr     int32[n+1]    CSR successors: node i -> indices[indptr[i]:indptr[i+1]]
        indices    int32[m]        (duplicate edges count once each, on both sides)
        indegree   int32[n]      predecessor edges of each node
        n_done     int           nodes marked done in the current epoch
        state      uint8[n]      (property, a copy) S_WAITING / S_READY / S_DONE per node
        pending    int32[n]      (property, a copy) predecessor edges not yet done

    Python: see ``_dispatch_py.Scheduler`` (lists instead of typed buffers).
    """

    def __init__(self, int n, indptr, indices):
        cdef Py_ssize_t k
        self.n = n
        self.indptr, self.indices = _checks.csr(n, indptr, indices)
        self._indptr = self.indptr
        self._indices = self.indices
        self.indegree = np.zeros(n, dtype=np.int32)
        self._indeg = self.indegree
        for k in range(self._indices.shape[0]):
            self._indeg[self._indices[k]] += 1
        self._pending = np.zeros(n, dtype=np.int32)
        self._state = np.full(n, S_DONE, dtype=np.uint8)
        self.n_done = n

    @property
    def state(self):
        return np.asarray(self._state).copy()

    @property
    def pending(self):
        return np.asarray(self._pending).copy()

    @property
    def remaining(self):
        """Nodes not yet done in this epoch (0 once every node is done)."""
        return self.n - self.n_done

    cpdef list start(self):
        """Begin an epoch: every node waits on its predecessors; return the ready ones.

        May be called again at any time to abandon the current epoch. The ready nodes come
        in id order (the plan's generation 0).
        Python: ``[i for i in range(n) if indegree[i] == 0]``.
        """
        cdef Py_ssize_t i
        cdef list ready = []
        for i in range(self.n):
            self._pending[i] = self._indeg[i]
            if self._indeg[i] == 0:
                self._state[i] = S_READY
                ready.append(i)
            else:
                self._state[i] = S_WAITING
        self.n_done = 0
        return ready

    cpdef list done(self, int node):
        """Mark ready ``node`` done; return the successors it released, in edge order.

        Raises ``AlreadyDoneError`` if ``node`` is already done this epoch and
        ``ValueError`` if it is still waiting for a predecessor.
        Python: ``for s in succ(node): pending[s] -= 1; release s if pending[s] == 0``.
        """
        cdef Py_ssize_t k
        cdef int32_t succ
        cdef list released = []
        _check_node(node, self.n)
        if self._state[node] != S_READY:
            _not_ready(node, self._state[node])
        self._state[node] = S_DONE
        self.n_done += 1
        for k in range(self._indptr[node], self._indptr[node + 1]):
            succ = self._indices[k]
            self._pending[succ] -= 1
            if self._pending[succ] == 0:
                self._state[succ] = S_READY
                released.append(succ)
        return released


cdef int _not_ready(int node, int state) except -1:
    if state == S_DONE:
        raise AlreadyDoneError(f"node {node} is already done in this epoch")
    raise ValueError(f"node {node} is not ready: {node} still waits for a predecessor")
