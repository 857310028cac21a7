"""Argument checks of the core's public entries, shared by ``_dispatch_c`` and ``_dispatch_py``.

The kernels index their arrays without bounds checks (``boundscheck=False`` in the compiled
core), so every entry point a caller outside ``noob._core`` can reach validates its arguments
here first, once per call and vectorised (numpy), never per node in an epoch. Both cores call
these very functions, so a bad argument raises the same exception, with the same message, on
either path: ``NotAddedError`` (an ``IndexError`` and ``ValueError``) for a node id outside the
graph, ``ValueError`` for malformed tables.

Integer ids only: no node names, no YAML paths.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from noob.exceptions import NotAddedError

ALL_FLAGS = 0xFF


def node_id(node: int, n: int) -> None:
    """``0 <= node < n``, else ``NotAddedError``."""
    if not 0 <= node < n:
        raise NotAddedError(f"node id {node} is not in the graph (it has {n} nodes, ids 0 to {n - 1})", node=node, n=n)


def flag_bit(bit: int) -> None:
    """A flag mask fits the uint8 flags (``1 <= bit <= 0xFF``), else ``ValueError``."""
    if not 0 < bit <= ALL_FLAGS:
        raise ValueError(f"flag bit {bit} is not a uint8 flag mask (1 to {ALL_FLAGS})")


def _ids(name: str, a: np.ndarray, low: int, high: int) -> None:
    # every entry of ``a`` in [low, high)
    if len(a) and (int(a.min()) < low or int(a.max()) >= high):
        bad = a[(a < low) | (a >= high)][0]
        raise ValueError(f"{name} holds {int(bad)}, outside 0 to {high - 1}")


def _ptr(name: str, ptr: np.ndarray, n: int, m: int) -> None:
    # a CSR pointer array: n + 1 entries, from 0 to m, never decreasing
    if len(ptr) != n + 1:
        raise ValueError(f"{name} must have n + 1 = {n + 1} entries, got {len(ptr)}")
    if ptr[0] != 0 or ptr[-1] != m or (n and bool((np.diff(ptr) < 0).any())):
        raise ValueError(f"{name} must rise from 0 to {m} without decreasing")


def edges(n: int, src: Any, dst: Any) -> tuple[np.ndarray, np.ndarray]:
    """Edge arrays of equal length with ids in ``[0, n)``; returned as contiguous int32."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    s = np.ascontiguousarray(src, dtype=np.int32).reshape(-1)
    d = np.ascontiguousarray(dst, dtype=np.int32).reshape(-1)
    if len(s) != len(d):
        raise ValueError(f"src and dst must have the same length, got {len(s)} and {len(d)}")
    _ids("src", s, 0, n)
    _ids("dst", d, 0, n)
    return s, d


def csr(n: int, indptr: Any, indices: Any) -> tuple[np.ndarray, np.ndarray]:
    """A CSR graph of ``n`` nodes (see ``csr``); returned as contiguous int32."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    ip = np.ascontiguousarray(indptr, dtype=np.int32).reshape(-1)
    ix = np.ascontiguousarray(indices, dtype=np.int32).reshape(-1)
    _ptr("indptr", ip, n, len(ix))
    _ids("indices", ix, 0, n)
    return ip, ix


def dispatcher_tables(n: int, order: Any, flags: Any, arg_ptr: Any, arg_src: Any, n_pos: Any, kwnames: list,
                      out_ptr: Any, out_slot: Any, store_ptr: Any, store_src: Any, store_dst: Any,
                      store_copy: Any, arg_req: Any) -> int:
    """Check a ``Dispatcher``'s tables against each other; return the slot table length they need.

    ``n`` is ``len(fns)``. Every per-node table has ``n`` (or ``n + 1``) entries, every pointer
    array rises within its table, ``order`` holds node ids, ``n_pos`` and ``kwnames`` split each
    node's arguments. Slots are checked against the slot table at each ``run`` (its length is
    only known then): the return value is ``1 + the highest slot any table names``.
    """
    o = np.asarray(order, dtype=np.int64).reshape(-1)
    _ids("order", o, 0, n)
    if len(np.asarray(flags).reshape(-1)) != n:
        raise ValueError(f"flags must have one entry per node ({n}), got {len(np.asarray(flags).reshape(-1))}")
    ap = np.asarray(arg_ptr, dtype=np.int64).reshape(-1)
    src = np.asarray(arg_src, dtype=np.int64).reshape(-1)
    _ptr("arg_ptr", ap, n, len(src))
    if len(np.asarray(arg_req).reshape(-1)) != len(src):
        raise ValueError(f"arg_req must have one entry per argument ({len(src)})")
    npos = np.asarray(n_pos, dtype=np.int64).reshape(-1)
    if len(npos) != n:
        raise ValueError(f"n_pos must have one entry per node ({n}), got {len(npos)}")
    width = np.diff(ap)
    if n and bool(((npos < 0) | (npos > width)).any()):
        raise ValueError("n_pos counts more positional arguments than a node has")
    if len(kwnames) != n:
        raise ValueError(f"kwnames must have one entry per node ({n}), got {len(kwnames)}")
    for i in np.flatnonzero(width - npos if n else np.zeros(0)):
        names = kwnames[i]
        if not isinstance(names, tuple) or len(names) != width[i] - npos[i]:
            raise ValueError(f"kwnames[{i}] must be a tuple of the node's {width[i] - npos[i]} keyword names")
    op = np.asarray(out_ptr, dtype=np.int64).reshape(-1)
    out = np.asarray(out_slot, dtype=np.int64).reshape(-1)
    _ptr("out_ptr", op, n, len(out))
    sp = np.asarray(store_ptr, dtype=np.int64).reshape(-1)
    ss = np.asarray(store_src, dtype=np.int64).reshape(-1)
    sd = np.asarray(store_dst, dtype=np.int64).reshape(-1)
    _ptr("store_ptr", sp, n, len(ss))
    if len(sd) != len(ss) or len(np.asarray(store_copy).reshape(-1)) != len(ss):
        raise ValueError("store_src, store_dst and store_copy must have the same length")
    slots = [a for a in (src, out, ss, sd) if len(a)]
    if any(int(a.min()) < 0 for a in slots):
        raise ValueError("slot tables hold a negative slot")
    return 1 + max((int(a.max()) for a in slots), default=-1)


def slot_table(values: list, needed: int) -> None:
    """The slot table is long enough for every slot the dispatcher's tables name."""
    if len(values) < needed:
        raise ValueError(f"slot table has {len(values)} entries, the dispatcher's tables need {needed}")


def slot(name: str, index: int, values: list) -> None:
    """One slot id inside the slot table."""
    if not 0 <= index < len(values):
        raise ValueError(f"{name} {index} is outside the slot table (0 to {len(values) - 1})")


def driver_kinds(n: int, kinds: Any, n_fns: int) -> np.ndarray:
    """One Driver kind (0 to 5, ``KIND_*``) per node, for a dispatcher of the same ``n`` nodes."""
    k = np.ascontiguousarray(kinds, dtype=np.int64)
    if k.ndim != 1 or k.shape[0] != n or n_fns != n:
        raise ValueError(f"kinds ({k.shape[0] if k.ndim == 1 else k.shape}) and the dispatcher ({n_fns} nodes) "
                         f"must cover the scheduler's {n} nodes")
    if n and (int(k.min()) < 0 or int(k.max()) > 5):
        raise ValueError(f"kinds must be 0 to 5 (KIND_INLINE to KIND_GATE), got {sorted(set(k.tolist()) - set(range(6)))}")
    return k.astype(np.uint8)


NATIVE_KINDS = 8  # NATIVE_CALL .. NATIVE_MAP


def native(kind: int, aux: Any, gather_n: int, width: int, npos: int, n_out: int, dispatcher: type) -> None:
    """A ``set_native`` request fits the node's argument layout, else ``ValueError``.

    A gather takes keyword ``value`` (then ``n`` when ``gather_n`` is 0) and a list to collect
    into; a scalar return takes one positional argument; a source none, and an iterator; a
    map one positional argument, two signals and a ``dispatcher`` of its region.
    """
    if not 0 <= kind < NATIVE_KINDS:
        raise ValueError(f"native kind {kind} is not one of 0 to {NATIVE_KINDS - 1} (NATIVE_CALL to NATIVE_MAP)")
    if gather_n < 0:
        raise ValueError(f"gather_n must be >= 0, got {gather_n}")
    if kind == 1:
        if not isinstance(aux, list):
            raise ValueError(f"a native gather collects into a list, got {type(aux).__name__}")
        if npos != 0 or width != (1 if gather_n else 2):
            raise ValueError(f"a native gather takes {'value' if gather_n else 'value and n'} as keywords; "
                             f"the node has {npos} positional and {width - npos} keyword arguments")
    elif kind == 6 and (width != 0 or not hasattr(type(aux), "__next__")):
        raise ValueError(f"a native source takes no arguments and an iterator, got {width} arguments and {type(aux).__name__}")
    elif kind == 7 and (npos != 1 or width != 1 or n_out != 2 or type(aux) is not dispatcher):
        raise ValueError(f"a native map takes one positional argument, emits value and n and runs a {dispatcher.__name__} "
                         f"of the same core; got {npos} of {width} arguments, {n_out} signals, {type(aux).__name__}")
    elif kind == 2 and (npos != 1 or width != 1):
        raise ValueError(f"a scalar return takes one positional argument; the node has {npos} positional of {width}")
