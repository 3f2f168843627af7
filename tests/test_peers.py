"""TF-IDF features and the peers (omikuji Parabel/Bonsai, napkinXC PLT) on tiny data."""

from __future__ import annotations

import logging
import os
import sys

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from pipeline.data import tfidf
from pipeline.errors import ConfigError
from pipeline.report import peers

PEERS = {
    "parabel": {"kind": "omikuji", "n_trees": 3, "cluster_k": 2, "cluster_balanced": True, "max_depth": 20},
    "bonsai": {"kind": "omikuji", "cluster_k": 100, "cluster_balanced": False, "max_depth": 3},
    "plt": {"kind": "napkinxc-plt", "arity": 2, "seed": 13},
}


# --- TF-IDF ---------------------------------------------------------------------------------------


def test_counts_skip_pad_and_unk_and_sum_repeats():
    c = tfidf.counts(pa.array([[2, 3, 3, 1, 0], [], [4]], pa.list_(pa.int32())), 6)
    assert c.toarray().tolist() == [[0, 0, 1, 2, 0, 0], [0] * 6, [0, 0, 0, 0, 1, 0]]


def test_idf_comes_from_train_only_and_rows_have_unit_norm():
    cfg = tfidf.TfidfConfig()
    train = tfidf.counts(pa.array([[2, 3], [2, 4], [2, 2, 5]], pa.list_(pa.int32())), 7)
    test = tfidf.counts(pa.array([[2, 6], [6]], pa.list_(pa.int32())), 7)
    idf = tfidf.fit_idf(train, cfg)
    assert idf[2] == pytest.approx(np.log(4 / 4) + 1) and idf[3] == pytest.approx(np.log(4 / 2) + 1)
    assert idf[0] == idf[1] == 0.0
    x = tfidf.transform(test, idf, cfg)
    # word 6 occurs in test only: no train df, so it is no feature (nothing is learnt from test texts)
    assert idf[6] == 0.0
    assert np.allclose(np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel()), [1.0, 0.0])
    assert x[0].nonzero()[1].tolist() == [2]
    t = tfidf.transform(train, idf, cfg).toarray()
    # sublinear tf: a word twice weighs (1 + ln 2) times its idf, relative to another word in the same row
    assert t[2, 2] / t[2, 5] == pytest.approx((1 + np.log(2)) * idf[2] / idf[5], rel=1e-5)


def test_min_df_drops_rare_words_and_empty_rows_stay_zero():
    cfg = tfidf.TfidfConfig(min_df=2)
    train = tfidf.counts(pa.array([[2, 3], [2]], pa.list_(pa.int32())), 4)
    idf = tfidf.fit_idf(train, cfg)
    assert idf[3] == 0.0 and idf[2] > 0
    x = tfidf.transform(tfidf.counts(pa.array([[3], [1]], pa.list_(pa.int32())), 4), idf, cfg)
    assert x.nnz == 0 and x.shape == (2, 4)


def test_tfidf_config_rejects_unknown_keys():
    with pytest.raises(ConfigError, match="sublinear_tf"):
        tfidf.TfidfConfig.from_dict({"sublinear": True})


# --- peers ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy():
    """Each text is dominated by one feature block that decides its label (plus a second label sometimes)."""
    rng = np.random.default_rng(0)
    n, f, n_labels = 240, 40, 6
    y = [[i % n_labels] + ([(i + 1) % n_labels] if i % 4 == 0 else []) for i in range(n)]
    dense = rng.random((n, f)).astype(np.float32) * (rng.random((n, f)) < 0.1)
    for i, labels in enumerate(y):
        for lab in labels:
            dense[i, lab * 5 : lab * 5 + 3] += 1.0
    x = sp.csr_matrix(dense / np.linalg.norm(dense, axis=1, keepdims=True))
    return x[:200], y[:200], x[200:], y[200:], n_labels


@pytest.mark.parametrize("name", list(PEERS))
def test_each_peer_learns_an_easy_problem_and_round_trips_through_disk(name, toy, tmp_path):
    x, y, xt, yt, n_labels = toy
    kind, settings = peers.check_settings(name, PEERS[name])
    peers.train(kind, settings, x, y, n_labels, tmp_path, threads=1)
    assert (tmp_path / "train.log").exists() and (tmp_path / "peer.json").exists()
    idx, scores = peers.Peer(tmp_path, threads=1).predict(xt, 4)
    assert idx.shape == scores.shape == (40, 4)
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    assert all(len(set(row[row >= 0])) == (row >= 0).sum() for row in idx)  # no label twice
    p_at_1 = np.mean([idx[i, 0] in yt[i] for i in range(len(yt))])
    assert p_at_1 >= 0.9, p_at_1


def test_omikuji_progress_stays_out_of_the_terminal(toy, tmp_path, capfd):
    x, y, _, _, n_labels = toy
    kind, settings = peers.check_settings("parabel", PEERS["parabel"])
    peers.train(kind, settings, x, y, n_labels, tmp_path, threads=1)
    peers.Peer(tmp_path, threads=1)
    out, err = capfd.readouterr()
    assert "omikuji" not in out + err
    assert "Training model" in (tmp_path / "train.log").read_text()  # kept in the model's log instead


def test_native_warnings_are_passed_on(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="pipeline.report.peers"):
        with peers.captured("lib", tmp_path / "x.log"):
            os.write(1, b"2026 INFO [lib] progress 1\n2026 WARN [lib] the clusters are empty\n")
            print("noise", file=sys.stderr)
    assert [r.getMessage() for r in caplog.records] == ["lib: 2026 WARN [lib] the clusters are empty"]
    assert "progress 1" in (tmp_path / "x.log").read_text()


def test_label_matrix():
    m = peers.label_matrix([[0, 2], [], [1]], 3)
    assert m.toarray().tolist() == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"kind": "fasttext"}, "kind must be one of omikuji, napkinxc-plt"),
        ({"kind": "omikuji", "n_tress": 3}, r"unknown omikuji setting\(s\) \['n_tress'\]"),
        ({"kind": "omikuji", "linear_loss": "squared"}, "hinge or log"),
        ({"kind": "napkinxc-plt", "arty": 2}, r"unknown napkinXC PLT setting\(s\) \['arty'\]"),
    ],
)
def test_bad_peer_settings_are_config_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        peers.check_settings("x", settings)


def test_xmc_file_format(tmp_path):
    x = sp.csr_matrix(np.array([[0.0, 0.5, 0.25], [0.0, 0.0, 0.0]], np.float32))
    peers.write_xmc(tmp_path / "d.txt", x, [[1, 0], [2]], 3)
    assert (tmp_path / "d.txt").read_text().splitlines() == ["2 3 3", "1,0 1:0.5 2:0.25", "2"]
