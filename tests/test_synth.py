"""The synthetic corpora: deterministic, of their shape, readable by the folder loader, with signal."""

import json
from collections import Counter

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.data import folder, synth
from pipeline.errors import ConfigError

SMALL = dict(train=1500, test=300, labels=200)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "eurlex"
    stats = synth.write(out, synth.shape_of("eurlex4k", **SMALL), seed=5, progress=False)
    return out, stats


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(corpus, tmp_path):
    out, _ = corpus
    again = tmp_path / "again"
    synth.write(again, synth.shape_of("eurlex4k", **SMALL), seed=5, progress=False)
    for name in ("train_texts.txt", "train_labels.txt", "test_labels.txt", "hierarchy.tsv", "label_descriptions.tsv"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    other = tmp_path / "other"
    synth.write(other, synth.shape_of("eurlex4k", **SMALL), seed=6, progress=False)
    assert (other / "train_labels.txt").read_bytes() != (out / "train_labels.txt").read_bytes()


def test_the_corpus_has_its_shape(corpus):
    out, stats = corpus
    shape = synth.SHAPES["eurlex4k"]
    lines = (out / "train_labels.txt").read_text().splitlines()
    assert len(lines) == 1500 and len((out / "test_texts.txt").read_text().splitlines()) == 300
    per_text = [len(line.split()) for line in lines]
    assert min(per_text) >= 1 and abs(np.mean(per_text) - shape.labels_per_doc) < 0.1 * shape.labels_per_doc
    words = [len(t.split()) for t in (out / "train_texts.txt").read_text().splitlines()]
    assert abs(np.mean(words) - shape.words_per_doc) < 0.1 * shape.words_per_doc
    freq = sorted(Counter(label for line in lines for label in line.split()).values(), reverse=True)
    assert freq[0] > 10 * freq[len(freq) // 2]  # a head and a tail
    assert json.loads((out / "synth.json").read_text()) == stats and stats["train"]["texts"] == 1500


def test_the_folder_loader_reads_it_with_its_hierarchy_and_descriptions(corpus):
    out, _ = corpus
    loaded = folder.load(out)
    assert loaded.stats["layout"] == "xmlrepo" and loaded.stats["splits"]["train"]["kept"] == 1500
    assert loaded.stats["labels"]["with_parent"] == loaded.stats["labels"]["targets"]  # every label has a group
    descriptions = dict(line.split("\t") for line in (out / "label_descriptions.tsv").read_text().splitlines())
    assert all(len(d.split()) == 3 for name, d in descriptions.items() if name.startswith("l"))


def test_a_labels_description_words_mark_its_texts(corpus):
    # the signal neighbours and the teacher need: a label's own words are far more common in its texts
    out, _ = corpus
    texts = (out / "train_texts.txt").read_text().splitlines()
    labels = [set(line.split()) for line in (out / "train_labels.txt").read_text().splitlines()]
    descriptions = dict(line.split("\t") for line in (out / "label_descriptions.tsv").read_text().splitlines())
    top = Counter(label for s in labels for label in s).most_common(1)[0][0]
    marked = [bool(set(descriptions[top].split()) & set(t.split())) for t in texts]
    with_top = np.mean([m for m, s in zip(marked, labels) if top in s])
    without = np.mean([m for m, s in zip(marked, labels) if top not in s])
    assert with_top > 0.9 and without < 0.3


def test_words_are_letters_and_distinct():
    w = synth.word(np.arange(30_000))
    assert len(set(w)) == 30_000 and all(x.isalpha() and x.islower() and len(x) >= 3 for x in w[:2000])


def test_bad_sizes_and_shapes_are_one_line(tmp_path):
    with pytest.raises(ConfigError, match="unknown shape 'rcv1'; shapes: eurlex4k, wiki10-31k, amazoncat13k"):
        synth.shape_of("rcv1")
    with pytest.raises(ConfigError, match="--train must be a whole number >= 1; got 0"):
        synth.shape_of("eurlex4k", train=0)
    res = CliRunner().invoke(app, ["synth", str(tmp_path / "x"), "--shape", "eurlex", "--train", "10"])
    assert res.exit_code == 2 and res.stderr.startswith("error: unknown shape 'eurlex'")


def test_the_cli_writes_a_corpus_and_says_what_it_wrote(tmp_path):
    res = CliRunner().invoke(
        app,
        ["synth", str(tmp_path / "c"), "--shape", "amazoncat13k", "--train", "200", "--test", "50", "--labels", "80"],
    )
    assert res.exit_code == 0, res.output
    assert "train: 200 texts" in res.stdout and f"wrote {tmp_path / 'c'} (amazoncat13k, seed 13)" in res.stdout
    assert folder.load(tmp_path / "c").stats["splits"]["test"]["kept"] == 50
