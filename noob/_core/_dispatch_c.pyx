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
                           | C_NATIVE (kept by set_native; the pure twin's loop tests it)
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
    native     uint8[n]    N_CALL, or the special node ``run`` carries out itself (set_native)
                           (N_NEXT: aux[node] is the source's iterator; N_MAP: the
                           Dispatcher of the map's region)
    gather_n   int32[n]    N_GATHER: emit every gather_n values; 0: the count is arg 1's value
    aux        list[n]     N_GATHER: the list collecting values (shared with the ``Gather``
                           node, which empties it in place); None otherwise

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
from cpython.list cimport PyList_GET_ITEM, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF, Py_DECREF, Py_TYPE, Py_XDECREF
from libc.stdint cimport int32_t, uint8_t

import numpy as np

from noob._core import _checks
from noob.exceptions import AlreadyDoneError, SignalMismatchError
from noob.types import MetaSignal

cdef extern from "Python.h":
    # New reference, NULL (-> exception) on error. Available since CPython 3.9.
    object PyObject_Vectorcall(object callable, PyObject** args, size_t nargsf, PyObject* kwnames)
    int PyList_SetItem(object lst, Py_ssize_t i, object item) except -1
    # New reference; NULL at the end of the iterator (no error set) or on error (set)
    PyObject* PyIter_Next(object it)
    PyObject* PyErr_Occurred()

NOEVENT = MetaSignal.NoEvent
EXHAUSTED = MetaSignal.Exhausted
cdef PyObject* _NOEVENT = <PyObject*>NOEVENT
cdef PyObject* _EXHAUSTED = <PyObject*>EXHAUSTED

F_ENABLED = C_ENABLED
F_GENERATOR = C_GENERATOR
F_HOOK_BEFORE = C_HOOK_BEFORE
F_HOOK_AFTER = C_HOOK_AFTER
F_EXHAUSTED = C_EXHAUSTED
F_NATIVE = C_NATIVE

NATIVE_CALL = N_CALL
NATIVE_GATHER = N_GATHER
NATIVE_RET_SCALAR = N_RET_SCALAR
NATIVE_RET_TUPLE = N_RET_TUPLE
NATIVE_RET_DICT = N_RET_DICT
NATIVE_RET_BOTH = N_RET_BOTH
NATIVE_NEXT = N_NEXT
NATIVE_MAP = N_MAP

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
    # list.__setitem__ without the Python-level call, and without PyList_SetItem's type and
    # index checks: ``values`` is never resized while an epoch runs and ``i`` comes from a
    # plan-checked table. The old item is released last (its __del__ may run code).
    cdef PyObject* old = PyList_GET_ITEM(values, i)
    Py_INCREF(v)
    PyList_SET_ITEM(values, i, v)
    Py_XDECREF(old)


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


cdef int _propagate() except -1:
    # the error indicator is set: returning -1 makes the caller raise it
    return -1


cdef object _map(Dispatcher d, int32_t node, list values):
    """N_MAP: run the region's dispatcher ``aux[node]`` once per element of a non-empty list or
    tuple, the element in the map's ``value`` slot, its length in ``n``; return ``(last
    element, n)`` for the map's two signals. Anything else (another iterable, an empty list)
    goes to ``fns[node]``, the runner's own map callable. On an error the region dispatcher's
    ``current`` and ``item_index`` name the node and element. Python: ``items = list(v);
    values[n_slot] = len(items); for k, x in enumerate(items): sub.item_index = k;
    values[value_slot] = x; sub.run(values)``.
    """
    cdef Dispatcher sub = <Dispatcher>d.aux[node]
    cdef Py_ssize_t k, n, o0 = d._out_ptr[node]
    cdef object value = <object>PyList_GET_ITEM(values, d._arg_src[d._arg_ptr[node]])
    cdef list items
    sub.current = -1
    if type(value) is list:
        items = (<list>value)[:]  # a copy: a node may change the list it is mapped over
    elif type(value) is tuple:
        items = list(<tuple>value)
    else:
        return d.fns[node](value)
    n = len(items)
    if n == 0:
        return d.fns[node](value)
    _set(values, d._out_slot[o0 + 1], n)
    for k in range(n):
        sub.item_index = k
        _set(values, d._out_slot[o0], items[k])
        sub.run(values)
    sub.item_index = -1
    return (items[n - 1], n)


cdef object _native(Dispatcher d, int32_t node, list values):
    """What the special node ``node`` emits this epoch (``d._native[node]``), computed here
    rather than by a Python call. No user code runs. ``_check`` has passed: required args hold
    values; an optional keyword may hold NoEvent (left out, as in a call).

    Python: N_NEXT ``next(aux[node], Exhausted)``; N_GATHER ``items.append(arg0); target = gather_n or arg1; if len(items) < target:
    NoEvent else (out := items[:], items.clear(), out)``; returns: ``arg0``, ``tuple(pos)``,
    ``{k: v for present kw} or None``, ``(tuple(pos), dict(kw))``.
    """
    cdef Py_ssize_t k, a0 = d._arg_ptr[node], a1 = d._arg_ptr[node + 1], npos = d._n_pos[node]
    cdef Py_ssize_t target, have
    cdef uint8_t kind = d._native[node]
    cdef PyObject* v
    cdef list items
    cdef tuple pos, names
    cdef dict kw
    if kind == N_GATHER:
        items = <list>d.aux[node]
        items.append(<object>PyList_GET_ITEM(values, d._arg_src[a0]))
        target = d._gather_n[node]
        if target == 0:
            # the count from arg 1 (a map's ``n``); NoEvent: no count, collect only (as Gather)
            v = <PyObject*>PyList_GET_ITEM(values, d._arg_src[a0 + 1])
            if v == _NOEVENT:
                return NOEVENT
            target = <object>v
        have = len(items)
        if have < target:
            return NOEVENT
        out = items[:]
        del items[:]
        return out
    if kind == N_NEXT:
        # tp_iternext itself, without the bound ``__next__`` wrapper and, at the end, without
        # creating and catching a StopIteration
        v = PyIter_Next(d.aux[node])
        if v == NULL:
            if PyErr_Occurred() != NULL:
                _propagate()
            return EXHAUSTED
        out = <object>v
        Py_DECREF(out)  # PyIter_Next gave a new reference; ``out`` took its own
        return out
    if kind == N_MAP:
        return _map(d, node, values)
    if kind == N_RET_SCALAR:
        return <object>PyList_GET_ITEM(values, d._arg_src[a0])
    pos = tuple([<object>PyList_GET_ITEM(values, d._arg_src[k]) for k in range(a0, a0 + npos)])
    if kind == N_RET_TUPLE:
        return pos
    kw = {}
    if a1 - a0 > npos:
        names = <tuple>d.kwnames[node]
        for k in range(a0 + npos, a1):
            v = <PyObject*>PyList_GET_ITEM(values, d._arg_src[k])
            if v != _NOEVENT:
                kw[names[k - a0 - npos]] = <object>v
    if kind == N_RET_DICT:
        return kw or None
    return (pos, kw)


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
        self.native = np.zeros(n, dtype=np.uint8)
        self.gather_n = np.zeros(n, dtype=np.int32)
        self.aux = [None] * n
        self._native = self.native
        self._gather_n = self.gather_n
        self.ret_slot = -1
        self.on_exhausted = None
        self.batch_type = None
        self.shape = None
        self.epochs = 0
        self._last_epoch = -1
        self.epoch_slot = -1
        self.reset = np.zeros(0, dtype=np.int32)
        self._reset = self.reset
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

        Returns ``(k, value of slot ret_slot)`` for each element ``k`` whose run ran node
        ``ret`` (``[]`` when ``ret`` < 0). ``item_index`` is the element being run, so the
        runner can name the sub-epoch when a node raises. Python: ``for k, item in
        enumerate(items): values[value_slot] = item; self.run(values); if ran[ret]:
        out.append((k, values[ret_slot]))``.
        """
        cdef list collected = []
        cdef Py_ssize_t k = 0
        _check_values(self, values)
        if value_slot < 0 or value_slot >= len(values):  # compare inline; _checks composes the error
            _checks.slot("value_slot", value_slot, values)
        if ret >= 0:
            _check_node(ret, self._flags.shape[0])
            if ret_slot < 0 or ret_slot >= len(values):
                _checks.slot("ret_slot", ret_slot, values)
        for item in items:
            self.item_index = k
            _set(values, value_slot, item)
            self.run(values)
            if ret >= 0 and self._ran[ret]:
                collected.append((k, <object>PyList_GET_ITEM(values, ret_slot)))
            k += 1
        self.item_index = -1
        return collected

    def set_native(self, int node, int kind, aux=None, int gather_n=0):
        """Have ``run`` carry out ``node`` itself (``kind``: a ``NATIVE_*`` constant) instead of
        calling ``fns[node]``; ``NATIVE_CALL`` undoes it. ``aux``/``gather_n``: see the tables.
        The runner sets it for special nodes whose behaviour it knows (``gather``, ``return``);
        ``prepare_call`` and the Driver keep calling ``fns[node]``, which must do the same.
        """
        _check_node(node, self._flags.shape[0])
        _checks.native(kind, aux, gather_n, self._arg_ptr[node + 1] - self._arg_ptr[node], self._n_pos[node],
                       self._out_ptr[node + 1] - self._out_ptr[node], type(self))
        self._native[node] = kind
        self._gather_n[node] = gather_n
        self.aux[node] = aux
        if kind != N_CALL:
            self._flags[node] |= C_NATIVE
        else:
            self._flags[node] &= ~C_NATIVE & 0xFF

    def set_result(self, Py_ssize_t ret_slot, on_exhausted=None, batch_type=None, shape=None,
                   Py_ssize_t epoch_slot=-1, reset=()):
        """What ``epoch`` does around ``run``. Before: write the epoch number to ``epoch_slot``
        (-1: not at all) and NoEvent to every slot of ``reset`` (the slots of map regions).
        After: return the value of slot ``ret_slot`` (-1: always None), NoEvent as None, a
        value of type ``batch_type`` passed through ``shape``; ``on_exhausted()`` is called
        after an epoch in which a generator ran out."""
        reset_a = np.ascontiguousarray(reset, dtype=np.int32).reshape(-1)
        highest = max(ret_slot, epoch_slot, int(reset_a.max()) if len(reset_a) else -1)
        if len(reset_a) and int(reset_a.min()) < 0:
            raise ValueError("reset holds a negative slot")
        if highest >= self.n_slots:
            self.n_slots = highest + 1  # _check_values then covers them at every epoch
        self.ret_slot = -1 if ret_slot < 0 else ret_slot
        self.epoch_slot = -1 if epoch_slot < 0 else epoch_slot
        self.reset = reset_a
        self._reset = reset_a
        self.on_exhausted = on_exhausted
        self.batch_type = batch_type
        self.shape = shape

    @property
    def last_epoch(self):
        """The number of the epoch ``epoch`` began last; None before the first (settable)."""
        return None if self._last_epoch < 0 else self._last_epoch

    @last_epoch.setter
    def last_epoch(self, value):
        self._last_epoch = -1 if value is None else value

    cpdef object epoch(self, list values):
        """Count one epoch, ``run(values)``, then what a runner's ``process()`` returns (see
        ``set_result``). ``epochs`` is the number of the next epoch, ``last_epoch`` the one
        begun last (set before the run, so it names a failed epoch too): the synchronous
        runner keeps its epoch counters here, so its per-epoch Python code stores nothing.

        Python: ``self.last_epoch = self.epochs; values[epoch_slot] = self.epochs (if set); for
        s in reset: values[s] = NoEvent; self.epochs += 1; if self.run(values) and
        on_exhausted: on_exhausted(); r = values[ret_slot] if ret_slot >= 0 else NoEvent;
        return None if r is NoEvent else shape(r) if type(r) is batch_type else r``.
        """
        cdef PyObject* r
        cdef Py_ssize_t k
        _check_values(self, values)
        self._last_epoch = self.epochs
        if self.epoch_slot >= 0:
            _set(values, self.epoch_slot, self.epochs)
        for k in range(self._reset.shape[0]):
            _set(values, self._reset[k], NOEVENT)
        self.epochs += 1
        if self.run(values) and self.on_exhausted is not None:
            self.on_exhausted()
        if self.ret_slot < 0:
            return None
        r = <PyObject*>PyList_GET_ITEM(values, self.ret_slot)
        if r == _NOEVENT:
            return None
        if self.batch_type is not None and <PyObject*>Py_TYPE(<object>r) == <PyObject*>self.batch_type:
            return self.shape(<object>r)
        return <object>r

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
            if self._native[node] != N_CALL:
                if _finish(self, node, values, _native(self, node, values)):
                    exhausted_now += 1
                    continue
                if f & C_HOOK_AFTER:
                    self.hook_after(node)
                continue
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

KIND_INLINE = K_INLINE
KIND_THREAD = K_THREAD
KIND_TASK = K_TASK
KIND_RUNNER = K_RUNNER
KIND_REGION = K_REGION
KIND_GATE = K_GATE


cdef object _call(Dispatcher d, int32_t node, list values, int status):
    """Call ``fns[node]`` with its arguments from ``values`` (``status``: ``_check``'s verdict,
    CHECK_DENSE or CHECK_SPARSE); ``Exhausted`` if a generator node raised StopIteration.

    The call sequence of ``Dispatcher.run``, for the Driver. Python: ``fns[node](*pos, **kw)``.
    """
    cdef Py_ssize_t width = d._arg_ptr[node + 1] - d._arg_ptr[node]
    cdef PyObject* small[32]
    cdef PyObject** buf
    # the argument vector lives on the stack (up to 32 args) or in a buffer of this call, not
    # in ``d._buf``: a worker thread and the loop thread may be calling at the same time
    if width <= 32:
        return _call_with(d, node, values, status, small)
    buf = <PyObject**>PyMem_Malloc(width * sizeof(PyObject*))
    if buf == NULL:
        raise MemoryError()
    try:
        return _call_with(d, node, values, status, buf)
    finally:
        PyMem_Free(buf)


cdef object _call_with(Dispatcher d, int32_t node, list values, int status, PyObject** buf):
    # fill ``buf`` with owned references (another thread may overwrite a slot meanwhile, e.g.
    # an asset round trip: a borrowed argument could be freed during the call), call, release
    cdef Py_ssize_t k, j = 0, a0 = d._arg_ptr[node], a1 = d._arg_ptr[node + 1]
    cdef Py_ssize_t npos = d._n_pos[node]
    cdef PyObject* v
    cdef object fn = d.fns[node], names = None, kw_tuple = None
    cdef list present
    if a1 - a0 > npos:
        names = d.kwnames[node]
        if status == CHECK_SPARSE:
            present = []
            for k in range(a0 + npos, a1):
                if <PyObject*>PyList_GET_ITEM(values, d._arg_src[k]) != _NOEVENT:
                    present.append(names[k - a0 - npos])
            kw_tuple = tuple(present)
        else:
            kw_tuple = names
    for k in range(a0, a1):
        v = <PyObject*>PyList_GET_ITEM(values, d._arg_src[k])
        if k - a0 >= npos and v == _NOEVENT:
            continue  # an optional keyword that did not fire (only when CHECK_SPARSE)
        Py_INCREF(<object>v)
        buf[j] = v
        j += 1
    try:
        if kw_tuple is None:
            return PyObject_Vectorcall(fn, buf, <size_t>j, NULL)
        return PyObject_Vectorcall(fn, buf, <size_t>npos, <PyObject*>kw_tuple)
    except StopIteration:
        if not d._flags[node] & C_GENERATOR:
            raise
        return EXHAUSTED
    finally:
        for k in range(j):
            Py_DECREF(<object>buf[k])


cdef class Driver:
    """One epoch of an event-driven runner: ready/done bookkeeping plus the calls the loop
    thread can make inline, so the runner's Python loop only sees what it must handle.

    ``start(values)`` begins an epoch over the slot table ``values``. ``step()`` takes ready
    nodes in FIFO order: it marks ``K_REGION`` nodes done, skips nodes ``_check`` skips (their
    outputs NoEvent, ``ran`` 0, released at once), runs ``K_INLINE`` nodes right there, and
    returns at the first node the runner must handle -- an ``async def`` node's coroutine
    (``K_TASK``), ``SEGMENT`` (``K_THREAD``), ``RUNNER`` (``K_RUNNER``) or ``GATE`` (``K_GATE``,
    not even checked) -- with ``node`` set to it; ``None`` when nothing is ready. The runner
    reports back with ``complete(node, result)`` (or ``release(node)`` for a node it found
    skipped), which also returns the next ``step()``.

    ``run_segment(node, emitted, released)`` runs a synchronous node in a worker thread, then
    the chain after it: it goes on while the node just done released exactly one successor and
    that one is ``K_THREAD``; anything else it releases is handed back in ``released``, which
    the runner queues with ``resume(released)`` when the segment is done.

    Fields (``n`` nodes, tables from the ``Scheduler`` given):
        kinds    uint8[n]   K_INLINE / K_THREAD / K_TASK / K_RUNNER / K_REGION / K_GATE
        ran      uint8[n]   this epoch: 1 if the node was called and emitted (own copy of
                            the dispatcher's, for epochs running side by side)
        pending  int32[n]   predecessor edges not yet done (private)
        ring     int32[n]   ready queue: [head, tail) waiting; every node enters once per
                            epoch, so it never wraps (private)
        node     int        the node ``step``/``complete`` last handled (the one that raised)
        n_done   int        nodes done this epoch; ``remaining`` = n - n_done
        n_ready  int        nodes in the ready queue
        exhausted int       generator nodes that ran out this epoch
        emit     callable   ``emit(node)`` after a node ran, for nodes flagged C_HOOK_AFTER
                            (callbacks); ``None``: never
        stop     bint       set by the runner when the epoch failed: a segment stops after
                            the node it is running (``start`` clears it)

    Threads: ``run_segment`` runs in a worker while the loop thread steps. Their shared state
    is ``pending``, ``n_done`` and ``exhausted`` (the ready queue is the loop thread's alone),
    touched only by ``_release`` / ``_release_chain`` and plain C increments: C code that makes no Python
    call and creates no object, so it runs under the GIL without being interleaved. Slot
    writes go to the slots of the node being run, which no one else writes this epoch.
    Python: see ``_dispatch_py.Driver`` (a lock around the same critical sections).
    """

    def __init__(self, Dispatcher dispatcher, Scheduler scheduler, kinds, emit=None):
        cdef Py_ssize_t n = scheduler.n
        self.dispatcher = dispatcher
        self.n = n
        self.kinds = _checks.driver_kinds(n, kinds, len(dispatcher.fns))
        self._kind = self.kinds
        self._indptr = scheduler._indptr
        self._indices = scheduler._indices
        self._indeg = scheduler._indeg
        self._pending = np.zeros(n, dtype=np.int32)
        self._ring = np.zeros(max(n, 1), dtype=np.int32)
        self._max_out = int(np.diff(scheduler.indptr).max()) if n else 0
        self.ran = np.zeros(n, dtype=np.uint8)
        self._ran = self.ran
        self.emit = emit
        self.stop = False
        self.values = None
        self.node = -1
        self.n_done = n
        self.exhausted = 0
        self._head = 0
        self._tail = 0

    @property
    def n_ready(self):
        return self._tail - self._head

    @property
    def remaining(self):
        """Nodes not yet done in this epoch (0 once every node is done)."""
        return self.n - self.n_done

    cpdef int start(self, list values) except -1:
        """Begin an epoch over ``values``: nodes without predecessors are ready, in id order.

        ``values`` must hold every slot the dispatcher's tables name (``ValueError``)."""
        cdef Py_ssize_t i
        _check_values(self.dispatcher, values)
        self.values = values
        self._head = 0
        self._tail = 0
        self.n_done = 0
        self.exhausted = 0
        self.node = -1
        self.stop = False
        for i in range(self.n):
            self._pending[i] = self._indeg[i]
            if self._indeg[i] == 0:
                self._ring[self._tail] = <int32_t>i
                self._tail += 1
        return 0

    cdef void _release(self, int32_t node) noexcept:
        # node done: successors whose last predecessor it was join the ready queue
        cdef Py_ssize_t k
        cdef int32_t succ
        self.n_done += 1
        for k in range(self._indptr[node], self._indptr[node + 1]):
            succ = self._indices[k]
            self._pending[succ] -= 1
            if self._pending[succ] == 0:
                self._ring[self._tail] = succ
                self._tail += 1

    cdef int32_t _release_chain(self, int32_t node, int32_t* out) noexcept:
        # _release for a segment: the successors released go to ``out`` (at most the node's
        # out-degree), not to the ready queue -- the segment runs one on, or hands them over
        # with its result (``resume``); returns how many
        cdef Py_ssize_t k
        cdef int32_t succ, count = 0
        self.n_done += 1
        for k in range(self._indptr[node], self._indptr[node + 1]):
            succ = self._indices[k]
            self._pending[succ] -= 1
            if self._pending[succ] == 0:
                out[count] = succ
                count += 1
        return count

    cdef int _ran_node(self, int32_t node, object result) except -1:
        # store a call's result (``_finish``) and note it in ``ran`` / ``exhausted``; 1 if it ran out
        if _finish(self.dispatcher, node, self.values, result):
            self._ran[node] = 0
            self.exhausted += 1
            return 1
        self._ran[node] = 1
        return 0

    cpdef object step(self):
        """Run what the loop thread can; return the next node's work for the runner, or ``None``.

        Python: ``while ready: node = ready.popleft(); region -> done; gate -> return GATE;
        skipped -> done; inline -> call, finish, emit, done; task -> return coroutine;
        thread -> return SEGMENT; runner -> return RUNNER``.
        """
        cdef Dispatcher d = self.dispatcher
        cdef list values = self.values
        cdef int32_t node
        cdef uint8_t kind
        cdef int status
        while self._head < self._tail:
            node = self._ring[self._head]
            self._head += 1
            self.node = node
            kind = self._kind[node]
            if kind == K_REGION:
                self._release(node)
                continue
            if kind == K_GATE:
                return GATE
            status = _check(d, node, values)
            if status == CHECK_SKIP:
                self._ran[node] = 0
                self._release(node)
                continue
            if kind == K_INLINE:
                if not self._ran_node(node, _call(d, node, values, status)):
                    if d._flags[node] & C_HOOK_AFTER and self.emit is not None:
                        self.emit(node)
                self._release(node)
                continue
            if kind == K_TASK:
                return _call(d, node, values, status)
            return SEGMENT if kind == K_THREAD else RUNNER
        return None

    cpdef object complete(self, int node, object result):
        """Node ``node`` returned ``result`` (``Exhausted`` if a generator ran out): store it,
        emit, release its successors; then ``step()``."""
        _check_node(node, self.n)
        self.node = node
        if not self._ran_node(node, result):
            if self.dispatcher._flags[node] & C_HOOK_AFTER and self.emit is not None:
                self.emit(node)
        self._release(node)
        return self.step()

    cpdef object release(self, int node):
        """Node ``node`` is done without a result (the runner found it skipped); then ``step()``."""
        _check_node(node, self.n)
        self.node = node
        self._release(node)
        return self.step()

    def prepare(self, int node):
        """``Dispatcher.prepare_call`` for this epoch: ``None`` if skipped (``ran`` 0), else
        ``(args, kwargs)``. The node is not released: call ``complete`` or ``release``."""
        call = self.dispatcher.prepare_call(node, self.values)
        if call is None:
            self._ran[node] = 0
        return call

    def run_segment(self, int node, list emitted, list released):
        """In a worker thread: run ``node`` and the chain after it (see the class docstring).

        Appends to ``emitted`` the nodes that ran and are flagged C_HOOK_AFTER, in order (the
        runner emits their events on the loop thread), and to ``released`` the successors the
        segment released but did not run: the runner queues them with ``resume(released)``
        once it has the segment's result, so they never start before its events are out.
        Returns ``None``, or ``(node, exc)`` for the node that raised (the segment stops
        there, that node not released). Stops early, once ``stop`` is set.
        """
        cdef Dispatcher d = self.dispatcher
        cdef list values = self.values
        cdef int32_t cur = node, count, k
        cdef int status
        cdef int32_t* out
        _check_node(node, self.n)
        out = <int32_t*>PyMem_Malloc(max(self._max_out, 1) * sizeof(int32_t))
        if out == NULL:
            raise MemoryError()
        try:
            while cur >= 0:
                status = _check(d, cur, values)
                if status == CHECK_SKIP:
                    self._ran[cur] = 0
                else:
                    try:
                        if not self._ran_node(cur, _call(d, cur, values, status)) and d._flags[cur] & C_HOOK_AFTER:
                            emitted.append(cur)
                    except BaseException as exc:
                        return (cur, exc)
                count = self._release_chain(cur, out)
                if count == 1 and self._kind[out[0]] == K_THREAD and not self.stop:
                    cur = out[0]
                    continue
                for k in range(count):
                    released.append(out[k])
                cur = -1
            return None
        finally:
            PyMem_Free(out)

    cpdef object resume(self, list nodes):
        """Queue ``nodes`` (a segment's ``released``) as ready; then ``step()``."""
        cdef Py_ssize_t k
        cdef int32_t node
        for k in range(len(nodes)):
            _check_node(nodes[k], self.n)
        for k in range(len(nodes)):
            node = nodes[k]
            self._ring[self._tail] = node
            self._tail += 1
        return self.step()


# ---------------------------------------------------------------------------- the worker hand-off

cdef extern from *:
    """
    /* the hand-off's word-sized atomics, pause and monotonic clock, per compiler and platform */
    #if defined(_MSC_VER)
    #include <intrin.h>
    #include <windows.h>
    static inline int noob_load(volatile int *p) { return _InterlockedOr((volatile long *)p, 0); }
    static inline void noob_store(volatile int *p, int v) { _InterlockedExchange((volatile long *)p, v); }
    static inline int noob_xchg(volatile int *p, int v) { return _InterlockedExchange((volatile long *)p, v); }
    static inline int noob_cas(volatile int *p, int e, int v) {
        return _InterlockedCompareExchange((volatile long *)p, v, e) == e;
    }
    static inline void noob_pause(void) { YieldProcessor(); }
    static inline long long noob_now_ns(void) {
        LARGE_INTEGER c, f; QueryPerformanceCounter(&c); QueryPerformanceFrequency(&f);
        return (long long)((double)c.QuadPart * 1e9 / (double)f.QuadPart);
    }
    #else
    #include <time.h>
    static inline int noob_load(volatile int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
    static inline void noob_store(volatile int *p, int v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
    static inline int noob_xchg(volatile int *p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
    static inline int noob_cas(volatile int *p, int e, int v) {
        return __atomic_compare_exchange_n(p, &e, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
    static inline void noob_pause(void) {
    #if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
    #elif defined(__aarch64__) || defined(__arm__)
        __asm__ __volatile__("yield");
    #endif
    }
    static inline long long noob_now_ns(void) {
        struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    }
    #endif
    """
    int noob_load(int* p) nogil
    void noob_store(int* p, int v) nogil
    int noob_xchg(int* p, int v) nogil
    int noob_cas(int* p, int e, int v) nogil
    void noob_pause() nogil
    long long noob_now_ns() nogil

from cpython.pythread cimport (
    PyThread_type_lock, PyThread_allocate_lock, PyThread_free_lock, PyThread_acquire_lock,
    PyThread_release_lock, WAIT_LOCK, NOWAIT_LOCK, PY_LOCK_ACQUIRED, PyLockStatus,
)

cdef extern from "pythread.h":
    PyLockStatus PyThread_acquire_lock_timed(PyThread_type_lock lock, long long microseconds, int intr_flag) nogil
import threading

cdef long long _NAP_US = 1000000  # an idle worker looks whether its loop was closed once a second

# hand-off states: odd = a call is in hand for the worker
cdef enum:
    H_IDLE = 0
    H_POSTED = 1     # the loop thread may still be waiting for it
    H_DONE = 2       # finished while the loop thread waited: it takes the result
    H_CALLBACK = 3   # the loop thread stopped waiting: the worker resolves ``future``


cdef inline bint _spin_until_not(int* word, int value, long long budget_ns) noexcept nogil:
    """Busy-wait while ``*word == value``, at most ``budget_ns``; True if it changed."""
    cdef long long deadline = noob_now_ns() + budget_ns
    cdef unsigned int k = 0
    while noob_load(word) == value:
        noob_pause()
        k += 1
        if (k & 63) == 0 and noob_now_ns() >= deadline:
            return noob_load(word) != value
    return True


cdef inline bint _spin_for_call(int* state, int* closing, long long budget_ns) noexcept nogil:
    """Busy-wait until a call is in hand (``*state`` odd) or ``*closing``, at most ``budget_ns``."""
    cdef long long deadline = noob_now_ns() + budget_ns
    cdef unsigned int k = 0
    while not (noob_load(state) & 1 or noob_load(closing)):
        noob_pause()
        k += 1
        if (k & 63) == 0 and noob_now_ns() >= deadline:
            return noob_load(state) & 1 or noob_load(closing)
    return True


cdef class Handoff:
    """One worker thread that runs a call for the loop thread, with a short wait on each side.

    ``call(fn, args, wait)`` hands ``fn(*args)`` to the worker. With ``wait`` (the loop has
    nothing else to do), the loop thread busy-waits without the GIL for up to ``spin``
    seconds; if the call finished by then it returns ``None`` and ``take()`` gives its result
    (or raises its exception). Otherwise it returns an asyncio future on ``loop``, which the
    worker resolves with ``call_soon_threadsafe``, as a thread pool would. A call that ran
    longer than ``spin`` makes the next ``call`` not wait: a blocking node costs the loop no
    busy-waiting, a quick one no wake-up. A wait that times out although calls are quick (the
    worker had no CPU: a busy machine) makes the next 1, 3, 7, ... up to 63 calls not wait,
    until a wait pays off again.

    Between calls the worker busy-waits (without the GIL) up to ``spin`` for the next one,
    then sleeps on a lock; once its loop is closed (a runner never deinitialised), it ends
    within a second. So a chain of epochs goes loop -> worker -> loop with no system
    call: a few µs a round trip (about 5 µs for a trivial call on a 2-core box), where a
    condition variable and the loop's self-pipe cost tens of µs (about 80 µs there). ``idle``: no call in hand (only then may ``call`` be used). ``close()``: the
    worker ends after the call it is running.

    State words are C ints read and written with sequentially consistent atomics:
    ``state`` (H_*; the loop thread posts, the worker finishes, one compare-and-swap decides
    who resolves) and ``sleeping`` (the worker is, or is about to be, blocked on ``_wake``:
    whoever swaps it from 1 to 0 owns the release). Python: ``_dispatch_py.Handoff``.
    """

    cdef int state, sleeping, closing, slow
    cdef int misses, skip  # the loop thread's own: waits that timed out in a row, waits to skip
    cdef long long spin_ns
    cdef PyThread_type_lock _wake
    cdef object _fn, _args, _result, _future, _thread
    cdef bint _ok
    cdef readonly object loop
    cdef readonly str name

    def __cinit__(self):
        self._wake = PyThread_allocate_lock()
        if self._wake == NULL:
            raise MemoryError()
        PyThread_acquire_lock(self._wake, NOWAIT_LOCK)  # held: the worker blocks on it

    def __init__(self, loop, double spin=1e-4, str name="noob-handoff"):
        if not spin >= 0:
            raise ValueError(f"spin must be a number of seconds >= 0, got {spin!r}")
        self.loop = loop
        self.spin_ns = <long long>(spin * 1e9)
        self.name = name

    def __dealloc__(self):
        if self._wake != NULL:
            PyThread_free_lock(self._wake)

    @property
    def idle(self):
        return noob_load(&self.state) == H_IDLE and not self.closing

    @property
    def spin(self):
        return self.spin_ns / 1e9

    def call(self, fn, tuple args, bint wait=True):
        cdef int st = H_POSTED
        cdef bint changed = False
        cdef long long budget = self.spin_ns
        if noob_load(&self.state) != H_IDLE or self.closing:
            raise RuntimeError("Handoff.call() while a call is in hand or after close()")
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
            self._thread.start()
        self._fn = fn
        self._args = args
        wait = wait and budget > 0 and not noob_load(&self.slow)
        if self.skip > 0:  # counts calls, waited for or not
            self.skip -= 1
            wait = False
        if not wait:
            self._future = self.loop.create_future()
            st = H_CALLBACK
        noob_store(&self.state, st)
        if noob_xchg(&self.sleeping, 0) == 1:
            PyThread_release_lock(self._wake)
        if not wait:
            return self._future
        with nogil:
            changed = _spin_until_not(&self.state, H_POSTED, budget)
        if changed:  # H_DONE: only the worker moves it on from H_POSTED
            self.misses = 0
            return None
        future = self._future = self.loop.create_future()
        if noob_cas(&self.state, H_POSTED, H_CALLBACK):
            # missed: the call was slow (then `slow` says so), or the worker did not get a CPU
            # in time (a busy machine); skip the next 1, 3, 7, ... 63 waits while it lasts
            self.misses = min(self.misses + 1, 6)
            self.skip = (1 << self.misses) - 1
            return future
        self._future = None  # it finished in the meantime
        self.misses = 0
        return None

    def take(self):
        """The result of the call that ``call`` returned ``None`` for (raises its exception)."""
        if noob_load(&self.state) != H_DONE:
            raise RuntimeError("Handoff.take() without a finished call")
        result, ok = self._result, self._ok
        self._result = None
        noob_store(&self.state, H_IDLE)
        if not ok:
            raise result
        return result

    def close(self):
        """Let the worker end once it is done with the call it runs (no waiting)."""
        noob_store(&self.closing, 1)
        if noob_xchg(&self.sleeping, 0) == 1:
            PyThread_release_lock(self._wake)
        self._thread = None

    def _serve(self):
        cdef long long t0
        cdef bint got
        while True:
            with nogil:
                got = _spin_for_call(&self.state, &self.closing, self.spin_ns)
                while not got:
                    # about to sleep: the loop thread's post (or close) swaps `sleeping` back
                    # and releases `_wake`; if this side swaps it back first, nobody releases
                    noob_store(&self.sleeping, 1)
                    if (noob_load(&self.state) & 1 or noob_load(&self.closing)) and noob_xchg(&self.sleeping, 0) == 1:
                        got = True
                    elif PyThread_acquire_lock_timed(self._wake, _NAP_US, 0) == PY_LOCK_ACQUIRED:
                        got = noob_load(&self.state) & 1 or noob_load(&self.closing)
                    elif noob_xchg(&self.sleeping, 0) == 0:  # a release is on its way: take it
                        PyThread_acquire_lock(self._wake, WAIT_LOCK)
                        got = noob_load(&self.state) & 1 or noob_load(&self.closing)
                    else:  # a long nap: see (with the GIL) whether anyone can still call
                        break
            if not got:
                if self.loop.is_closed():  # a runner never deinitialised: its thread goes
                    noob_store(&self.closing, 1)
                    return
                continue
            if noob_load(&self.closing) and not (noob_load(&self.state) & 1):
                return
            fn, args = self._fn, self._args
            self._fn = self._args = None
            t0 = noob_now_ns()
            try:
                self._result = fn(*args)
                self._ok = True
            except BaseException as exc:  # handed to the loop thread: take() or the future raises it
                self._result = exc
                self._ok = False
            fn = args = None
            noob_store(&self.slow, (noob_now_ns() - t0) > self.spin_ns)
            with nogil:
                got = noob_cas(&self.state, H_POSTED, H_DONE)
            if not got:  # H_CALLBACK: resolve the future on the loop
                future, result, ok = self._future, self._result, self._ok
                self._future = self._result = None
                noob_store(&self.state, H_IDLE)
                try:
                    self.loop.call_soon_threadsafe(_resolve, future, ok, result)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    pass
                future = result = None
            if noob_load(&self.closing):
                return


def _resolve(future, bint ok, result):
    if future.done():  # cancelled meanwhile
        return
    if ok:
        future.set_result(result)
    else:
        future.set_exception(result)
