"""Tokenisation, vocabulary, truncation and the tokens stage's tables and stats."""

from __future__ import annotations

import pyarrow as pa
import pytest

from pipeline.data.text import (
    PAD,
    PAD_ID,
    UNK,
    UNK_ID,
    Vocab,
    build_vocab,
    encode,
    split_words,
    tokenise,
    tokenise_corpus,
    truncate,
)


def words(*texts):
    return split_words(list(texts))


def tokens_of(vocab: Vocab) -> list[str]:
    return vocab.tokens.to_pylist()


# --- split_words -----------------------------------------------------------


def test_split_words_documented_example():
    assert words("U.S. dollar's 5.93%").to_pylist() == [["u", "s", "dollar", "s", "5", "93"]]


def test_split_words_lower_cases_and_keeps_unicode_letters():
    got = words("Café ZÜRICH straße", "naïve 北京 Ωmega").to_pylist()
    assert got == [["café", "zürich", "straße"], ["naïve", "北京", "ωmega"]]


def test_split_words_splits_on_punctuation_but_keeps_letter_digit_runs():
    got = words("state-owned oil,gas;x2y  (1987) e-mail\ttab\nnew_line").to_pylist()
    assert got == [["state", "owned", "oil", "gas", "x2y", "1987", "e", "mail", "tab", "new", "line"]]


def test_split_words_empty_null_and_punctuation_only_texts_give_empty_lists():
    got = split_words(pa.array(["", None, "!!! ... ---", "  ", "ok"], pa.string()))
    assert got.to_pylist() == [[], [], [], [], ["ok"]]
    assert len(split_words([])) == 0


def test_split_words_accepts_table_columns():
    table = pa.table({"text": pa.chunked_array([["A b"], ["C"]])})
    assert split_words(table["text"]).to_pylist() == [["a", "b"], ["c"]]


# --- truncate -----------------------------------------------------------------


def test_truncate_keeps_the_first_words():
    got = truncate(words("a b c d", "e", ""), 2)
    assert got.to_pylist() == [["a", "b"], ["e"], []]


def test_truncate_rejects_a_non_positive_length():
    with pytest.raises(ValueError, match="max_len"):
        truncate(words("a b"), 0)


# --- build_vocab ----------------------------------------------------------------


def test_vocab_starts_with_pad_and_unk():
    vocab = build_vocab(words("x y"))
    assert tokens_of(vocab)[:2] == [PAD, UNK]
    assert (PAD_ID, UNK_ID) == (0, 1)
    assert vocab.table()["id"].to_pylist() == list(range(len(vocab)))


def test_vocab_is_most_frequent_first_with_ties_sorted_by_spelling():
    vocab = build_vocab(words("pear apple pear fig", "kiwi apple pear banana"))
    assert tokens_of(vocab) == [PAD, UNK, "pear", "apple", "banana", "fig", "kiwi"]
    assert vocab.counts.to_pylist() == [0, 0, 3, 2, 1, 1, 1]


def test_word_seen_only_in_test_is_unknown():
    train, test = words("the cat sat"), words("the dog sat")
    vocab = build_vocab(train)
    assert "dog" not in tokens_of(vocab)
    ids = encode(test, vocab).to_pylist()[0]
    assert ids[1] == UNK_ID
    assert ids[0] != UNK_ID and ids[2] != UNK_ID


def test_min_count_drops_rare_words_which_become_unknown():
    train = words("a a b b b c")
    vocab = build_vocab(train, min_count=2)
    assert tokens_of(vocab) == [PAD, UNK, "b", "a"]
    assert encode(words("c a"), vocab).to_pylist() == [[UNK_ID, 3]]


def test_max_size_keeps_only_the_most_frequent_words():
    vocab = build_vocab(words("a a a b b c d"), max_size=2)
    assert tokens_of(vocab) == [PAD, UNK, "a", "b"]
    assert encode(words("c"), vocab).to_pylist() == [[UNK_ID]]


def test_extra_words_are_always_added_with_their_train_count():
    train = words("a a b c")
    extra = words("c zebra", "a")
    vocab = build_vocab(train, min_count=2, extra_words=extra)
    # "a" passes min_count; "c" (train count 1) and "zebra" (unseen) are added anyway
    assert tokens_of(vocab) == [PAD, UNK, "a", "c", "zebra"]
    assert vocab.counts.to_pylist() == [0, 0, 2, 1, 0]
    assert "b" not in tokens_of(vocab)


def test_extra_words_survive_max_size_and_an_empty_train_split():
    vocab = build_vocab(words("a a b"), max_size=1, extra_words=words("b"))
    assert tokens_of(vocab) == [PAD, UNK, "a", "b"]
    empty = pa.array([[]], pa.list_(pa.string()))
    assert tokens_of(build_vocab(empty, extra_words=words("y x"))) == [PAD, UNK, "x", "y"]


def test_vocab_table_round_trips_and_rejects_a_bad_table():
    vocab = build_vocab(words("b a b"))
    again = Vocab.from_table(vocab.table())
    assert tokens_of(again) == tokens_of(vocab)
    bad = pa.table({"id": pa.array([0, 1], pa.int32()), "token": ["<unk>", "<pad>"], "count": [0, 0]})
    with pytest.raises(ValueError, match="<pad>=0"):
        Vocab.from_table(bad)


# --- encode / tokenise -------------------------------------------------------------


def test_encode_maps_words_to_ids_and_keeps_document_boundaries():
    vocab = build_vocab(words("b a b"))  # <pad> <unk> b a
    got = encode(words("a b", "", "b zzz a"), vocab)
    assert got.type == pa.list_(pa.int32())
    assert got.to_pylist() == [[3, 2], [], [2, UNK_ID, 3]]


def test_tokenise_splits_truncates_and_encodes_new_texts():
    vocab = build_vocab(words("b a b"))
    assert tokenise(["A, B! a", None], vocab, 2).to_pylist() == [[3, 2], []]


# --- tokenise_corpus ------------------------------------------------------------------


@pytest.fixture()
def corpus_tables():
    train = pa.table({"id": ["tr1", "tr2"], "text": ["a b c a", "B, d."]})
    test = pa.table({"id": ["te1", "te2", "te3"], "text": ["a e f g h", "b zeta", "!!!"]})
    labels = pa.table({"label": ["L1", "L2"], "description": ["Alpha Zeta Extra", "B c"]})
    return train, test, labels


def test_tokenise_corpus_tables(corpus_tables):
    out, _ = tokenise_corpus(*corpus_tables, max_words=3, label_max_words=2)
    # train words after truncation to 3: [a b c] [b d] -> b:2, a:1, c:1, d:1
    # (the second "a" of tr1 lies beyond max_words and is not counted);
    # then the label words alpha, zeta (train count 0); "extra" is cut by label_max_words.
    assert out["vocab"]["token"].to_pylist() == [PAD, UNK, "b", "a", "c", "d", "alpha", "zeta"]
    assert out["vocab"]["count"].to_pylist() == [0, 0, 2, 1, 1, 1, 0, 0]
    assert out["train"]["id"].to_pylist() == ["tr1", "tr2"]
    assert out["train"]["tokens"].to_pylist() == [[3, 2, 4], [2, 5]]
    assert out["test"]["id"].to_pylist() == ["te1", "te2", "te3"]
    assert out["test"]["tokens"].to_pylist() == [[3, UNK_ID, UNK_ID], [2, 7], []]
    assert out["labels"]["label"].to_pylist() == ["L1", "L2"]
    assert out["labels"]["tokens"].to_pylist() == [[6, 7], [2, 4]]
    assert all(len(t) <= 3 for t in out["test"]["tokens"].to_pylist())
    assert all(len(t) <= 2 for t in out["labels"]["tokens"].to_pylist())


def test_tokenise_corpus_stats(corpus_tables):
    _, stats = tokenise_corpus(*corpus_tables, max_words=3, label_max_words=2)
    assert stats["vocab_size"] == 8
    assert stats["max_words"] == 3 and stats["label_max_words"] == 2
    assert stats["splits"]["train"] == {
        "documents": 2,
        "mean_tokens": 2.5,
        "max_tokens": 3,
        "truncated_fraction": 0.5,  # tr1 had 4 words
        "empty_after_tokenising": 0,
        "without_known_word": 0,
        "unk_rate": 0.0,
    }
    assert stats["splits"]["test"] == {
        "documents": 3,
        "mean_tokens": 1.67,  # (3 + 2 + 0) / 3
        "max_tokens": 3,
        "truncated_fraction": 0.3333,  # only te1 (5 words) was cut
        "empty_after_tokenising": 1,  # te3 is punctuation only
        "without_known_word": 1,  # te3
        "unk_rate": 0.4,  # e, f of the 5 kept tokens
    }


def test_texts_without_a_known_word_are_counted_and_warned_about(caplog):
    import logging

    train = pa.table({"id": ["tr1", "tr2", "tr3"], "text": ["a b", "!!! ...", "zzz"]})
    test = pa.table({"id": ["te1", "te2"], "text": ["qqq", "a"]})
    labels = pa.table({"label": ["L1"], "description": ["L one"]})
    with caplog.at_level(logging.WARNING):
        _, stats = tokenise_corpus(train, test, labels, max_words=10, label_max_words=2, min_count=1)
    assert stats["splits"]["train"]["without_known_word"] == 1  # tr2: punctuation only ("zzz" is a train word)
    assert stats["splits"]["test"]["without_known_word"] == 1  # te1: qqq was never seen in train
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "train: 1 of 3 text(s) have no word of the vocabulary (1 with no word at all)" in warned[0]


@pytest.mark.parametrize("texts", [["!!!", "... ?"], ["once", "twice twice"]])
def test_a_train_split_without_any_known_word_stops_in_one_line(texts):
    from pipeline.errors import DataError

    train = pa.table({"id": ["tr1", "tr2"], "text": texts})
    test = pa.table({"id": ["te1"], "text": ["a"]})
    labels = pa.table({"label": ["L1"], "description": ["L one"]})
    with pytest.raises(DataError, match=r"no train text has a word of the vocabulary \(all 2 are empty"):
        tokenise_corpus(train, test, labels, max_words=10, label_max_words=2, min_count=3)


def test_tokenise_corpus_min_count_and_max_vocab(corpus_tables):
    out, stats = tokenise_corpus(*corpus_tables, max_words=3, label_max_words=2, min_count=2)
    # only "b" reaches min_count 2; label words are added regardless, "c" (train count 1)
    # before alpha and zeta (count 0)
    assert out["vocab"]["token"].to_pylist() == [PAD, UNK, "b", "c", "alpha", "zeta"]
    assert out["train"]["tokens"].to_pylist() == [[UNK_ID, 2, 3], [2, UNK_ID]]
    assert stats["splits"]["train"]["unk_rate"] == 0.4  # a, d of 5 tokens
    out, _ = tokenise_corpus(*corpus_tables, max_words=3, label_max_words=2, max_vocab=2)
    assert out["vocab"]["token"].to_pylist() == [PAD, UNK, "b", "a", "c", "alpha", "zeta"]
    assert out["train"]["tokens"].to_pylist() == [[3, 2, 4], [2, UNK_ID]]
