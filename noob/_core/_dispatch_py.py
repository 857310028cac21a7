"""Pure-Python twin of ``_dispatch_c.pyx``: same functions, same behaviour, same results.

Used where no compiler is available, when ``NOOB_PUREPYTHON=1`` is set, and as the test
oracle for the compiled module. Read ``_dispatch_c.pxd`` for the table of contents and
``_dispatch_c.pyx`` for the field-by-field description of the tables; this file only
repeats what differs.

The core never sees a node name, a YAML path or a message for users: it speaks integer ids
and raises bare builtins that ``noob.runner`` decorates.
"""

from __future__ import annotations

import numpy as np

from noob.types import MetaSignal

NOEVENT = MetaSignal.NoEvent
EXHAUSTED = MetaSignal.Exhausted

# per-node flag bits (mirror _dispatch_c.pxd)
F_ENABLED = 1
F_GENERATOR = 2
F_HOOK_BEFORE = 4
F_HOOK_AFTER = 8
F_EXHAUSTED = 16

IMPLEMENTATION = "python"


def csr(n, src, dst):
    """CSR adjacency of ``n`` nodes from edge arrays: ``(indptr[n+1], indices[m])``.

    Successors of node ``i`` are ``indices[indptr[i]:indptr[i+1]]``, in edge order; duplicate
    edges are kept. Python equivalent: ``[[d for s, d in zip(src, dst) if s == i] for i in range(n)]``.
    """
    src = np.asarray(src, dtype=np.int32)
    dst = np.asarray(dst, dtype=np.int32)
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


def reachable(n, indptr, indices, start):
    """Mask ``uint8[n]``: 1 for every node reachable from ``start`` (``start`` included)."""
    seen = np.zeros(n, dtype=np.uint8)
    seen[start] = 1
    stack = [start]
    while stack:
        node = stack.pop()
        for k in range(indptr[node], indptr[node + 1]):
            succ = int(indices[k])
            if not seen[succ]:
                seen[succ] = 1
                stack.append(succ)
    return seen


class Dispatcher:
    """Runs one epoch over the plan's tables. See ``_dispatch_c.pyx`` for the tables."""

    def __init__(self, fns, order, flags, arg_ptr, arg_src, arg_req, n_pos, kwnames,
                 out_ptr, out_slot, store_ptr, store_src, store_dst, store_copy, deepcopy):
        self.fns = fns
        self.order = np.asarray(order, dtype=np.int32)
        self.flags = np.asarray(flags, dtype=np.uint8)
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
        self.ran = np.zeros(n, dtype=np.uint8)
        self.current = -1
        self.hook_before = None
        self.hook_after = None
        self.n_exhausted_now = 0
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

    def set_flag(self, node, bit, on):
        """Set or clear one flag bit of ``node``."""
        if on:
            self.flags[node] |= bit
        else:
            self.flags[node] &= ~bit & 0xFF

    def run(self, values):
        """Run every node of ``order`` once against the slot table ``values``.

        Returns the number of generator nodes that ran out in this epoch.
        """
        flags = self.flags
        ran = self.ran
        fns = self.fns
        exhausted_now = 0
        for node in self._order:
            self.current = node
            f = flags[node]
            outs = self._outs[node]
            if not (f & F_ENABLED) or (f & F_EXHAUSTED):
                ran[node] = 0
                for s in outs:
                    values[s] = NOEVENT
                continue
            skip = False
            for src, req in self._args[node]:
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
            npos = self._npos[node]
            args = self._args[node]
            pos = [values[src] for src, _ in args[:npos]]
            names = self.kwnames[node]
            if names:
                kw = {}
                for j, (src, _) in enumerate(args[npos:]):
                    v = values[src]
                    if v is not NOEVENT:
                        kw[names[j]] = v
                try:
                    result = fns[node](*pos, **kw)
                except StopIteration:
                    if not f & F_GENERATOR:
                        raise
                    result = EXHAUSTED
            else:
                try:
                    result = fns[node](*pos)
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
                _scatter(values, outs, result)
            for src, dst, copy in self._stores[node]:
                v = values[src]
                if v is not NOEVENT:
                    values[dst] = self.deepcopy(v) if copy else v
            if f & F_HOOK_AFTER:
                self.hook_after(node)
        self.current = -1
        self.n_exhausted_now = exhausted_now
        return exhausted_now


def _scatter(values, outs, result):
    if result is NOEVENT:
        for s in outs:
            values[s] = NOEVENT
        return
    try:
        items = tuple(result)
    except TypeError:
        raise TypeError(
            f"a node with {len(outs)} signals must return a tuple of {len(outs)} values, "
            f"got {type(result).__name__}"
        ) from None
    for j, s in enumerate(outs):
        values[s] = items[j] if j < len(items) else NOEVENT
