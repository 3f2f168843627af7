"""Teacher sets and sequences (Section 3.2, Algorithm 1), the kNN teacher as a predictor, and no leakage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from pipeline import schemas
from pipeline.data import folder
from pipeline.data.corpus import build_label_table
from pipeline.data.text import tokenise_corpus
from pipeline.method import embed
from pipeline.method import neighbours as nb
from pipeline.method.teacher import (
    LabelSpace,
    build_teacher_tables,
    knn_rank,
    knn_scores,
    rank_rows,
    teacher_sets,
    teacher_tokens,
    vote_shares,
)
from pipeline.report import metrics
from tests.tiny import make_docs, write_folder_dataset

# --- the hand-built example -----------------------------------------------------------
#
# Hierarchy: football -> sports, tennis -> sports, fruit -> food; misc is a root with no
# parent (and so are sports and food).
PARENTS = {"football": "sports", "tennis": "sports", "fruit": "food"}
TRAIN = {
    "t0": ["football"],
    "t1": ["tennis", "misc"],
    "t2": ["fruit"],
    "t3": ["football", "tennis"],
    "t4": ["fruit", "misc"],
    "t5": ["football"],
}
TEST = {"e0": ["football", "tennis"], "e1": ["fruit", "misc"]}
# Train counts: football 3, tennis 2, fruit 2, misc 2, food 0, sports 0; test counts break the
# tie between tennis/fruit/misc (1 each), then the name does:
ORDER = ["football", "fruit", "misc", "tennis", "food", "sports"]
T = {f"t{i}": i for i in range(6)}


def docs_table(docs: dict[str, list[str]]) -> pa.Table:
    return schemas.conform(
        pa.table({"id": list(docs), "text": [f"text of {d}" for d in docs], "labels": list(docs.values())}), "documents"
    )


@pytest.fixture
def example():
    train, test = docs_table(TRAIN), docs_table(TEST)
    labels = build_label_table(train, test, PARENTS, {})
    assert labels["label"].to_pylist() == ORDER  # label order = train frequency
    space = LabelSpace.from_table(labels)
    return train, test, labels, space


def names(space: LabelSpace, lists: pa.ListArray) -> list[list[str]]:
    return [[space.labels[i].as_py() for i in row] for row in lists.to_pylist()]


# Queries and their neighbours (train rows), best first:
#   q0: t3 0.5, t1 0.25, t2 0.25
#   q1: t4 0.75, t0 0.5, t5 0.5
#   q2: t2 0.5, then nothing (-1)
#   q3: t0 with a negative similarity
Q_IDX = np.array([[T["t3"], T["t1"], T["t2"]], [T["t4"], T["t0"], T["t5"]], [T["t2"], -1, -1], [T["t0"], -1, -1]])
Q_SIM = np.array([[0.5, 0.25, 0.25], [0.75, 0.5, 0.5], [0.5, -1, -1], [-0.2, -1, -1]], dtype=np.float32)


def test_teacher_sets_default_mode_by_hand(example):
    train, _, _, space = example
    y = space.matrix(train["labels"])
    labs, votes = teacher_sets(Q_IDX, Q_SIM, y, space, max_labels=10)
    # q0: t3 {football, tennis, +sports} 0.5; t1 {tennis, misc, +sports} 0.25; t2 {fruit, +food} 0.25
    #     tennis .75, sports .75 (t3 votes for sports once, not once per child), football .5,
    #     misc .25, fruit .25, food .25; ties in label order: tennis < sports, fruit < misc < food.
    # q1: t4 {fruit, misc, +food} .75; t0 and t5 {football, +sports} .5 each
    #     football 1.0, sports 1.0, fruit .75, misc .75, food .75
    # q2: t2 {fruit, +food} .5; the missing neighbours add nothing
    # q3: a negative similarity still puts t0's labels in the set (the union stays the union)
    assert names(space, labs) == [
        ["tennis", "sports", "football", "fruit", "misc", "food"],
        ["football", "sports", "fruit", "misc", "food"],
        ["fruit", "food"],
        ["football", "sports"],
    ]
    got = votes.to_pylist()
    assert got[0] == pytest.approx([0.75, 0.75, 0.5, 0.25, 0.25, 0.25])
    assert got[1] == pytest.approx([1.0, 1.0, 0.75, 0.75, 0.75])
    assert got[2] == pytest.approx([0.5, 0.5])
    assert all(0 < v < 1e-3 for v in got[3])


def test_vote_shares_divide_by_the_neighbour_weights_by_hand(example):
    train, _, _, space = example
    _, votes = teacher_sets(Q_IDX, Q_SIM, space.matrix(train["labels"]), space, max_labels=10)
    got = vote_shares(Q_IDX, Q_SIM, votes).to_pylist()
    assert got[0] == pytest.approx([0.75, 0.75, 0.5, 0.25, 0.25, 0.25])  # weights sum to 1.0
    assert got[1] == pytest.approx([1 / 1.75, 1 / 1.75, 0.75 / 1.75, 0.75 / 1.75, 0.75 / 1.75])
    assert got[2] == pytest.approx([1.0, 1.0])  # the missing neighbours weigh nothing: t2 is all there is
    assert got[3] == pytest.approx([1.0, 1.0])  # a lone neighbour with a negative similarity still holds the whole vote


def test_teacher_sets_are_capped_by_max_labels(example):
    train, _, _, space = example
    labs, _ = teacher_sets(Q_IDX, Q_SIM, space.matrix(train["labels"]), space, max_labels=3)
    assert names(space, labs) == [
        ["tennis", "sports", "football"],
        ["football", "sports", "fruit"],
        ["fruit", "food"],
        ["football", "sports"],
    ]


def test_teacher_sets_without_parents(example):
    train, _, _, space = example
    labs, votes = teacher_sets(Q_IDX, Q_SIM, space.matrix(train["labels"]), space, parents=False)
    # q0: tennis .75, football .5, fruit .25, misc .25; q1: football 1.0, fruit .75, misc .75
    assert names(space, labs) == [
        ["tennis", "football", "fruit", "misc"],
        ["football", "fruit", "misc"],
        ["fruit"],
        ["football"],
    ]
    assert votes.to_pylist()[0] == pytest.approx([0.75, 0.5, 0.25, 0.25])


def test_teacher_sets_literal_mode_keeps_only_labels_with_a_parent_and_their_parents(example):
    train, _, _, space = example
    labs, _ = teacher_sets(Q_IDX, Q_SIM, space.matrix(train["labels"]), space, mode="literal")
    # Algorithm 1 to the letter: misc (no parent) never enters, even though t1 and t4 carry it.
    # q0: tennis .75, sports .75, football .5, fruit .25, food .25
    assert names(space, labs) == [
        ["tennis", "sports", "football", "fruit", "food"],
        ["football", "sports", "fruit", "food"],
        ["fruit", "food"],
        ["football", "sports"],
    ]
    # without parents, literal mode is just the labels that have a parent
    labs, _ = teacher_sets(Q_IDX, Q_SIM, space.matrix(train["labels"]), space, mode="literal", parents=False)
    assert names(space, labs) == [["tennis", "football", "fruit"], ["football", "fruit"], ["fruit"], ["football"]]
    with pytest.raises(ValueError, match="mode"):
        teacher_sets(Q_IDX, Q_SIM, space.matrix(train["labels"]), space, mode="greedy")


def test_rank_rows_breaks_ties_by_the_tie_break_then_caps():
    scores = sp.csr_matrix(
        np.array([[0.5, 0.0, 0.5, 0.9], [0.0, 0.0, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4]], dtype=np.float32)
    )
    labs, vals = rank_rows(scores, cap=2, tie_break=np.array([3, 0, 1, 2]))
    assert labs.to_pylist() == [[3, 2], [], [3, 2]]  # label 2 ranks before 0 (tie-break 1 < 3)
    assert vals.to_pylist() == [pytest.approx([0.9, 0.5]), [], pytest.approx([0.4, 0.3])]


# --- teacher_tokens --------------------------------------------------------------------


def test_teacher_tokens_concatenate_descriptions_in_rank_order_and_truncate():
    descriptions = pa.array([[10, 11], [12], [], [13, 14, 15]], pa.list_(pa.int32()))
    ranked = pa.array([[3, 0], [1, 2, 0], [], [2]], pa.list_(pa.int64()))
    assert teacher_tokens(ranked, descriptions, max_len=64).to_pylist() == [[13, 14, 15, 10, 11], [12, 10, 11], [], []]
    assert teacher_tokens(ranked, descriptions, max_len=4).to_pylist() == [[13, 14, 15, 10], [12, 10, 11], [], []]


# --- the kNN teacher as a predictor -------------------------------------------------------


def neighbour_table_of(ids, idx, sims, train_ids) -> pa.Table:
    return schemas.conform(
        nb.neighbour_table(pa.array(ids), np.asarray(idx), np.asarray(sims, np.float32), train_ids), "neighbours"
    )


TRAIN_IDS = np.array(list(TRAIN), dtype=object)


def test_knn_scores_are_votes_for_the_labels_themselves(example):
    train, _, _, space = example
    s = knn_scores(Q_IDX[:2], Q_SIM[:2], space.matrix(train["labels"])).toarray()
    # q0: football .5 (t3), fruit .25 (t2), misc .25 (t1), tennis .75 (t3 + t1); no parents
    np.testing.assert_allclose(s[0], [0.5, 0.25, 0.25, 0.75, 0, 0])
    np.testing.assert_allclose(s[1], [1.0, 0.75, 0.75, 0, 0, 0])


def knn_predict(docs, neigh, labels, top_k=10):
    """What the knn stage does: rank by votes (``knn_rank``), then score the test split."""
    predictions = knn_rank(docs, neigh, labels, top_k=top_k)
    counts = dict(zip(labels["label"].to_pylist(), labels["train_count"].to_pylist()))
    scores = metrics.evaluate(
        docs["test"]["labels"].to_pylist(), predictions["labels"].to_pylist(), counts, len(docs["train"]), (1, 3, 5)
    )
    return predictions, scores


def test_knn_predict_ranks_by_votes_and_reports_metrics(example):
    train, test, labels, _ = example
    neigh = neighbour_table_of(["e0", "e1"], Q_IDX[:2], Q_SIM[:2], TRAIN_IDS)
    predictions, scores = knn_predict({"train": train, "test": test}, neigh, labels, top_k=10)
    schemas.conform(predictions, "predictions")
    assert predictions["labels"].to_pylist() == [["tennis", "football", "fruit", "misc"], ["football", "fruit", "misc"]]
    assert predictions["scores"].to_pylist()[0] == pytest.approx([0.75, 0.5, 0.25, 0.25])
    assert set(scores) == {f"{m}@{k}" for m in ("P", "nDCG", "PSP") for k in (1, 3, 5)}
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    assert scores["P@1"] == pytest.approx(0.5)  # e0: tennis is right; e1: football is wrong
    assert scores["P@3"] == pytest.approx((2 / 3 + 2 / 3) / 2)


def test_knn_predict_is_perfect_when_the_neighbours_carry_exactly_the_test_labels(example):
    train, test, labels, _ = example
    # e0 {football, tennis} -> t3 {football, tennis}; e1 {fruit, misc} -> t4 {fruit, misc}
    neigh = neighbour_table_of(["e0", "e1"], [[T["t3"]], [T["t4"]]], [[0.9], [0.8]], TRAIN_IDS)
    _, scores = knn_predict({"train": train, "test": test}, neigh, labels)
    assert scores["P@1"] == 1.0
    for k in (1, 3, 5):
        assert scores[f"nDCG@{k}"] == pytest.approx(1.0)
    for k in (3, 5):
        assert scores[f"PSP@{k}"] == pytest.approx(1.0)
    # PSP@1 alone falls short: e0's tie (football, tennis at 0.9) goes to football, the more
    # frequent label, while the best possible top 1 is the rarer (higher-propensity) tennis.
    assert scores["PSP@1"] < 1.0


def test_knn_predict_rejects_misaligned_neighbours(example):
    train, test, labels, _ = example
    neigh = neighbour_table_of(["e1", "e0"], Q_IDX[:2], Q_SIM[:2], TRAIN_IDS)
    with pytest.raises(ValueError, match="not aligned"):
        knn_predict({"train": train, "test": test}, neigh, labels)


# --- build_teacher_tables ------------------------------------------------------------------

# Each train document's neighbours (itself excluded), best first:
TRAIN_NEIGH = (
    [
        [T["t5"], T["t3"]],
        [T["t3"], T["t2"]],
        [T["t4"], T["t0"]],
        [T["t0"], T["t1"]],
        [T["t1"], T["t5"]],
        [T["t0"], T["t3"]],
    ],
    [[0.9, 0.5], [0.5, 0.25], [0.5, 0.25], [0.5, 0.5], [0.5, 0.25], [0.9, 0.5]],
)
# Descriptions as token ids, in an order of their own (alphabetical, not the label table's).
LABEL_TOKENS = pa.table(
    {
        "label": ["food", "football", "fruit", "misc", "sports", "tennis"],
        "tokens": pa.array([[18], [10, 11], [12], [13, 14, 15], [19], [16, 17]], pa.list_(pa.int32())),
    }
)


def test_build_teacher_tables_by_hand(example):
    train, test, labels, _ = example
    neigh = {
        "train": neighbour_table_of(list(TRAIN), *TRAIN_NEIGH, TRAIN_IDS),
        "test": neighbour_table_of(list(TEST), Q_IDX[:2], Q_SIM[:2], TRAIN_IDS),
    }
    tables, stats = build_teacher_tables(
        {"train": train, "test": test}, neigh, labels, LABEL_TOKENS, max_labels=3, max_len=6
    )
    for split in ("train", "test"):
        assert schemas.conform(tables[split], "teacher").num_rows == len(neigh[split])
        assert tables[split]["neighbours"].to_pylist() == neigh[split]["neighbours"].to_pylist()
    # test: e0 -> [tennis, sports, football], e1 -> [football, sports, fruit] (see the q0/q1 sums above)
    assert tables["test"]["teacher_labels"].to_pylist() == [
        ["tennis", "sports", "football"],
        ["football", "sports", "fruit"],
    ]
    # tennis 16 17, sports 19, football 10 11 | 6 tokens: football 10 11, sports 19, fruit 12
    assert tables["test"]["teacher_tokens"].to_pylist() == [[16, 17, 19, 10, 11], [10, 11, 19, 12]]
    # vote shares: e0's weights sum to 1.0 (tennis .75, sports .75, football .5); e1's to 1.75 (football 1.0,
    # sports 1.0, fruit .75)
    shares = tables["test"]["teacher_votes"].to_pylist()
    assert shares[0] == pytest.approx([0.75, 0.75, 0.5]) and shares[1] == pytest.approx(
        [1 / 1.75, 1 / 1.75, 0.75 / 1.75]
    )
    # train (top 3 of each vote list; ties in label order):
    #   t0 <- t5 .9, t3 .5: football 1.4, sports 1.4, tennis .5 -> covers football: 1
    #   t1 <- t3 .5, t2 .25: football .5, tennis .5, sports .5 (fruit, food .25 cut) -> tennis, not misc: 1/2
    #   t2 <- t4 .5, t0 .25: fruit .5, misc .5, food .5 -> fruit: 1
    #   t3 <- t0 .5, t1 .5: sports 1.0, football .5, misc .5 (tennis .5 cut) -> football: 1/2
    #   t4 <- t1 .5, t5 .25: sports .75, misc .5, tennis .5 (football .25 cut) -> misc: 1/2
    #   t5 <- t0 .9, t3 .5: like t0 -> 1
    assert tables["train"]["teacher_labels"].to_pylist() == [
        ["football", "sports", "tennis"],
        ["football", "tennis", "sports"],
        ["fruit", "misc", "food"],
        ["sports", "football", "misc"],
        ["sports", "misc", "tennis"],
        ["football", "sports", "tennis"],
    ]
    assert stats["train"]["true_labels_covered"] == pytest.approx((1 + 0.5 + 1 + 0.5 + 0.5 + 1) / 6, abs=1e-4)
    # e0 {football, tennis}: both covered; e1 {fruit, misc}: fruit only
    assert stats["test"]["true_labels_covered"] == pytest.approx((1 + 0.5) / 2)
    assert stats["test"]["mean_labels"] == 3.0 and stats["test"]["empty_sets"] == 0
    assert stats["test"]["mean_tokens"] == pytest.approx((5 + 4) / 2)
    assert (stats["mode"], stats["parents"], stats["max_labels"], stats["max_len"]) == ("default", True, 3, 6)


def test_build_teacher_tables_needs_a_description_for_every_label(example):
    train, test, labels, _ = example
    neigh = {
        "train": neighbour_table_of(list(TRAIN), *TRAIN_NEIGH, TRAIN_IDS),
        "test": neighbour_table_of(list(TEST), Q_IDX[:2], Q_SIM[:2], TRAIN_IDS),
    }
    with pytest.raises(ValueError, match="rerun `tokenise`"):
        build_teacher_tables({"train": train, "test": test}, neigh, labels, LABEL_TOKENS.slice(1))


# --- no leakage, end to end through the library -----------------------------------------------

UNIQUE, UNIQUE_PARENT = "secret", "classified"  # carried by one test document only


def leaky_looking_corpus(tmp_path: Path):
    """The tiny corpus, plus: a test document with a test-only label (and test-only parent), and
    a train document that is a verbatim copy of another test document's text, under a train id."""
    src = write_folder_dataset(tmp_path / "src", n_train=60, n_test=20, seed=11)
    train, test = make_docs(60, 11, "tr"), make_docs(20, 12, "te")
    test[3]["labels"] = test[3]["labels"] + [UNIQUE]
    train.append({"id": "tr-copy", "text": test[5]["text"], "labels": test[5]["labels"]})
    (src / "train.jsonl").write_text("".join(json.dumps(d) + "\n" for d in train))
    (src / "test.jsonl").write_text("".join(json.dumps(d) + "\n" for d in test))
    with open(src / "hierarchy.tsv", "a") as f:
        f.write(f"{UNIQUE}\t{UNIQUE_PARENT}\n")
    return folder.load(src)


@pytest.mark.parametrize("backend", ["exact", "annoy"])
def test_no_leakage_end_to_end(tmp_path, backend):
    corpus = leaky_looking_corpus(tmp_path)
    assert UNIQUE in corpus.labels["label"].to_pylist() and UNIQUE_PARENT in corpus.labels["label"].to_pylist()

    # tokenise -> embed (Eq. 1) -> neighbours (Eq. 2) -> teacher (Algorithm 1), as the stages do
    tok, _ = tokenise_corpus(corpus.train, corpus.test, corpus.labels, max_words=100, label_max_words=4)
    words = np.array(tok["vocab"]["token"].to_pylist(), dtype=object)
    cfg = embed.Word2VecConfig(dim=16, epochs=5, workers=1, seed=3)
    kv = embed.train_word2vec(embed.sentences(tok["train"]["tokens"], words), cfg)
    matrix, _ = embed.embedding_matrix(words, kv, cfg.seed)
    vec = {s: embed.doc_vectors(tok[s]["tokens"], matrix) for s in ("train", "test")}
    tr_i, tr_s, te_i, te_s, _, _ = nb.find_neighbours(
        vec["train"], vec["test"], k=5, backend=backend, n_trees=10, search_k=-1, recall_sample=20, progress=False
    )
    train_ids = np.asarray(corpus.train["id"].to_pylist(), dtype=object)
    neigh = {
        "train": neighbour_table_of(corpus.train["id"].to_pylist(), tr_i, tr_s, train_ids),
        "test": neighbour_table_of(corpus.test["id"].to_pylist(), te_i, te_s, train_ids),
    }
    docs = {"train": corpus.train, "test": corpus.test}
    tables, _ = build_teacher_tables(docs, neigh, corpus.labels, tok["labels"], max_labels=10, max_len=48)

    train_labels = dict(zip(corpus.train["id"].to_pylist(), corpus.train["labels"].to_pylist()))
    parent = dict(zip(corpus.labels["label"].to_pylist(), corpus.labels["parent"].to_pylist()))
    test_ids = set(corpus.test["id"].to_pylist())
    for split in ("train", "test"):
        table = tables[split]
        for doc_id, neighbours, teacher in zip(
            table["id"].to_pylist(), table["neighbours"].to_pylist(), table["teacher_labels"].to_pylist()
        ):
            assert len(neighbours) == 5
            # (1) no train document is its own neighbour; (2) neighbours are train documents only
            assert doc_id not in neighbours
            assert all(n in train_labels and n not in test_ids for n in neighbours)
            # (3) every teacher label is carried by a neighbour, directly or as a parent of one
            carried = {lab for n in neighbours for lab in train_labels[n]}
            carried |= {parent[lab] for lab in carried if parent[lab] is not None}
            assert set(teacher) <= carried, (split, doc_id)
            assert UNIQUE not in teacher and UNIQUE_PARENT not in teacher
    assert all(len(t) > 0 for t in tables["test"]["teacher_labels"].to_pylist())

    # (4) the verbatim copy: the test text finds its train copy first (exclusion is by id, not
    # by text), and the copy, queried as a train document, does not find itself.
    te5 = corpus.test["id"].to_pylist().index("te5")
    copy = train_ids.tolist().index("tr-copy")
    assert te_i[te5, 0] == copy and te_s[te5, 0] == pytest.approx(1.0, abs=1e-5)
    assert tables["test"]["neighbours"][te5][0].as_py() == "tr-copy"
    assert copy not in tr_i[copy]
    assert tr_s[copy, 0] < 1.0 - 1e-3  # no other train text is the same
