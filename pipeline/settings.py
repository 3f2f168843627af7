"""One home for every setting: a dataset's own section of the parameters overrides the stage sections.

A dataset section (``reuters21578:``, ``folder:``, ...) holds what only that corpus has (``max_words``,
``path``, ...) and, as nested stage sections, the values it sets differently from the defaults::

    train:
      members: 1           # the default, for every dataset
    reuters21578:
      max_words: 500
      train:
        members: 2         # Reuters-21578's own

``resolve`` merges the chosen dataset's nested sections over the stage sections, once, when the
parameters are loaded; everything downstream reads plain stage sections. It takes and returns
plain dicts (the stages read the YAML file).
"""

from __future__ import annotations

import copy

from pipeline.errors import ConfigError

# the stage sections a dataset section may set values of (dvc.yaml lists `${dataset}.<section>` for the stages reading them)
SECTIONS = ("embed", "neighbours", "model", "train")
# stage sections a dataset section may not set values of: no stage tracks them per dataset
FIXED = ("tokenise", "tfidf", "teacher_set", "evaluate", "peers", "report")


def resolve(params: dict) -> dict:
    """``params`` with the nested sections of ``params[params["dataset"]]`` merged over the stage sections
    (dicts merged key by key, anything else replaced). The dataset section itself is kept as it is."""
    out = copy.deepcopy(params)
    name = out.get("dataset")
    own = out.get(name) if isinstance(name, str) else None
    if isinstance(own, dict):
        for section in FIXED:
            if section in own:
                raise ConfigError(
                    f"{name}.{section}: a dataset's section may set {', '.join(SECTIONS)} values only; "
                    f"set `{section}` values in the `{section}` section"
                )
        for section in SECTIONS:
            if section not in own:
                continue
            if not isinstance(own[section], dict):
                raise ConfigError(f"{name}.{section} must be a mapping of `{section}` settings; got {own[section]!r}")
            base = out.setdefault(section, {})
            if not isinstance(base, dict):
                raise ConfigError(f"`{section}` must be a mapping; got {base!r}")
            _merge(base, own[section])
    return out


def _merge(base: dict, over: dict) -> None:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)


def dataset_values(params: dict, sections: tuple[str, ...] = SECTIONS) -> list[tuple[str, object]]:
    """The values the chosen dataset's section sets over the stage ``sections``, as ("train.members", 2) pairs."""
    own = params.get(params.get("dataset")) if isinstance(params.get("dataset"), str) else None
    out: list[tuple[str, object]] = []

    def walk(d: dict, where: str) -> None:
        for key, value in d.items():
            if isinstance(value, dict) and value:
                walk(value, f"{where}.{key}")
            else:
                out.append((f"{where}.{key}", value))

    for section in sections:
        if isinstance(own, dict) and isinstance(own.get(section), dict):
            walk(own[section], section)
    return out


def describe(params: dict, sections: tuple[str, ...] = SECTIONS) -> str:
    """One log line on what the dataset sets over ``sections`` ("" when nothing), so that a user who
    passed `-S train.members=3` sees why a dataset's own `train.members` won."""
    values = dataset_values(params, sections)
    if not values:
        return ""
    return (
        f"{params['dataset']} sets "
        + ", ".join(f"{k}={v}" for k, v in values)
        + " (its own section, over the defaults)"
    )
