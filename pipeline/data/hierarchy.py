"""Label hierarchies: a child -> parent map, checked for the two ways it can be wrong, and
scores made consistent with it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import scipy.sparse as sp

from pipeline.errors import DataError


@dataclass(frozen=True)
class Edge:
    child: str
    parent: str
    path: str | None = None  # the file the edge was read from, for error messages
    line: int | None = None


def build_parents(edges: Iterable[Edge]) -> dict[str, str]:
    """Return ``{child: parent}`` from edges; a label has at most one parent.

    Raises DataError for a label given two different parents (naming both
    places) and for a cycle (printing it, e.g. ``a -> b -> a``). Repeating the
    same edge is harmless.
    """
    parents: dict[str, str] = {}
    where: dict[str, Edge] = {}
    for e in edges:
        if e.child == e.parent:
            raise DataError(f"label {e.child!r} is its own parent (cycle: {e.child} -> {e.child})", e.path, e.line)
        old = parents.get(e.child)
        if old is not None and old != e.parent:
            first = where[e.child]
            first_at = f"{first.path}, line {first.line}" if first.path else "earlier"
            raise DataError(
                f"label {e.child!r} has two parents: {old!r} ({first_at}) and {e.parent!r}",
                e.path,
                e.line,
            )
        parents[e.child] = e.parent
        where.setdefault(e.child, e)
    _check_acyclic(parents, where)
    return parents


def _check_acyclic(parents: dict[str, str], where: dict[str, Edge]) -> None:
    done: set[str] = set()
    for start in parents:
        if start in done:
            continue
        seen: dict[str, int] = {}
        chain: list[str] = []
        node: str | None = start
        while node is not None and node not in done:
            if node in seen:
                cycle = chain[seen[node] :] + [node]
                e = where[node]
                raise DataError("label hierarchy has a cycle: " + " -> ".join(cycle), e.path, e.line)
            seen[node] = len(chain)
            chain.append(node)
            node = parents.get(node)
        done.update(chain)


def ancestors(label: str, parents: dict[str, str]) -> list[str]:
    """Parent, grandparent, ... of ``label`` (nearest first)."""
    out = []
    node = parents.get(label)
    while node is not None:
        out.append(node)
        node = parents.get(node)
    return out


def read_tsv_edges(path: str | Path) -> list[Edge]:
    """Read ``child<TAB>parent`` lines (blank lines and ``#`` comments skipped)."""
    from pipeline.data.textfile import iter_lines  # UTF-8 checked line by line, a byte-order mark dropped

    edges = []
    for n, line in enumerate(iter_lines(path), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise DataError(f"expected 'child<TAB>parent', got {line!r}", path, n)
        edges.append(Edge(parts[0].strip(), parts[1].strip(), str(path), n))
    return edges


def closed_under_parents(y: sp.csr_matrix, parents: sp.csr_matrix) -> bool:
    """Whether every document of ``y`` (docs x labels, binary) that holds a label also holds its
    parent; ``parents`` is (labels x labels) with a 1 at [label, parent] (``LabelSpace.parent_matrix``).
    RCV1's topic sets are closed."""
    needed = (y @ parents).tocoo()  # (doc, parent) for every label a doc holds
    return bool(np.all(np.asarray(y.tocsr()[needed.row, needed.col]).ravel() > 0)) if needed.nnz else True


def lift_to_descendants(scores: np.ndarray, parent_of: np.ndarray) -> np.ndarray:
    """Raise each label's score to (just below) the highest score among its descendants (a copy).

    When label sets are closed under parents, a text holds a label whenever it holds
    any descendant, so a label is at least as likely as each of its descendants; this
    makes the ranking say so. ``parent_of[l]`` is the column of l's parent, -1 for a
    root (or a parent that is not scored). Deepest labels first, so gains pass up whole chains.
    A raised label lands one float step below the descendant that raised it: the network's own
    order between the two stands, and only labels ranked below their descendants move.
    """
    out = np.array(scores, copy=True)
    depth = np.zeros(len(parent_of), np.int64)
    for label in range(len(parent_of)):
        node, seen = parent_of[label], 0
        while node >= 0 and seen <= len(parent_of):
            depth[label], node, seen = depth[label] + 1, parent_of[node], seen + 1
    for d in range(int(depth.max(initial=0)), 0, -1):
        child = np.flatnonzero((depth == d) & (parent_of >= 0))
        # just below the child (one float step), so a parent raised to its child still ranks after it
        np.maximum.at(out, (slice(None), parent_of[child]), np.nextafter(out[:, child], -np.inf))
    return out
