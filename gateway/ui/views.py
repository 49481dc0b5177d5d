"""What the console's templates draw, computed from what the services return: bar and line charts as SVG
geometry, redacted text split at its placeholders, the lineage as a layered graph, ages in words.

Presentation only: no rule of ftgate's is decided here (who may act, what is admitted); the pages show
what the services and the policies said.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

BAR_WIDTH = 360  # px of the longest bar
BAR_HEIGHT = 22
LABEL_WIDTH = 200


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: int


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    height: int
    label_width: int = LABEL_WIDTH
    bar_width: int = BAR_WIDTH


def bar_chart(title: str, counts: dict[str, int], *, top: int = 20) -> BarChart:
    """Horizontal bars, largest first, at most `top` of them."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    most = max((v for _, v in items), default=0) or 1
    bars = [
        Bar(label=k, value=v, y=i * (BAR_HEIGHT + 6), width=max(2, round(v / most * BAR_WIDTH)))
        for i, (k, v) in enumerate(items)
    ]
    return BarChart(title=title, bars=bars, height=max(1, len(bars)) * (BAR_HEIGHT + 6))


@dataclass(frozen=True)
class Segment:
    text: str
    entity: str | None = None  # set on a replaced value


@dataclass(frozen=True)
class MarkedField:
    path: str
    segments: list[Segment]


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _value_at(record: Any, path: str) -> Any:
    """The value at a field path as the scan report writes it: `messages[1].content`, `metadata.name`."""
    node = record
    for name, index in _STEP.findall(path):
        if index:
            if not isinstance(node, list) or int(index) >= len(node):
                return None
            node = node[int(index)]
        else:
            if not isinstance(node, dict) or name not in node:
                return None
            node = node[name]
    return node


def marked_fields(sample: dict[str, Any]) -> list[MarkedField]:
    """Each field of a sample record that had a value replaced, cut into plain text and replaced spans."""
    by_path: dict[str, list[dict[str, Any]]] = {}
    for mark in sample.get("marks", []):
        if "{" in str(mark.get("field", "")):
            continue  # a replaced dict key: shown in the record's JSON
        by_path.setdefault(str(mark["field"]), []).append(mark)
    out = []
    for path, marks in by_path.items():
        text = _value_at(sample.get("redacted", {}), path)
        if not isinstance(text, str):
            continue
        segments, at = [], 0
        for mark in sorted(marks, key=lambda m: int(m["start"])):
            start, end = int(mark["start"]), int(mark["end"])
            if start < at or end > len(text):
                continue
            if start > at:
                segments.append(Segment(text[at:start]))
            segments.append(Segment(text[start:end], str(mark.get("entity", ""))))
            at = end
        if at < len(text):
            segments.append(Segment(text[at:]))
        out.append(MarkedField(path=path, segments=segments))
    return out


_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")
SHOWN_CHARS = 2000  # of one generated sample: a run-away generation is cut


def compact(text: Any) -> str:
    """Text for a <pre>: runs of blank lines made one, ends trimmed, at most `SHOWN_CHARS`."""
    text = _BLANK_LINES.sub("\n\n", str(text or "")).strip()
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + " …"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class LineChart:
    title: str
    points: str  # the polyline's "x,y x,y ..."
    width: int
    height: int
    x_label: str
    y_min: float
    y_max: float
    last: float | None
    count: int
    dots: list[tuple[float, float, str]] = field(default_factory=list)


def line_chart(
    title: str, values: list[tuple[int, float]], *, width: int = 560, height: int = 200
) -> LineChart:
    """A polyline of (x, y) values, y scaled between its minimum and maximum (the loss curve)."""
    if not values:
        return LineChart(title, "", width, height, "step", 0.0, 0.0, None, 0)
    xs = [x for x, _ in values]
    ys = [y for _, y in values]
    x0, x1 = min(xs), max(xs) or 1
    y0, y1 = min(ys), max(ys)
    span_x = (x1 - x0) or 1
    span_y = (y1 - y0) or 1.0
    pad = 10

    def at(x: int, y: float) -> tuple[float, float]:
        return (
            round(pad + (x - x0) / span_x * (width - 2 * pad), 1),
            round(pad + (1 - (y - y0) / span_y) * (height - 2 * pad), 1),
        )

    placed = [at(x, y) for x, y in values]
    return LineChart(
        title=title,
        points=" ".join(f"{px},{py}" for px, py in placed),
        width=width,
        height=height,
        x_label="step",
        y_min=y0,
        y_max=y1,
        last=ys[-1],
        count=len(values),
        dots=[(px, py, f"step {x}: {y:.4f}") for (px, py), (x, y) in zip(placed, values, strict=True)][-1:],
    )


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    label: str
    detail: str
    x: int
    y: int
    href: str | None = None


@dataclass(frozen=True)
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class Graph:
    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int


# Lineage stages, left to right, and the log actions that make a node of each.
STAGES = [
    ("dataset", ("dataset.received", "dataset.uploaded")),
    ("approval", ("dataset.approved",)),
    ("decision", ("job.submitted", "job.approved")),
    ("job", ("job.started", "job.succeeded")),
    ("adapter", ("adapter.registered",)),
    ("release", ("adapter.released", "adapter.downloaded", "adapter.quarantined")),
]
NODE_W, NODE_H, GAP_X, GAP_Y = 150, 54, 24, 16
DETAIL_CHARS = 22  # of a node's second line (an actor may be a long worker name)


def lineage_graph(entries: list[dict[str, Any]]) -> Graph:
    """The adapter's lineage entries as a left-to-right graph: dataset -> scan -> approvals ->
    decisions -> job -> adapter -> release, one column per stage, each stage linked to the next."""
    columns: list[list[dict[str, Any]]] = []
    for _stage, actions in STAGES:
        columns.append([e for e in entries if e.get("action") in actions])
    columns = [c for c in columns if c]
    nodes: list[Node] = []
    placed: list[list[Node]] = []
    for ci, column in enumerate(columns):
        row = []
        for ri, entry in enumerate(column):
            node = Node(
                id=f"n{entry.get('seq')}",
                kind=str(entry.get("action", "")).split(".")[0],
                label=str(entry.get("action", "")),
                detail=_cut(f"#{entry.get('seq')} {entry.get('actor', '')}", DETAIL_CHARS),
                x=20 + ci * (NODE_W + GAP_X),
                y=20 + ri * (NODE_H + GAP_Y),
            )
            row.append(node)
            nodes.append(node)
        placed.append(row)
    edges = []
    for left, right in zip(placed, placed[1:], strict=False):
        for a in left:
            for b in right:
                edges.append(Edge(a.x + NODE_W, a.y + NODE_H // 2, b.x, b.y + NODE_H // 2))
    width = 40 + len(placed) * (NODE_W + GAP_X)
    height = 40 + max((len(c) for c in placed), default=1) * (NODE_H + GAP_Y)
    return Graph(nodes=nodes, edges=edges, width=width, height=height)


def _cut(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def age(moment: datetime | str | None, now: datetime | None = None) -> str:
    """How long ago, in the largest whole unit: "3 min", "2 h", "5 d"."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
