"""settings.resolve: a dataset's own section over the stage sections, once."""

import pytest
import yaml

from pipeline import settings
from pipeline.errors import ConfigError
from tests.test_dvc_deps import ROOT

BASE = {
    "dataset": "reuters21578",
    "train": {"members": 1, "epochs": 12},
    "model": {"teacher_prior": False, "norm": True},
    "neighbours": {"vectors": "word2vec", "k": 10},
    "embed": {"extra_text": []},
    "reuters21578": {"max_words": 500, "train": {"members": 2}, "neighbours": {"vectors": "tfidf"}, "model": {}},
    "folder": {"path": "x", "train": {}},
}


def test_the_chosen_datasets_values_win_and_the_rest_stay():
    p = settings.resolve(BASE)
    assert p["train"] == {"members": 2, "epochs": 12}
    assert p["neighbours"] == {"vectors": "tfidf", "k": 10}
    assert p["model"] == {"teacher_prior": False, "norm": True}
    assert p["reuters21578"]["max_words"] == 500  # the dataset's own options stay where they were
    assert BASE["train"]["members"] == 1  # the input is not changed


def test_another_dataset_gets_the_defaults():
    p = settings.resolve({**BASE, "dataset": "folder"})
    assert p["train"]["members"] == 1 and p["neighbours"]["vectors"] == "word2vec"


def test_describe_says_what_the_dataset_set():
    p = settings.resolve(BASE)
    line = settings.describe(p)
    assert "reuters21578 sets" in line and "train.members=2" in line and "neighbours.vectors=tfidf" in line
    assert "model" not in line.split("sets", 1)[1].split("(")[0]  # an empty section sets nothing
    assert settings.describe(settings.resolve({**BASE, "dataset": "folder"})) == ""


def test_a_section_no_stage_tracks_per_dataset_is_refused():
    with pytest.raises(ConfigError, match=r"reuters21578.evaluate: a dataset's section may set embed, neighbours"):
        settings.resolve({**BASE, "reuters21578": {**BASE["reuters21578"], "evaluate": {"top_k": 5}}})
    with pytest.raises(ConfigError, match="reuters21578.train must be a mapping"):
        settings.resolve({**BASE, "reuters21578": {"train": 2}})


def test_the_shipped_params_give_each_corpus_its_chosen_values():
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    got = {d: settings.resolve({**raw, "dataset": d}) for d in ("reuters21578", "rcv1-v2-subset", "folder")}
    assert [got[d]["train"]["members"] for d in got] == [2, 4, 1]
    assert [got[d]["neighbours"]["vectors"] for d in got] == ["tfidf", "word2vec", "word2vec"]
    assert [got[d]["model"]["teacher_prior"] for d in got] == [False, True, False]
    assert [got[d]["embed"]["extra_text"] for d in got] == [[], ["reuters21578"], []]
    for d in got:  # dvc.yaml lists ${dataset}.<section> for these: every dataset needs them, or DVC stops
        assert all(isinstance(raw[d].get(s), dict) for s in settings.SECTIONS), d
    for section in ("embed", "neighbours", "model", "train"):  # no {dataset: value} maps left in the stage sections
        assert not any(isinstance(v, dict) and set(v) & set(got) for v in raw[section].values()), section
