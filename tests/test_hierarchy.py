"""Label hierarchies: child -> parent maps and the ways they can be wrong."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from pipeline.data.hierarchy import (
    Edge,
    ancestors,
    build_parents,
    closed_under_parents,
    lift_to_descendants,
    read_tsv_edges,
)
from pipeline.errors import DataError


def test_build_parents_gives_the_child_parent_map():
    edges = [Edge("football", "sports"), Edge("tennis", "sports"), Edge("sports", "root")]
    assert build_parents(edges) == {"football": "sports", "tennis": "sports", "sports": "root"}


def test_repeating_the_same_edge_is_harmless():
    assert build_parents([Edge("a", "b"), Edge("a", "b")]) == {"a": "b"}


def test_no_edges_give_an_empty_map():
    assert build_parents([]) == {}


def test_two_parents_name_both_places_and_both_parents():
    edges = [
        Edge("apple", "fruit", "h.tsv", 1),
        Edge("pear", "fruit", "h.tsv", 2),
        Edge("apple", "company", "h.tsv", 7),
    ]
    with pytest.raises(DataError) as exc:
        build_parents(edges)
    msg = str(exc.value)
    assert msg.startswith("h.tsv, line 7: ")
    assert "'apple'" in msg
    assert "'fruit' (h.tsv, line 1)" in msg
    assert "'company'" in msg
    assert (exc.value.path, exc.value.line) == ("h.tsv", 7)


def test_cycle_is_printed_in_child_to_parent_order():
    edges = [Edge("a", "b", "h.tsv", 1), Edge("b", "c", "h.tsv", 2), Edge("c", "a", "h.tsv", 3)]
    with pytest.raises(DataError) as exc:
        build_parents(edges)
    msg = str(exc.value)
    assert "a -> b -> c -> a" in msg
    assert msg.startswith("h.tsv, line 1: ")  # the edge a -> b, where the cycle was entered


def test_cycle_reached_from_outside_prints_only_the_cycle():
    edges = [Edge("x", "a", "h.tsv", 1), Edge("a", "b", "h.tsv", 2), Edge("b", "a", "h.tsv", 3)]
    with pytest.raises(DataError) as exc:
        build_parents(edges)
    msg = str(exc.value)
    assert "cycle: a -> b -> a" in msg
    assert "x ->" not in msg


def test_self_loop_is_a_cycle():
    with pytest.raises(DataError) as exc:
        build_parents([Edge("ok", "root", "h.tsv", 1), Edge("a", "a", "h.tsv", 2)])
    msg = str(exc.value)
    assert msg.startswith("h.tsv, line 2: ")
    assert "a -> a" in msg


def test_ancestors_nearest_first():
    parents = {"c1511": "c151", "c151": "c15", "c15": "ccat"}
    assert ancestors("c1511", parents) == ["c151", "c15", "ccat"]
    assert ancestors("ccat", parents) == []
    assert ancestors("unknown", parents) == []


def test_read_tsv_edges(tmp_path):
    path = tmp_path / "hierarchy.tsv"
    path.write_text("# child<TAB>parent\n\nfootball\tsports\n  tennis \t sports \n")
    edges = read_tsv_edges(path)
    assert [(e.child, e.parent, e.line) for e in edges] == [("football", "sports", 3), ("tennis", "sports", 4)]
    assert all(e.path == str(path) for e in edges)


@pytest.mark.parametrize("bad", ["football sports", "a\tb\tc", "\tsports", "football\t "])
def test_read_tsv_edges_malformed_line_names_file_and_line(tmp_path, bad):
    path = tmp_path / "hierarchy.tsv"
    path.write_text(f"fruit\tfood\n{bad}\n")
    with pytest.raises(DataError) as exc:
        read_tsv_edges(path)
    assert str(exc.value).startswith(f"{path}, line 2: ")


def test_errors_from_a_file_point_at_the_offending_line(tmp_path):
    path = tmp_path / "hierarchy.tsv"
    path.write_text("a\tb\nb\tc\n# comment\nc\ta\n")
    with pytest.raises(DataError, match=r"line 1: label hierarchy has a cycle: a -> b -> c -> a"):
        build_parents(read_tsv_edges(path))
    path.write_text("a\tb\n\nb\tc\na\tc\n")
    with pytest.raises(DataError) as exc:
        build_parents(read_tsv_edges(path))
    assert str(exc.value).startswith(f"{path}, line 4: ")
    assert f"'b' ({path}, line 1) and 'c'" in str(exc.value)


# --- scores consistent with the hierarchy ---------------------------------------------------------

# columns: 0 root, 1 child of 0, 2 child of 1, 3 child of 0, 4 a root of its own
PARENT_OF = np.array([-1, 0, 1, 0, -1])
PARENTS = sp.csr_matrix((np.ones(3, np.float32), ([1, 2, 3], [0, 1, 0])), shape=(5, 5))  # [label, parent] = 1


def test_lift_raises_each_label_to_just_below_its_best_descendant_along_whole_chains():
    scores = np.array([[0.0, 1.0, 3.0, 2.0, 5.0], [4.0, -1.0, -2.0, 0.0, 0.0], [-3.0, -2.0, -5.0, -1.0, -4.0]])
    out = lift_to_descendants(scores, PARENT_OF)
    below = lambda x, n=1: x if n == 0 else below(np.nextafter(x, -np.inf), n - 1)  # noqa: E731
    assert out.tolist() == [
        [below(3.0, 2), below(3.0), 3.0, 2.0, 5.0],  # 2 -> 1 -> 0: the grandchild's 3 reaches the root
        [4.0, -1.0, -2.0, 0.0, 0.0],  # already consistent: unchanged
        [below(-1.0), -2.0, -5.0, -1.0, -4.0],
    ]  # the root takes the better of its two children
    assert scores[0, 0] == 0.0  # a copy: the input is untouched
    assert np.all(
        out[:, [1, 2, 3]] <= np.nextafter(out[:, [0, 1, 0]], np.inf)
    )  # no label above its parent but by a float step ...
    assert np.argsort(-out[0]).tolist() == [4, 2, 1, 0, 3]  # ... and a raised parent ranks right after its child
    assert np.array_equal(lift_to_descendants(scores, np.full(5, -1)), scores)  # no hierarchy: nothing moves
    f32 = lift_to_descendants(scores.astype(np.float32), PARENT_OF)
    assert f32.dtype == np.float32 and f32[0, 1] == np.nextafter(np.float32(3.0), np.float32(-np.inf))


def test_closed_under_parents_needs_every_parent_of_every_held_label():
    closed = sp.csr_matrix(np.array([[1, 1, 1, 0, 0], [1, 0, 0, 1, 1], [0, 0, 0, 0, 1]], np.float32))
    assert closed_under_parents(closed, PARENTS)
    grandparent_missing = sp.csr_matrix(np.array([[0, 1, 1, 0, 0]], np.float32))
    assert not closed_under_parents(grandparent_missing, PARENTS)
    assert closed_under_parents(sp.csr_matrix((2, 5), dtype=np.float32), PARENTS)  # nothing held, nothing missing
