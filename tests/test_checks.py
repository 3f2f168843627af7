"""The `check` stage's domains: every bad setting is refused in one line naming it, before any work."""

import copy

import pytest
import yaml

from pipeline import settings
from pipeline.checks import check_params
from pipeline.errors import ConfigError
from tests.test_dvc_deps import ROOT

RAW = yaml.safe_load((ROOT / "params.yaml").read_text())


def resolved(**over) -> dict:
    """params.yaml with ``over`` ("a.b.c": value) set, resolved as the stages read it."""
    p = copy.deepcopy(RAW)
    for key, value in over.items():
        *path, last = key.split(".")
        node = p
        for part in path:
            node = node[part]
        node[last] = value
    return settings.resolve(p)


@pytest.mark.parametrize("dataset", ["reuters21578", "rcv1-v2-subset", "folder"])
def test_the_shipped_parameters_pass(dataset):
    check_params(resolved(dataset=dataset))


@pytest.mark.parametrize(
    "over, message",
    [
        ({"embed.dim": 7}, r"embed.dim \(7\) is the network's d_model and must be divisible by model.n_heads \(4\)"),
        ({"evaluate.ks": [0]}, r"evaluate.ks must be a non-empty list, each item a whole number >= 1; got \[0\]"),
        ({"evaluate.ks": []}, r"evaluate.ks must be a non-empty list"),
        ({"evaluate.top_k": 3}, r"evaluate.top_k \(3\) keeps fewer predictions than evaluate.ks needs \(5\)"),
        ({"evaluate.lift_parents": "maybe"}, r"evaluate.lift_parents must be auto, on/true or off/false"),
        ({"neighbours.k": 0}, r"neighbours.k must be a whole number >= 1; got 0"),
        ({"neighbours.search_k": 0}, r"neighbours.search_k must be a whole number >= 1, or -1"),
        ({"neighbours.backend": "faiss"}, r"neighbours.backend must be one of annoy, exact; got 'faiss'"),
        ({"train.epochs": -1}, r"train.epochs must be a whole number >= 1; got -1"),
        ({"train.lr": 0}, r"train.lr must be a number in \(0, inf\); got 0"),
        ({"train.val_fraction": 0}, r"train.val_fraction must be a number in \(0, 1\); got 0"),
        ({"dataset": "folder", "train.members": True}, r"train.members must be a whole number >= 1; got True"),
        ({"train.jobs": "all"}, r"train.jobs must be a whole number >= 1, or auto; got 'all'"),
        ({"train.device": "gpu"}, r"train.device must be auto, cpu, cuda or cuda:N; got 'gpu'"),
        ({"train.epoch": 3}, r"unknown setting train.epoch; did you mean epochs\?"),
        ({"model.pool": "sum"}, r"model.pool must be one of max, mean; got 'sum'"),
        ({"model.dropout": 1.0}, r"model.dropout must be a number in \[0, 1\); got 1.0"),
        ({"teacher_set.mode": "strict"}, r"teacher_set.mode must be one of default, literal; got 'strict'"),
        ({"tokenise.min_count": 0}, r"tokenise.min_count must be a whole number >= 1; got 0"),
        ({"tfidf.min_df": 0}, r"tfidf.min_df must be a whole number >= 1; got 0"),
        ({"embed.extra_text": "reuters21578"}, r"embed.extra_text must be null or a list"),
        ({"reuters21578.max_words": 0}, r"reuters21578.max_words must be a whole number >= 1; got 0"),
        ({"reuters21578.train.members": 0}, r"reuters21578.train.members must be a whole number >= 1; got 0"),
        ({"reuters21578.train.epoch": 3}, r"unknown setting reuters21578.train.epoch; did you mean epochs\?"),
        ({"reuters21578.evaluate": {"top_k": 5}}, r"reuters21578.evaluate: a dataset's section may set embed"),
        ({"folder.layout": "csv"}, r"folder.layout must be one of auto, jsonl, xmlrepo; got 'csv'"),
        ({"reading": "MHSA"}, r"reading must be one of none, MMHSA\+R, .*; got 'MHSA'"),
        ({"teacher": "yes"}, r"teacher must be true or false; got 'yes'"),
        ({"dataset": "eurlex"}, r"dataset must be one of reuters21578, rcv1-v2-subset, folder; got 'eurlex'"),
        ({"peers.methods.parabel.n_tree": 3}, r"peers.parabel: unknown omikuji setting\(s\) \['n_tree'\]"),
        ({"peers.method": {}}, r"unknown setting peers.method; did you mean methods\?"),
        ({"report.datasets": ["folder"]}, r"report.datasets must be a list, each item one of reuters21578"),
    ],
)
def test_a_bad_setting_is_named_with_its_domain(over, message):
    with pytest.raises(ConfigError, match=message):
        check_params(resolved(**over))
