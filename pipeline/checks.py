"""Every parameter's domain, checked at once before any stage does work (the `check` stage).

``check_params`` takes the parameters as the stages read them (``settings.resolve``d) and raises one
``ConfigError`` naming the first setting that is wrong, its value and what it may be: an unknown key
(with the nearest known one), a value of the wrong type or outside its domain, or two settings that
do not fit together (``embed.dim`` and ``model.n_heads``, ``evaluate.top_k`` and ``evaluate.ks``).
Checks that need the data (``neighbours.k`` against the number of training texts) stay with the
stages that have the data.
"""

from __future__ import annotations

import difflib

from pipeline import settings as settings_mod
from pipeline.data.datasets import DATASETS
from pipeline.data.folder import LAYOUTS
from pipeline.domains import BOOL, TEXT, TRAIN, Domain, integer, is_int, list_of, number, one_of, optional
from pipeline.errors import ConfigError
from pipeline.method.model import POOLS, READINGS, RESIDUALS
from pipeline.method.neighbours import BACKENDS, VECTORS
from pipeline.method.teacher import MODES

CORPUS = {"max_words": integer(1), "label_max_words": integer(1)}
SCHEMA: dict[str, dict[str, Domain]] = {
    "reuters21578": dict(CORPUS),
    "rcv1-v2-subset": {**CORPUS, "test_fraction": number(0, 1, lo_open=True), "split_seed": integer()},
    "folder": {**CORPUS, "path": TEXT, "layout": one_of(*LAYOUTS)},
    "tokenise": {"min_count": integer(1), "max_vocab": optional(integer(1))},
    "embed": {
        "pretrained": optional(TEXT),
        "dim": integer(1),
        "window": integer(1),
        "min_count": integer(1),
        "epochs": integer(1),
        "sg": BOOL,
        "negative": integer(0),
        "seed": integer(),
        "workers": integer(1),
        "extra_text": optional(list_of(TEXT)),
    },
    "tfidf": {"sublinear_tf": BOOL, "min_df": integer(1), "norm": BOOL},
    "neighbours": {
        "vectors": one_of(*VECTORS),
        "backend": one_of(*BACKENDS),
        "k": integer(1),
        "n_trees": integer(1),
        "search_k": Domain(lambda v: is_int(v) and (v == -1 or v >= 1), "a whole number >= 1, or -1 (n_trees * k)"),
        "seed": integer(),
        "recall_sample": integer(0),
    },
    "teacher_set": {"parents": BOOL, "mode": one_of(*MODES), "max_labels": integer(1), "max_len": integer(1)},
    "evaluate": {
        "ks": list_of(integer(1), non_empty=True),
        "top_k": integer(1),
        "propensity_a": number(0, lo_open=True),
        "propensity_b": number(0),
        "lift_parents": Domain(
            lambda v: isinstance(v, bool) or v in ("auto", "on", "off"), "auto, on/true or off/false"
        ),
    },
    "model": {
        "n_heads": integer(1),
        "bottleneck": integer(1),
        "pool": one_of(*POOLS),
        "dropout": number(0, 1),
        "attention_dropout": number(0, 1),
        "norm": BOOL,
        "teacher_prior": BOOL,
        "residual": one_of(*RESIDUALS),
        "freeze_embedding": BOOL,
        "sparse_embedding": BOOL,
    },
    "train": TRAIN,
    "report": {
        "datasets": list_of(one_of(*DATASETS[:2])),
        "folders": list_of(TEXT),
        "ablation_datasets": list_of(one_of(*DATASETS[:2])),
    },
}
TOP = {"dataset": one_of(*DATASETS), "teacher": BOOL, "reading": one_of(*READINGS)}


def _unknown(key: str, known) -> ConfigError:
    near = difflib.get_close_matches(key.rsplit(".", 1)[-1], list(known), n=1)
    hint = f"; did you mean {near[0]}?" if near else f"; known: {', '.join(sorted(known))}"
    return ConfigError(f"unknown setting {key}{hint}")


def _value(key: str, value, domain: Domain) -> None:
    if not domain.test(value):
        raise ConfigError(f"{key} must be {domain.says}; got {value!r}")


def check_params(p: dict) -> None:
    """Raise ``ConfigError`` on the first setting of ``p`` (resolved parameters) that is unknown or out of
    its domain, or on two that do not fit together. Sections that are missing are left to the stages."""
    for key, domain in TOP.items():
        if key not in p:
            raise ConfigError(f"params: `{key}` is missing; it must be {domain.says}")
        _value(key, p[key], domain)
    own = {key for key, _ in settings_mod.dataset_values(p)}  # "train.members" when the dataset's section set it

    def named(key: str) -> str:
        return f"{p['dataset']}.{key}" if key in own else key

    for section, keys in SCHEMA.items():
        values = p.get(section)
        if values is None:
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"`{section}` must be a mapping of settings; got {values!r}")
        known = set(keys) | (set(settings_mod.SECTIONS) if section in DATASETS else set())
        for key, value in values.items():
            if key not in known:
                raise _unknown(named(f"{section}.{key}"), known)
            if key in keys:
                _value(named(f"{section}.{key}"), value, keys[key])
    _check_peers(p.get("peers"))
    _fit_together(p)


def _check_peers(peers: dict | None) -> None:
    if peers is None:
        return
    from pipeline.report.peers import check_settings

    for key in peers:
        if key not in ("threads", "methods"):
            raise _unknown(f"peers.{key}", ("threads", "methods"))
    _value("peers.threads", peers.get("threads", 0), integer(0))
    methods = peers.get("methods") or {}
    if not isinstance(methods, dict):
        raise ConfigError(f"peers.methods must be a mapping of peer names to their settings; got {methods!r}")
    for name, cfg in methods.items():
        if not isinstance(cfg, dict):
            raise ConfigError(
                f"peers.methods.{name} must be a mapping (kind: omikuji | napkinxc-plt, ...); got {cfg!r}"
            )
        check_settings(name, cfg)


def _fit_together(p: dict) -> None:
    embed, model, ev = p.get("embed") or {}, p.get("model") or {}, p.get("evaluate") or {}
    dim, heads = embed.get("dim"), model.get("n_heads")
    if is_int(dim) and is_int(heads) and dim % heads:
        raise ConfigError(
            f"embed.dim ({dim}) is the network's d_model and must be divisible by model.n_heads ({heads}); "
            f"e.g. embed.dim={max(heads, dim - dim % heads)}"
        )
    ks, top_k = ev.get("ks"), ev.get("top_k")
    if isinstance(ks, list) and ks and is_int(top_k) and top_k < max(ks):
        raise ConfigError(f"evaluate.top_k ({top_k}) keeps fewer predictions than evaluate.ks needs ({max(ks)})")
