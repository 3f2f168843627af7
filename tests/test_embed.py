"""Word vectors, the embedding matrix and the document vectors V_x of Eq. 1."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from gensim.models import KeyedVectors

from pipeline import schemas
from pipeline.data.datasets import extra_texts
from pipeline.data.text import PAD, PAD_ID, UNK, build_vocab, encode, split_words
from pipeline.errors import ConfigError, DataError
from pipeline.method.embed import (
    Word2VecConfig,
    doc_vectors,
    embedding_matrix,
    extra_sources,
    load_pretrained,
    sentences,
    table_vectors,
    train_word2vec,
    vectors_table,
    vocab_sentences,
)
from tests.tiny import make_docs, write_folder_dataset

REPO = Path(__file__).resolve().parents[1]


def keyed_vectors(words: list[str], vectors: np.ndarray) -> KeyedVectors:
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(words, vectors.astype(np.float32))
    return kv


# --- sentences / train_word2vec ----------------------------------------------------


def tiny_sentences() -> list[list[str]]:
    words = split_words([d["text"] for d in make_docs(40, seed=3, prefix="d")])
    vocab = build_vocab(words, min_count=2)
    return sentences(encode(words, vocab), np.array(vocab.tokens.to_pylist(), dtype=object))


def test_sentences_turn_token_ids_back_into_words():
    words = split_words(["b a b", "", "c a"])
    vocab = build_vocab(words, min_count=2)  # a, b kept; c -> <unk>
    got = sentences(encode(words, vocab), np.array(vocab.tokens.to_pylist(), dtype=object))
    assert got == [["b", "a", "b"], [], [UNK, "a"]]


W2V = Word2VecConfig(dim=16, window=3, epochs=3, seed=7, workers=1)

_CHILD = """
import sys
import numpy as np
sys.path.insert(0, {repo!r})
from pipeline.method.embed import Word2VecConfig, train_word2vec
from tests.test_embed import tiny_sentences
kv = train_word2vec(tiny_sentences(), Word2VecConfig(**{cfg!r}))
np.save({out!r}, kv.vectors)
with open({keys!r}, "w") as f:
    f.write("\\n".join(kv.index_to_key))
"""


def test_word2vec_with_one_worker_is_reproducible_across_hash_seeds(tmp_path):
    # gensim seeds each word's initial vector with hash(word); Python salts str hashes per
    # process, so the same training in another process (another PYTHONHASHSEED) must still
    # give the same vectors, bit for bit.
    out, keys = tmp_path / "child.npy", tmp_path / "child.txt"
    code = textwrap.dedent(_CHILD).format(repo=str(REPO), cfg=W2V.to_dict(), out=str(out), keys=str(keys))
    child_seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    env = dict(os.environ, PYTHONHASHSEED=child_seed)
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr

    kv = train_word2vec(tiny_sentences(), W2V)
    assert kv.index_to_key == keys.read_text().split("\n")
    assert kv.vector_size == 16
    np.testing.assert_array_equal(kv.vectors, np.load(out))

    # ... and the seed is honoured: another seed, other vectors.
    other = train_word2vec(tiny_sentences(), Word2VecConfig(**{**W2V.to_dict(), "seed": 8}))
    assert not np.allclose(other.vectors, kv.vectors)


def test_word2vec_config_from_dict_ignores_unknown_keys():
    cfg = Word2VecConfig.from_dict({"dim": 8, "pretrained": None, "sg": False})
    assert (cfg.dim, cfg.sg, cfg.workers) == (8, False, 1)
    assert Word2VecConfig.from_dict(cfg.to_dict()) == cfg


# --- embedding_matrix -----------------------------------------------------------------


def test_embedding_matrix_rows_follow_the_vocabulary():
    rng = np.random.default_rng(0)
    kv_words = [f"w{i}" for i in range(60)] + [PAD]  # vectors for <pad> must not be used
    kv = keyed_vectors(kv_words, rng.normal(0.0, 0.3, size=(61, 200)))
    found = [f"w{i}" for i in rng.permutation(60)[:40]]  # vocabulary order != vector file order
    missing = [f"new{i}" for i in range(20)]
    vocab = np.array([PAD, UNK] + found[:20] + missing + found[20:], dtype=object)

    mat, n_missing = embedding_matrix(vocab, kv, seed=5)

    assert mat.shape == (len(vocab), 200) and mat.dtype == np.float32
    assert n_missing == 21  # <unk> and the 20 new words
    assert not mat[PAD_ID].any()
    for i, w in enumerate(vocab):
        if w in found:
            np.testing.assert_array_equal(mat[i], kv[w])
    is_missing = np.array([w == UNK or w in missing for w in vocab])
    random_rows = mat[is_missing]
    assert np.all(np.abs(random_rows).sum(axis=1) > 0)
    # N(0, s^2) with s the spread of the vectors that were found
    s = np.stack([kv[w] for w in found]).std()
    assert random_rows.std() == pytest.approx(s, rel=0.1)
    assert abs(random_rows.mean()) < 0.05

    again, _ = embedding_matrix(vocab, kv, seed=5)
    np.testing.assert_array_equal(again, mat)
    other, _ = embedding_matrix(vocab, kv, seed=6)
    np.testing.assert_array_equal(other[~is_missing], mat[~is_missing])
    assert not np.allclose(other[is_missing], mat[is_missing])


def test_embedding_matrix_uses_a_vector_for_unk_when_there_is_one():
    kv = keyed_vectors([UNK, "a"], np.array([[1.0, 2.0], [3.0, 4.0]]))
    mat, n_missing = embedding_matrix(np.array([PAD, UNK, "a"], dtype=object), kv)
    assert n_missing == 0
    np.testing.assert_array_equal(mat, [[0, 0], [1, 2], [3, 4]])


# --- doc_vectors (Eq. 1) -------------------------------------------------------------


def test_doc_vectors_are_the_mean_of_the_word_vectors_without_pad_and_unk():
    emb = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    emb[PAD_ID] = 0.0
    tokens = pa.array([[2, 3, 0, 0], [1, 4, 4, 5], [0, 1, 1], [], [5]], pa.list_(pa.int32()))

    v = doc_vectors(tokens, emb)

    expected = np.stack(
        [
            (emb[2] + emb[3]) / 2,  # two pads do not dilute the mean
            (2 * emb[4] + emb[5]) / 3,  # <unk> neither; a repeated word counts twice
            np.zeros(4),  # only <pad>/<unk>: zero vector
            np.zeros(4),  # no token at all: zero vector
            emb[5],
        ]
    )
    assert v.shape == (5, 4) and v.dtype == np.float32
    np.testing.assert_allclose(v, expected, rtol=1e-6, atol=1e-6)
    assert np.all(np.isfinite(v))


def test_doc_vectors_accept_table_columns_and_slices():
    emb = np.arange(12, dtype=np.float32).reshape(6, 2)
    tokens = pa.array([[2], [3, 4], [5, 1]], pa.list_(pa.int32()))
    full = doc_vectors(tokens, emb)
    chunked = pa.table({"tokens": pa.chunked_array([tokens.slice(0, 1), tokens.slice(1)])})["tokens"]
    np.testing.assert_array_equal(doc_vectors(chunked, emb), full)
    np.testing.assert_array_equal(doc_vectors(tokens.slice(1), emb), full[1:])
    np.testing.assert_array_equal(full, [[4, 5], [7, 8], [10, 11]])


# --- load_pretrained -----------------------------------------------------------------


@pytest.fixture
def small_kv() -> KeyedVectors:
    rng = np.random.default_rng(2)
    return keyed_vectors(["alpha", "beta", "café", "delta"], rng.normal(size=(4, 5)))


@pytest.mark.parametrize(
    "name,binary",
    [
        ("vectors.txt", False),
        ("vectors.vec", False),
        ("vectors.bin", True),
        ("vectors.w2v", True),
        ("vectors.bin", False),
    ],
)
def test_load_pretrained_reads_word2vec_text_and_binary(tmp_path, small_kv, name, binary):
    path = tmp_path / name
    small_kv.save_word2vec_format(str(path), binary=binary)
    kv = load_pretrained(path)
    assert kv.index_to_key == small_kv.index_to_key
    np.testing.assert_allclose(kv.vectors, small_kv.vectors, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("content", [b"this is not a vector file\n", bytes(range(256)) * 4, b""])
def test_load_pretrained_rejects_garbage_naming_the_file(tmp_path, content):
    path = tmp_path / "garbage.bin"
    path.write_bytes(content)
    with pytest.raises(DataError, match="not word2vec text or binary vectors") as err:
        load_pretrained(path)
    assert str(path) in str(err.value)


def test_load_pretrained_missing_file_names_it(tmp_path):
    path = tmp_path / "nowhere.txt"
    with pytest.raises(DataError, match="not found") as err:
        load_pretrained(str(path))
    assert str(path) in str(err.value)


# --- vectors_table / table_vectors -----------------------------------------------------


def test_vectors_round_trip_through_the_vectors_schema():
    vectors = np.random.default_rng(3).normal(size=(3, 7)).astype(np.float32)
    table = schemas.conform(vectors_table(pa.array(["a", "b", "c"]), vectors), "vectors")
    assert table.schema == schemas.SCHEMAS["vectors"]
    assert table["id"].to_pylist() == ["a", "b", "c"]
    back = table_vectors(table)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, vectors)


# --- extra text (embed.extra_text) ---------------------------------------------------


def test_extra_sources_are_a_list_or_none():
    assert extra_sources(["a.txt"], "folder") == ["a.txt"]
    assert extra_sources(["reuters21578"], "rcv1-v2-subset") == ["reuters21578"]
    assert extra_sources(None, "folder") == []


@pytest.mark.parametrize("bad", ["reuters21578", [1], [""], {"folder": "x.txt"}, 3])
def test_extra_sources_rejects_what_is_not_a_list_of_names(bad):
    with pytest.raises(ConfigError, match="embed.extra_text must be a list"):
        extra_sources(bad, "folder")


def test_extra_sources_refuses_the_dataset_itself(tmp_path):
    with pytest.raises(
        ConfigError, match="names the dataset being trained on .'rcv1-v2-subset'.: its test texts would leak"
    ):
        extra_sources(["reuters21578", "rcv1-v2-subset"], "rcv1-v2-subset")
    (tmp_path / "mine").mkdir()
    with pytest.raises(ConfigError, match="names the dataset being trained on"):
        extra_sources([str(tmp_path / "mine" / ".." / "mine")], "folder", own_path=str(tmp_path / "mine"))
    assert extra_sources([str(tmp_path / "other")], "folder", own_path=str(tmp_path / "mine")) == [
        str(tmp_path / "other")
    ]


def test_read_extra_text_from_a_text_file_a_jsonl_file_and_a_folder(tmp_path):
    (tmp_path / "news.txt").write_text("first story\n\n  \nsecond story\r\nthird\x0cpage", encoding="utf-8")
    # one text per line, blank lines skipped; split on newlines only (the form feed stays inside its text)
    assert extra_texts(str(tmp_path / "news.txt")) == ["first story", "second story", "third\x0cpage"]
    (tmp_path / "news.jsonl").write_text('{"text": "one"}\n{"text": "two", "id": 2}\n', encoding="utf-8")
    assert extra_texts(str(tmp_path / "news.jsonl")) == ["one", "two"]
    folder = write_folder_dataset(tmp_path / "ds", n_train=7, n_test=3)
    texts = extra_texts(str(folder))
    assert len(texts) == 10 and all(isinstance(t, str) and t for t in texts)


def test_read_extra_text_errors_name_the_file_and_line(tmp_path):
    with pytest.raises(
        DataError, match="neither a built-in corpus .reuters21578, rcv1-v2-subset. nor an existing file or folder"
    ):
        extra_texts(str(tmp_path / "missing.txt"))
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\n{"body": "no text"}\n')
    with pytest.raises(DataError, match=r"bad.jsonl, line 2: expected a JSON object with a 'text' field"):
        extra_texts(str(tmp_path / "bad.jsonl"))
    (tmp_path / "num.jsonl").write_text('{"text": 5}\n')
    with pytest.raises(DataError, match=r"num.jsonl, line 1: the 'text' field is not a string"):
        extra_texts(str(tmp_path / "num.jsonl"))
    (tmp_path / "cut.jsonl").write_text('{"text": "ok"}\n\n{"text": "cut\n')
    with pytest.raises(DataError, match=r"cut.jsonl, line 3: malformed JSON"):
        extra_texts(str(tmp_path / "cut.jsonl"))
    (tmp_path / "latin.txt").write_bytes("fine\ncaf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.txt, line 2: not UTF-8 text"):
        extra_texts(str(tmp_path / "latin.txt"))


def test_vocab_sentences_drop_words_outside_the_vocabulary():
    vocab = np.array([PAD, UNK, "cocoa", "prices", "rose"], dtype=object)
    got = vocab_sentences(["The cocoa PRICES rose, sharply.", "nothing known here", "<unk> <pad> rose"], vocab)
    assert got == [["cocoa", "prices", "rose"], ["rose"]]  # no <pad>/<unk> either, and no empty sentence


@pytest.mark.parametrize("sents", [[], [[], []], [["<unk>", "<unk>"], ["<unk>"]], [["once"], ["twice", "twice"]]])
def test_word2vec_without_a_word_to_learn_says_so_in_one_line(sents):
    with pytest.raises(
        DataError, match=r"word2vec has no word to learn: no word .* occurs embed.min_count \(3\) times"
    ):
        train_word2vec(sents, Word2VecConfig(dim=4, epochs=1, min_count=3))
