"""Dataset loaders: every dataset becomes one ``Corpus`` (train, test, labels, stats).

=================  ===========================================================
``reuters21578``   Reuters-21578, ModApte split, R90 labels (the default)
``rcv1-v2-subset`` 2,316 RCV1-v2 stories with the official topic hierarchy
``folder``         your own data: JSON lines or the XML-repository raw-text layout
=================  ===========================================================
"""

from __future__ import annotations

from pathlib import Path

from pipeline.datasets.corpus import Corpus
from pipeline.errors import DataError

DATASETS = ("reuters21578", "rcv1-v2-subset", "folder")


def check_name(name: str) -> None:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")


def load(name: str, options: dict | None = None, cache: str | Path | None = None) -> Corpus:
    """Load dataset ``name`` with its options (its section of params.yaml).

    Built-in datasets read verified raw files from ``$TREADER_DATA_DIR`` or a
    download cache (see ``sources.locate``); ``folder`` reads ``options['path']``.
    """
    check_name(name)
    options = options or {}
    if name == "folder":
        from pipeline.datasets import folder

        if not options.get("path"):
            raise DataError("dataset 'folder' needs a path: dvc exp run -S dataset=folder -S folder.path=/some/dir")
        return folder.load(options["path"], options.get("layout", "auto"))
    from pipeline.datasets import sources

    raw = sources.locate(name, cache or sources.DEFAULT_CACHE)
    if name == "reuters21578":
        from pipeline.datasets import reuters

        return reuters.load(raw)
    from pipeline.datasets import rcv1

    return rcv1.load(raw, options.get("test_fraction", 0.2), options.get("split_seed", 13))
