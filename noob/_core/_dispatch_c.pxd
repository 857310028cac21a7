# Table of contents of the compiled core. Every field is described in _dispatch_c.pyx.
# Integer ids only: the core never sees a node name, a YAML path or a user message.

from cpython.object cimport PyObject
from libc.stdint cimport int32_t, uint8_t

# per-node flag bits (mirrored as F_* constants in _dispatch_py.py)
cdef enum:
    C_ENABLED = 1
    C_GENERATOR = 2
    C_HOOK_BEFORE = 4
    C_HOOK_AFTER = 8
    C_EXHAUSTED = 16
    C_NATIVE = 32      # set_native gave the node a kind other than N_CALL (in some dispatcher)

# per-node scheduler states (mirrored as STATE_* constants in _dispatch_py.py)
cdef enum:
    S_WAITING = 0
    S_READY = 1
    S_DONE = 2

# per-node native operations of Dispatcher.run (mirrored as NATIVE_* in _dispatch_py.py):
# special nodes the loop carries out itself instead of calling ``fns[node]``
cdef enum:
    N_CALL = 0         # call fns[node] (every user node)
    N_GATHER = 1       # append arg 0 to aux[node]; emit a copy and clear it at gather_n (or arg 1) items
    N_RET_SCALAR = 2   # the return node, ``depends: a.x``: arg 0 itself
    N_RET_TUPLE = 3    # ``depends: [a.x, b.y]``: tuple of the positional args
    N_RET_DICT = 4     # ``depends: [{k: a.x}]``: dict of the keywords that fired, or None
    N_RET_BOTH = 5     # both forms: (tuple, dict)
    N_NEXT = 6         # a source: the next value of the iterator aux[node] (Exhausted at its end)
    N_MAP = 7          # a map: run the Dispatcher aux[node] once per element of arg 0 (a list or tuple)

cdef class Dispatcher:
    # readonly: the loop indexes fns, kwnames and the tables behind these arrays unchecked,
    # so rebinding one from Python would bypass the checks __init__ made (mutating fns[i]
    # in place is fine)
    cdef readonly list fns
    cdef readonly object order, flags, arg_ptr, arg_src, arg_req, n_pos, out_ptr, out_slot
    cdef readonly object store_ptr, store_src, store_dst, store_copy, ran
    cdef readonly list kwnames
    cdef public object deepcopy, hook_before, hook_after
    cdef public int current
    cdef public int n_exhausted_now
    cdef public Py_ssize_t item_index
    cdef readonly Py_ssize_t n_slots
    cdef readonly object native, gather_n
    cdef readonly Py_ssize_t ret_slot
    cdef readonly object on_exhausted, batch_type, shape
    cdef public long long epochs
    cdef long long _last_epoch
    cdef readonly Py_ssize_t epoch_slot
    cdef readonly object reset
    cdef int32_t[::1] _reset
    cdef readonly list aux
    cdef uint8_t[::1] _native
    cdef int32_t[::1] _gather_n
    cdef int32_t[::1] _order, _arg_ptr, _arg_src, _n_pos, _out_ptr, _out_slot
    cdef int32_t[::1] _store_ptr, _store_src, _store_dst
    cdef uint8_t[::1] _flags, _arg_req, _store_copy, _ran
    cdef PyObject** _buf
    cdef Py_ssize_t _buf_len
    cpdef int run(self, list values) except -1
    cpdef object epoch(self, list values)
    cpdef object prepare_call(self, int node, list values)
    cpdef int finish(self, int node, list values, object result) except -1
    cdef int _scatter(self, int32_t node, list values, Py_ssize_t o0, Py_ssize_t o1, object result) except -1

cdef class Scheduler:
    cdef readonly int n
    cdef readonly int n_done
    cdef readonly object indptr, indices, indegree
    cdef int32_t[::1] _indptr, _indices, _indeg, _pending
    cdef uint8_t[::1] _state
    cpdef list start(self)
    cpdef list done(self, int node)

# per-node kinds of the async Driver (mirrored as KIND_* constants in _dispatch_py.py)
cdef enum:
    K_INLINE = 0
    K_THREAD = 1
    K_TASK = 2
    K_RUNNER = 3
    K_REGION = 4
    K_GATE = 5

cdef class Driver:
    cdef readonly Dispatcher dispatcher
    cdef readonly int n, node, n_done, exhausted
    cdef readonly object kinds, ran
    cdef public list values
    cdef public object emit
    cdef public bint stop
    cdef int32_t[::1] _indptr, _indices, _indeg, _pending, _ring
    cdef uint8_t[::1] _kind, _ran
    cdef int32_t _head, _tail, _max_out
    cpdef int start(self, list values) except -1
    cpdef object step(self)
    cpdef object complete(self, int node, object result)
    cpdef object release(self, int node)
    cpdef object resume(self, list nodes)
    cdef int _ran_node(self, int32_t node, object result) except -1
    cdef void _release(self, int32_t node) noexcept
    cdef int32_t _release_chain(self, int32_t node, int32_t* out) noexcept

# Handoff (the AsyncRunner's chain worker: atomics, a lock and one thread) is declared in
# _dispatch_c.pyx only: nothing else in the core cimports it.
