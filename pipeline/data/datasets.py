"""Dataset loaders: every dataset becomes one ``Corpus`` (train, test, labels, stats).

=================  ===========================================================
``reuters21578``   Reuters-21578, ModApte split, R90 labels (the default)
``rcv1-v2-subset`` 2,316 RCV1-v2 stories with the official topic hierarchy
``folder``         your own data: JSON lines or the XML-repository raw-text layout
=================  ===========================================================
"""

from __future__ import annotations

from pathlib import Path

from pipeline.data.corpus import Corpus
from pipeline.data.textfile import iter_lines, read_json_texts
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
        from pipeline.data import folder

        if not options.get("path"):
            raise DataError("dataset 'folder' needs a path: dvc exp run -S dataset=folder -S folder.path=/some/dir")
        return folder.load(options["path"], options.get("layout", "auto"))
    module, raw = _built_in(name, cache)
    if name == "reuters21578":
        return module.load(raw)
    return module.load(raw, options.get("test_fraction", 0.2), options.get("split_seed", 13))


def all_texts(name: str, cache: str | Path | None = None) -> list[str]:
    """Every text in a built-in dataset's raw files, labelled or not, train or test.

    For reading one corpus as unlabelled text while training on another
    (``embed.extra_text``); never for the corpus being trained and tested on.
    """
    check_name(name)
    if name == "folder":
        raise DataError("'folder' is not a built-in corpus; name your folder's path instead")
    module, raw = _built_in(name, cache)
    return module.all_texts(raw)


def _built_in(name: str, cache: str | Path | None):
    """A built-in corpus's reader module and its verified raw folder (``sources.locate``)."""
    from pipeline.data import rcv1, reuters, sources

    return (reuters if name == "reuters21578" else rcv1), sources.locate(name, cache or sources.DEFAULT_CACHE)


def extra_texts(source: str) -> list[str]:
    """The texts of one ``embed.extra_text`` entry.

    - a built-in corpus name (``reuters21578``, ``rcv1-v2-subset``): every story in its raw files;
    - a folder in the ``folder`` dataset layout: its train and test texts;
    - a ``.jsonl`` file: the ``text`` field of each line;
    - any other file: one text per line (UTF-8).
    """
    if source in DATASETS:
        return all_texts(source)
    path = Path(source).expanduser()
    if path.is_dir():
        from pipeline.data import folder

        corpus = folder.load(path)
        return corpus.train["text"].to_pylist() + corpus.test["text"].to_pylist()
    if not path.is_file():
        raise DataError(
            f"embed.extra_text: neither a built-in corpus ({', '.join(DATASETS[:2])}) nor an existing file or folder",
            path,
        )
    if path.suffix != ".jsonl":
        return [line for line in iter_lines(path) if line.strip()]
    return [text for _, _, text in read_json_texts(path)]
