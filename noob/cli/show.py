"""``noob show TUBE``: a tube's graph as mermaid, Graphviz dot, or one self-contained HTML page.

Owns: :func:`graph_of`, the drawable model of a tube (boxes for nodes, inputs and assets,
each with ports on the left for slots and on the right for signals; edges between ports,
an asset's ``depends`` round trip flagged as a back edge), and its three renderings.
The HTML page draws the graph itself as an inline SVG, laid out in columns by topological
generation (``Plan.generation``; inputs and assets in a column of their own on the left),
rows ordered by the barycentre of their predecessors to keep edges short. It has no
external resource — no script, font or stylesheet from a network — so it opens offline.
Must not: run the tube or call user code beyond what building the ``Tube`` does.
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import inspect
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from noob.cli.common import CliError, build_tube, load_spec, parse_assignments

__all__ = ["Box", "Edge", "Graph", "command", "graph_of", "to_dot", "to_html", "to_mermaid"]

_P = inspect.Parameter


@dataclasses.dataclass
class Box:
    """One box of the drawing: a node, an input or an asset.

    ``key`` is unique across kinds (``node:a``, ``input:x``, ``asset:w``); ``ins`` and
    ``outs`` are its ports as ``(name, label)`` — slots and signals for a node, ``value``
    for an input or asset (plus ``next epoch`` for an asset whose ``depends`` stores it).
    ``column`` is the node's topological generation (+ 1 if some input or asset feeds a
    generation-0 node); an input or asset sits in the column before its first consumer.
    """

    key: str
    kind: str
    id: str
    type: str
    detail: str
    ins: list[tuple[str, str]]
    outs: list[tuple[str, str]]
    column: int
    order: int
    enabled: bool = True
    description: str | None = None


@dataclasses.dataclass
class Edge:
    """``src``'s port ``src_port`` feeds ``dst``'s port ``dst_port``.

    ``kind``: ``signal`` (node → node), ``input``, ``asset`` (asset → node), or ``store`` (a
    node's signal becomes the asset of the next epoch: the back edge of the round trip).
    ``text`` says it in the file's words (``a.index -> b.left``).
    """

    kind: str
    src: str
    src_port: str
    dst: str
    dst_port: str
    text: str


@dataclasses.dataclass
class Graph:
    """The drawable model of a tube: its boxes (inputs, assets, then nodes in plan order) and edges."""

    tube_id: str
    description: str | None
    source: str | None
    boxes: list[Box]
    edges: list[Edge]

    def box(self, key: str) -> Box:
        return self._index[key]

    def __post_init__(self) -> None:
        self._index = {b.key: b for b in self.boxes}


def _slot_label(node: Any, slots: dict[str, Any], slot: str | int | None) -> str:
    """The port a dependency's ``slot`` lands on: its name, or the positional parameter's."""
    if isinstance(slot, str):
        return slot
    positions = [s.name for s in slots.values() if s.kind in (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)]
    params = getattr(node, "params", None)
    offset = len(params) if getattr(node, "params_per_call", False) and isinstance(params, (list, tuple)) else 0
    index = offset + (slot or 0)
    return positions[index] if index < len(positions) else f"[{index}]"


def graph_of(tube: Any) -> Graph:
    """The drawable model of a built ``Tube``."""
    plan = tube.plan()
    spec = tube.spec
    generation = {node_id: int(plan.generation[i]) for i, node_id in enumerate(plan.node_ids)}
    rank = {node_id: int(r) for r, node_id in enumerate(plan.node_ids[i] for i in plan.order)}
    specs = tube.input_collection.specs
    boxes: list[Box] = []
    edges: list[Edge] = []
    for n, (key, ispec) in enumerate(specs.items()):
        scope = str(ispec.scope)
        detail = f"{scope}-scoped input"
        if ispec.has_default:
            detail += f", default {ispec.default!r}"
        elif not ispec.required:
            detail += ", optional"
        boxes.append(Box(f"input:{key}", "input", key, str(ispec.type), detail, [], [("value", "value")], 0, n,
                         description=ispec.description))
    for n, (key, asset) in enumerate(tube.assets.items()):
        dep = asset.spec.dependency
        if dep is not None and (dep.node, dep.signal) not in plan.signal_slot:
            dep = None  # `depends` names a missing signal: loading warned, nothing is stored
        stored = [("next epoch", "next epoch")] if dep is not None else []
        boxes.append(Box(f"asset:{key}", "asset", key, str(asset.spec.type), f"{asset.scope.value}-scoped asset", stored,
                         [("value", "value")], 0, len(specs) + n, description=asset.spec.description))
        if dep is not None:
            edges.append(Edge("store", f"node:{dep.node}", dep.signal, f"asset:{key}", "next epoch",
                              f"{dep.source} -> assets.{key} (next epoch)"))
    for node_id in plan.node_ids:
        node = tube.nodes[node_id]
        nspec = spec.nodes[node_id]
        slots = tube.slots.get(node_id, {})
        ins: list[tuple[str, str]] = []
        for slot in slots.values():
            if slot.kind in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD):
                continue
            ins.append((slot.name, f"{slot.name} ({slot.injection})" if slot.injection else slot.name))
        names = {name for name, _ in ins}
        for dep in nspec.dependencies:
            port = _slot_label(node, slots, dep.slot)
            if port not in names:
                ins.append((port, port))
                names.add(port)
            if dep.node == "input":
                edges.append(Edge("input", f"input:{dep.signal}", "value", f"node:{node_id}", port, f"input.{dep.signal} -> {node_id}.{port}"))
            elif dep.node == "assets":
                edges.append(Edge("asset", f"asset:{dep.signal}", "value", f"node:{node_id}", port, f"assets.{dep.signal} -> {node_id}.{port}"))
            else:
                edges.append(Edge("signal", f"node:{dep.node}", dep.signal, f"node:{node_id}", port, f"{dep.source} -> {node_id}.{port}"))
        outs = [(s.name, s.name) for s in tube.signals.get(node_id, [])]
        detail = f"generation {generation[node_id]}" + ("" if node.enabled else ", disabled")
        boxes.append(Box(f"node:{node_id}", "node", node_id, str(nspec.type), detail, ins, outs,
                         generation[node_id], rank[node_id], enabled=bool(node.enabled), description=nspec.description))
    # an input or asset sits one column before the first node that takes it
    first_use: dict[str, int] = {}
    for edge in edges:
        if edge.kind in ("input", "asset"):
            gen = generation[edge.dst.removeprefix("node:")]
            first_use[edge.src] = min(first_use.get(edge.src, gen), gen)
    left = 1 if any(g == 0 for g in first_use.values()) else 0
    for box in boxes:
        if box.kind == "node":
            box.column += left
        else:
            box.column = left + first_use[box.key] - 1 if box.key in first_use else 0
    source = str(spec.source) if spec.source is not None else None
    return Graph(tube.tube_id, spec.description, source, boxes, edges)


# --------------------------------------------------------------------------- mermaid


def _mm(text: Any) -> str:
    return str(text).replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _mm_id(box: Box) -> str:
    return {"node": "n_", "input": "i_", "asset": "a_"}[box.kind] + box.id


def to_mermaid(graph: Graph) -> str:
    """A mermaid ``flowchart LR``: dotted edges for assets, the round trip labelled ``next epoch``."""
    lines = ["flowchart LR", f"  %% tube {graph.tube_id!r}" + (f" from {graph.source}" if graph.source else "")]
    for box in graph.boxes:
        title = f"<b>{_mm(box.id)}</b><br/>{_mm(box.type)}"
        if box.kind == "input":
            lines.append(f'  {_mm_id(box)}[/"{title}<br/><i>{_mm(box.detail)}</i>"/]')
        elif box.kind == "asset":
            lines.append(f'  {_mm_id(box)}[("{title}<br/><i>{_mm(box.detail)}</i>")]')
        else:
            parts = [title]
            ins = [label for _, label in box.ins]
            outs = [label for _, label in box.outs]
            if ins:
                parts.append("slots: " + ", ".join(map(_mm, ins)))
            if outs:
                parts.append("signals: " + ", ".join(map(_mm, outs)))
            if not box.enabled:
                parts.append("<i>disabled</i>")
            lines.append(f'  {_mm_id(box)}["{"<br/>".join(parts)}"]')
    for edge in graph.edges:
        src, dst = _mm_id(graph.box(edge.src)), _mm_id(graph.box(edge.dst))
        if edge.kind == "signal":
            label = edge.src_port if edge.src_port == edge.dst_port else f"{edge.src_port} → {edge.dst_port}"
            lines.append(f'  {src} -->|"{_mm(label)}"| {dst}')
        elif edge.kind == "input":
            lines.append(f'  {src} -->|"{_mm(edge.dst_port)}"| {dst}')
        elif edge.kind == "asset":
            lines.append(f'  {src} -.->|"{_mm(edge.dst_port)}"| {dst}')
        else:
            lines.append(f'  {src} -.->|"{_mm(edge.src_port)} ⟲ next epoch"| {dst}')
    lines += [
        "  classDef input fill:#e8f1fb,stroke:#3b78c4",
        "  classDef asset fill:#eaf6ec,stroke:#3c8d4f",
        "  classDef disabled stroke-dasharray:5 5,color:#888",
    ]
    for kind in ("input", "asset"):
        members = [_mm_id(b) for b in graph.boxes if b.kind == kind]
        if members:
            lines.append(f"  class {','.join(members)} {kind}")
    disabled = [_mm_id(b) for b in graph.boxes if not b.enabled]
    if disabled:
        lines.append(f"  class {','.join(disabled)} disabled")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- dot

_COLOURS = {"node": "#ffffff", "input": "#e8f1fb", "asset": "#eaf6ec"}
_EDGE_COLOURS = {"signal": "#444444", "input": "#3b78c4", "asset": "#3c8d4f", "store": "#d9822b"}


def _dq(text: Any) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(box: Box) -> str:
    e = html.escape
    rows = [
        f'<TR><TD COLSPAN="2" BGCOLOR="{_COLOURS[box.kind]}"><B>{e(box.id)}</B></TD></TR>',
        f'<TR><TD COLSPAN="2"><FONT POINT-SIZE="9">{e(box.type)}</FONT></TD></TR>',
        f'<TR><TD COLSPAN="2"><FONT POINT-SIZE="8" COLOR="#666666">{e(box.detail)}</FONT></TD></TR>',
    ]
    for r in range(max(len(box.ins), len(box.outs))):
        left = f'<TD PORT="i{r}" ALIGN="LEFT">{e(box.ins[r][1])}</TD>' if r < len(box.ins) else "<TD></TD>"
        right = f'<TD PORT="o{r}" ALIGN="RIGHT">{e(box.outs[r][1])}</TD>' if r < len(box.outs) else "<TD></TD>"
        rows.append(f"<TR>{left}{right}</TR>")
    style = ' STYLE="DASHED"' if not box.enabled else ""
    return f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="3"{style}>{"".join(rows)}</TABLE>>'


def to_dot(graph: Graph) -> str:
    """A Graphviz digraph, left to right, one HTML-table node per box with a port per slot and signal."""
    lines = [
        f"digraph {_dq(graph.tube_id)} {{",
        f'  graph [rankdir=LR, fontname="Helvetica", labelloc=t, label={_dq("tube " + graph.tube_id)}];',
        '  node [shape=plaintext, fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
    ]
    for box in graph.boxes:
        lines.append(f"  {_dq(box.key)} [label={_dot_label(box)}];")
    for edge in graph.edges:
        src, dst = graph.box(edge.src), graph.box(edge.dst)
        sp = [n for n, _ in src.outs].index(edge.src_port)
        dp = [n for n, _ in dst.ins].index(edge.dst_port)
        attrs = [f'color="{_EDGE_COLOURS[edge.kind]}"', f"tooltip={_dq(edge.text)}"]
        if edge.kind in ("asset", "store"):
            attrs.append("style=dashed")
        if edge.kind == "store":
            attrs += ["constraint=false", 'label="next epoch"', f'fontcolor="{_EDGE_COLOURS["store"]}"']
        lines.append(f'  {_dq(edge.src)}:"o{sp}":e -> {_dq(edge.dst)}:"i{dp}":w [{", ".join(attrs)}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- html

BOX_W = 230
HEAD = 52  # id, type, detail lines
ROW = 18
COL_GAP = 120
ROW_GAP = 28
MARGIN = 24
TOP = 44  # column captions
LANE = 8  # height of an edge's lane through a column it crosses
LANE_GAP = 6


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _height(box: Box) -> int:
    return HEAD + max(len(box.ins), len(box.outs), 1) * ROW + 6


@dataclasses.dataclass
class Layout:
    """Where everything goes in the SVG.

    ``pos``: box key → top-left ``(x, y)``. ``via``: edge index → the y of the lane the edge
    takes through each column it crosses (a "virtual node" per crossed column, sorted with
    the boxes, so a long edge runs between boxes instead of through them). ``bottom``: the
    y below every box; back edges run under it. ``columns``: the column numbers in use.
    """

    pos: dict[str, tuple[int, int]]
    via: dict[int, list[tuple[int, int]]]
    width: int
    bottom: int
    columns: list[int]
    left: int


def _column_x(left: int, col: int) -> int:
    return left + col * (BOX_W + COL_GAP)


def layout(graph: Graph) -> Layout:
    """Lay the boxes out in their columns (see :class:`Box`).

    Inside a column, boxes and the lanes of edges crossing it are sorted, in three sweeps, by
    the mean y of what feeds them (what they feed, for inputs and assets), which keeps most
    edges short and uncrossed. Each column is centred vertically.
    """
    items: dict[int, list[tuple[str, float, int, bool]]] = {}  # col -> [(key, height, order, is_node)]
    preds: dict[str, list[str]] = {}
    succs: dict[str, list[str]] = {}
    for box in graph.boxes:
        items.setdefault(box.column, []).append((box.key, _height(box), box.order, box.kind == "node"))
        preds[box.key], succs[box.key] = [], []

    def link(a: str, b: str) -> None:
        succs[a].append(b)
        preds[b].append(a)

    for i, edge in enumerate(graph.edges):
        c0, c1 = graph.box(edge.src).column, graph.box(edge.dst).column
        if c1 <= c0:
            continue  # back edge: drawn under the graph, does not order anything
        prev = edge.src
        for col in range(c0 + 1, c1):
            key = f"~{i}@{col}"
            items.setdefault(col, []).append((key, LANE, 10**9 + i, True))
            preds[key], succs[key] = [], []
            link(prev, key)
            prev = key
        link(prev, edge.dst)
    ys: dict[str, float] = {}
    order = sorted(items)

    def stack(col: int) -> None:
        y = 0.0
        for key, h, _, _ in items[col]:
            ys[key] = y + h / 2
            y += h + (LANE_GAP if key.startswith("~") else ROW_GAP)

    def centre(item: tuple[str, float, int, bool]) -> tuple[float, bool, int]:
        key, _, rank, is_node = item
        known = [ys[k] for k in (preds[key] or succs[key]) if k in ys]
        return (sum(known) / len(known) if known else float("inf"), is_node, rank)

    for col in order:
        items[col].sort(key=lambda it: it[2])
        stack(col)
    for _ in range(3):
        for col in order:
            items[col].sort(key=centre)
            stack(col)
    heights = {c: max(ys[k] + h / 2 for k, h, _, _ in items[c]) for c in order}
    tallest = max(heights.values(), default=0)
    back = any(graph.box(e.dst).column <= graph.box(e.src).column for e in graph.edges)
    left = MARGIN + (50 if back else 0)  # room for a back edge entering the first column
    pos: dict[str, tuple[int, int]] = {}
    via: dict[int, list[tuple[int, int]]] = {}
    for col in order:
        shift = TOP + (tallest - heights[col]) / 2
        x = _column_x(left, col)
        for key, h, _, _ in items[col]:
            top = int(shift + ys[key] - h / 2)
            if key.startswith("~"):
                edge_index = int(key[1:].split("@")[0])
                via.setdefault(edge_index, []).append((x, top + LANE // 2))
            else:
                pos[key] = (x, top)
    n_cols = (max(order) + 1) if order else 0
    width = left + MARGIN + n_cols * BOX_W + max(n_cols - 1, 0) * COL_GAP
    return Layout(pos, via, width, int(TOP + tallest), order, left)


def _port_y(y: int, row: int) -> int:
    return y + HEAD + row * ROW + ROW // 2


def _curve(x1: float, y1: float, x2: float, y2: float) -> str:
    """A cubic from (x1, y1) to (x2, y2), leaving and arriving horizontally."""
    bend = max(30, (x2 - x1) / 2)
    return f"C{x1 + bend:.0f},{y1} {x2 - bend:.0f},{y2} {x2},{y2}"


def _svg(graph: Graph) -> str:
    e = html.escape
    lay = layout(graph)
    pos, bottom = lay.pos, lay.bottom
    back = [edge for edge in graph.edges if graph.box(edge.dst).column <= graph.box(edge.src).column]
    height = bottom + MARGIN + (len(back) * 22 + 12 if back else 0)
    out = [
        (f'<svg id="graph" width="{lay.width}" height="{height}" viewBox="0 0 {lay.width} {height}" role="img" '
         f'aria-label="graph of tube {e(graph.tube_id)}" font-family="system-ui, sans-serif">'),
        "<defs>",
    ]
    for kind, colour in _EDGE_COLOURS.items():
        out.append(
            f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        )
    out.append("</defs>")
    first_node_col = min((b.column for b in graph.boxes if b.kind == "node"), default=0)
    for c in lay.columns:
        caption = f"generation {c - first_node_col}" if c >= first_node_col else "inputs &amp; assets"
        out.append(f'<text class="caption" x="{_column_x(lay.left, c) + BOX_W // 2}" y="{TOP - 18}" '
                   f'text-anchor="middle">{caption}</text>')
    out.append('<g class="edges">')
    k_back = 0
    for i, edge in enumerate(graph.edges):
        src, dst = graph.box(edge.src), graph.box(edge.dst)
        sx, sy = pos[src.key]
        dx, dy = pos[dst.key]
        x1 = sx + BOX_W
        y1 = _port_y(sy, [n for n, _ in src.outs].index(edge.src_port))
        x2 = dx
        y2 = _port_y(dy, [n for n, _ in dst.ins].index(edge.dst_port))
        label = ""
        if dst.column > src.column:
            d = f"M{x1},{y1}"
            px, py = x1, y1
            for vx, vy in lay.via.get(i, []):  # straight through each crossed column's lane
                d += f" {_curve(px, py, vx, vy)} L{vx + BOX_W},{vy}"
                px, py = vx + BOX_W, vy
            d += f" {_curve(px, py, x2, y2)}"
        else:  # a back edge: out to the right, along the bottom, in from the left
            yb = bottom + 18 + 22 * k_back
            k_back += 1
            d = (f"M{x1},{y1} C{x1 + 45},{y1} {x1 + 45},{yb} {x1},{yb} L{x2},{yb} "
                 f"C{x2 - 45},{yb} {x2 - 45},{y2} {x2},{y2}")
            label = (f'<text class="edge-label" x="{(x1 + x2) // 2}" y="{yb - 5}" text-anchor="middle">'
                     f"{e(edge.text)}</text>")
        dash = ' stroke-dasharray="6 4"' if edge.kind in ("asset", "store") else ""
        out.append(
            f'<g class="edge {edge.kind}" data-from="{e(edge.src)}" data-to="{e(edge.dst)}">'
            f'<path d="{d}" fill="none" stroke="{_EDGE_COLOURS[edge.kind]}" stroke-width="1.6"{dash} '
            f'marker-end="url(#arrow-{edge.kind})"/><title>{e(edge.text)}</title>{label}</g>'
        )
    out.append("</g>")
    out.append('<g class="boxes">')
    for box in graph.boxes:
        x, y = pos[box.key]
        h = _height(box)
        attr = {"node": "data-node", "input": "data-input", "asset": "data-asset"}[box.kind]
        cls = f"box {box.kind}" + ("" if box.enabled else " disabled")
        tip = f"{box.kind} {box.id}\ntype: {box.type}\n{box.detail}" + (f"\n{box.description}" if box.description else "")
        if box.kind == "node":
            tip += "\nslots: " + (", ".join(label for _, label in box.ins) or "none")
            tip += "\nsignals: " + (", ".join(label for _, label in box.outs) or "none")
        out.append(f'<g class="{cls}" {attr}="{e(box.id)}" data-key="{e(box.key)}" transform="translate({x},{y})">')
        out.append(f"<title>{e(tip)}</title>")
        out.append(f'<rect class="frame" width="{BOX_W}" height="{h}" rx="7"/>')
        out.append(f'<rect class="head" width="{BOX_W}" height="{HEAD - 4}" rx="7"/>')
        out.append(f'<text class="id" x="10" y="18">{e(_clip(box.id, 30))}</text>')
        out.append(f'<text class="type" x="10" y="32">{e(_clip(box.type, 36))}</text>')
        out.append(f'<text class="detail" x="10" y="44">{e(_clip(box.detail, 38))}</text>')
        for r, (_name, label) in enumerate(box.ins):
            py = HEAD + r * ROW + ROW // 2
            out.append(f'<circle class="port in" cx="0" cy="{py}" r="3.5"/>'
                       f'<text class="slot" x="9" y="{py + 4}">{e(_clip(label, 17))}</text>')
        for r, (_name, label) in enumerate(box.outs):
            py = HEAD + r * ROW + ROW // 2
            out.append(f'<circle class="port out" cx="{BOX_W}" cy="{py}" r="3.5"/>'
                       f'<text class="signal" x="{BOX_W - 9}" y="{py + 4}" text-anchor="end">{e(_clip(label, 17))}</text>')
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { padding: 14px 24px 4px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 20px 0 6px; }
.meta { color: #555; font-size: 13px; margin: 2px 0; }
.legend { font-size: 12px; color: #444; margin: 8px 0 0; display: flex; gap: 18px; flex-wrap: wrap; }
.legend span::before { content: ""; display: inline-block; width: 26px; height: 0; margin-right: 6px;
  vertical-align: middle; border-top: 2px solid var(--c); }
.legend .dashed::before { border-top-style: dashed; }
#canvas.fit svg { width: 100%; height: auto; }
button#fit { font-size: 12px; margin-left: auto; }
#canvas { overflow: auto; border-top: 1px solid #ddd; border-bottom: 1px solid #ddd; background: #fff; }
svg .caption { font-size: 12px; fill: #777; letter-spacing: .04em; text-transform: uppercase; }
svg .frame { fill: #fff; stroke: #888; stroke-width: 1.2; }
svg .head { fill: #f1f1f4; }
svg .input .frame { stroke: #3b78c4; } svg .input .head { fill: #e8f1fb; }
svg .asset .frame { stroke: #3c8d4f; } svg .asset .head { fill: #eaf6ec; }
svg .disabled { opacity: .45; } svg .disabled .frame { stroke-dasharray: 5 4; }
svg .id { font-size: 13px; font-weight: 600; fill: #111; }
svg .type { font-size: 11px; font-family: ui-monospace, monospace; fill: #444; }
svg .detail { font-size: 10px; fill: #777; }
svg .slot, svg .signal { font-size: 11px; font-family: ui-monospace, monospace; fill: #333; }
svg .port { fill: #fff; stroke: #555; stroke-width: 1.2; }
svg .edge-label { font-size: 11px; fill: #b3661c; }
svg .box { cursor: default; }
svg .box.hot .frame { stroke: #d33; stroke-width: 2.4; }
svg .edge.hot path { stroke-width: 3; }
svg .edges.dim .edge:not(.hot) { opacity: .18; }
main { padding: 0 24px 24px; }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f1f1f4; }
code { font-family: ui-monospace, monospace; font-size: 12px; }
"""

# fit a wide graph to the window (toggle), highlight a box's edges on hover; plain DOM, no library
_JS = """
var canvas = document.getElementById('canvas'), svg = document.getElementById('graph');
var toggle = document.getElementById('fit');
function setFit(on) { canvas.classList.toggle('fit', on); toggle.textContent = on ? 'actual size' : 'fit to window'; }
toggle.addEventListener('click', function () { setFit(!canvas.classList.contains('fit')); });
var ratio = canvas.clientWidth / svg.width.baseVal.value;
setFit(ratio < 1 && ratio > 0.5);
toggle.hidden = ratio >= 1;
document.querySelectorAll('#graph .box').forEach(function (box) {
  var key = box.getAttribute('data-key');
  var edges = document.querySelector('#graph .edges');
  box.addEventListener('mouseenter', function () {
    box.classList.add('hot'); edges.classList.add('dim');
    edges.querySelectorAll('.edge').forEach(function (e) {
      if (e.getAttribute('data-from') === key || e.getAttribute('data-to') === key) e.classList.add('hot');
    });
  });
  box.addEventListener('mouseleave', function () {
    box.classList.remove('hot'); edges.classList.remove('dim');
    edges.querySelectorAll('.edge.hot').forEach(function (e) { e.classList.remove('hot'); });
  });
});
"""


def _table(head: list[str], rows: list[list[str]]) -> str:
    e = html.escape
    if not rows:
        return "<p class='meta'>none</p>"
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + f"</tr>{body}</table>"


def to_html(graph: Graph) -> str:
    """One self-contained HTML page: the inline SVG drawing, a legend, and tables of every box."""
    e = html.escape

    def code(text: str) -> str:
        return f"<code>{e(text)}</code>"

    nodes = [b for b in graph.boxes if b.kind == "node"]
    inputs = [b for b in graph.boxes if b.kind == "input"]
    assets = [b for b in graph.boxes if b.kind == "asset"]
    store = {edge.dst: edge for edge in graph.edges if edge.kind == "store"}
    counts = f"{len(nodes)} nodes, {len(inputs)} inputs, {len(assets)} assets, {len(graph.edges)} edges"
    legend = "".join(
        f'<span class="{"dashed" if kind in ("asset", "store") else ""}" style="--c:{colour}">{text}</span>'
        for kind, colour, text in [
            ("signal", _EDGE_COLOURS["signal"], "signal → slot"),
            ("input", _EDGE_COLOURS["input"], "input"),
            ("asset", _EDGE_COLOURS["asset"], "asset given to a node"),
            ("store", _EDGE_COLOURS["store"], "asset depends: stored for the next epoch (back edge)"),
        ]
    )
    node_rows = [
        [code(b.id), code(b.type), e(b.detail),
         ", ".join(code(label) for _, label in b.ins) or "—", ", ".join(code(label) for _, label in b.outs) or "—"]
        for b in nodes
    ]
    input_rows = [[code(b.id), code(b.type), e(b.detail), e(b.description or "")] for b in inputs]
    asset_rows = [
        [code(b.id), code(b.type), e(b.detail), code(store[b.key].text) if b.key in store else "—"] for b in assets
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>noob tube {e(graph.tube_id)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>tube {code(graph.tube_id)}</h1>",
        f"<p class='meta'>{e(graph.description)}</p>" if graph.description else "",
        f"<p class='meta'>{e(counts)}" + (f" · from {code(graph.source)}" if graph.source else "") + "</p>",
        f"<div class='legend'>{legend}<button id='fit' type='button'>fit to window</button></div></header>",
        f"<div id='canvas'>{_svg(graph)}</div>",
        "<main>",
        "<h2>Nodes</h2>", _table(["id", "type", "", "slots", "signals"], node_rows),
        "<h2>Inputs</h2>", _table(["id", "type", "", "description"], input_rows),
        "<h2>Assets</h2>", _table(["id", "type", "", "depends (round trip)"], asset_rows),
        "</main>",
        f"<script>{_JS}</script>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


# --------------------------------------------------------------------------- command

_SUFFIXES = {
    ".html": "html", ".htm": "html", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".md": "mermaid",
    ".png": "png", ".svg": "svg", ".pdf": "pdf",
}
#: formats drawn by Graphviz's ``dot`` from our dot text
RENDERED = ("png", "svg", "pdf")
FORMATS = ("mermaid", "dot", "html", *RENDERED)


def _format_of(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    if not args.output or args.output == "-":
        return "mermaid"
    suffix = Path(args.output).suffix.lower()
    if not suffix:
        return "mermaid"
    if suffix not in _SUFFIXES:
        known = ", ".join(sorted(_SUFFIXES))
        raise CliError(f"cannot tell the format of {args.output!r} from its suffix {suffix!r} "
                       f"(known: {known}); give --format {{{','.join(FORMATS)}}}")
    return _SUFFIXES[suffix]


def render(dot_text: str, fmt: str) -> bytes:
    """``dot_text`` drawn as ``fmt`` (png, svg or pdf) by Graphviz's ``dot`` command."""
    exe = shutil.which("dot")
    if exe is None:
        raise CliError(f"drawing {fmt} needs Graphviz's `dot` command, which is not on PATH "
                       "(Debian: apt-get install graphviz); or write --format dot/html/mermaid")
    try:
        proc = subprocess.run([exe, f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise CliError(f"Graphviz's dot took more than 120 s to draw the {fmt}") from None
    if proc.returncode != 0:
        raise CliError(f"Graphviz's dot failed drawing {fmt}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def command(args: argparse.Namespace) -> int:
    fmt = _format_of(args)
    spec = load_spec(args.tube)
    tube, _ = build_tube(spec, parse_assignments(args.inputs), placeholders=True)
    graph = graph_of(tube)
    data: bytes | str
    if fmt in RENDERED:
        data = render(to_dot(graph), fmt)
    else:
        data = {"mermaid": to_mermaid, "dot": to_dot, "html": to_html}[fmt](graph)
    if args.output is None or args.output == "-":
        if isinstance(data, bytes):
            if sys.stdout.isatty() and fmt != "svg":
                raise CliError(f"refusing to write {fmt} to a terminal; give -o FILE")
            sys.stdout.buffer.write(data)
        else:
            sys.stdout.write(data)
        return 0
    path = Path(args.output)
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {args.output!r}: {exc.strerror or exc}") from None
    print(f"noob show: wrote {fmt} of tube {tube.tube_id!r} to {path}", file=sys.stderr)
    return 0
