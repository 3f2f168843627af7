"""Where a built-in dataset's raw files come from, and proof that they are the right ones.

Raw files are read from ``$TREADER_DATA_DIR/<dataset>/`` when that variable is
set; otherwise they are downloaded once from the dataset's public source into
``<cache>/<dataset>/`` (default ``data/raw``). Either way every file is checked
against the SHA-256 sums shipped in ``SHA256SUMS`` next to this module, so the
pipeline's output depends only on the code and the parameters.

``TREADER_MIRROR`` replaces the public sources with ``<mirror>/<dataset>/<file>``
(used by the tests, which serve a copy of the files from a local HTTP server).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from pipeline.errors import DataError

log = logging.getLogger(__name__)

SUMS_FILE = Path(__file__).with_name("SHA256SUMS")
DEFAULT_CACHE = Path("data/raw")


@dataclass(frozen=True)
class Source:
    """A built-in dataset's raw files.

    ``needed``: the files the loader reads. ``urls``: where to get them, in order
    of preference; each URL is either one raw file (its basename is the file's
    name) or an archive (``.tar.gz``/``.zip``) holding the files.
    """

    needed: tuple[str, ...]
    urls: tuple[str, ...]


SOURCES: dict[str, Source] = {
    "reuters21578": Source(
        needed=tuple(f"reut2-{i:03d}.sgm" for i in range(22)) + ("cat-descriptions_120396.txt",),
        urls=(
            "https://kdd.ics.uci.edu/databases/reuters21578/reuters21578.tar.gz",
            "https://archive.ics.uci.edu/ml/machine-learning-databases/reuters21578-mld/reuters21578.tar.gz",
        ),
    ),
    "rcv1-v2-subset": Source(
        needed=("rcv1_dev.json", "rcv1.taxonomy", "rcv1.label_meaning"),
        urls=tuple(
            f"https://raw.githubusercontent.com/Tencent/NeuralNLP-NeuralClassifier/master/data/{f}"
            for f in ("rcv1_dev.json", "rcv1.taxonomy", "rcv1.label_meaning")
        ),
    ),
}


def known_sums() -> dict[str, dict[str, str]]:
    """``{dataset: {file: sha256}}`` from the bundled SHA256SUMS."""
    sums: dict[str, dict[str, str]] = {}
    for line in SUMS_FILE.read_text().splitlines():
        if not line.strip():
            continue
        digest, rel = line.split(maxsplit=1)
        dataset, name = rel.strip().split("/", 1)
        sums.setdefault(dataset, {})[name] = digest
    return sums


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(folder: Path, dataset: str, names: tuple[str, ...] | None = None) -> None:
    """Raise DataError unless each needed file of ``dataset`` in ``folder`` has its true sum."""
    sums = known_sums()[dataset]
    for name in names or SOURCES[dataset].needed:
        path = folder / name
        if not path.exists():
            raise DataError(f"missing raw file of {dataset} (expected {name} in {folder})", path)
        got = sha256(path)
        if got != sums[name]:
            raise DataError(
                f"checksum mismatch: SHA-256 is {got}, expected {sums[name]}; "
                "the file is corrupt or not the published version",
                path,
            )


def locate(dataset: str, cache: str | Path = DEFAULT_CACHE) -> Path:
    """Return a folder holding ``dataset``'s verified raw files, downloading them if needed."""
    if dataset == "folder":
        raise DataError(
            "the `folder` dataset is your own data: prepare reads folder.path and nothing is downloaded; "
            f"raw files are fetched for the built-in corpora only ({', '.join(sorted(SOURCES))})"
        )
    if dataset not in SOURCES:
        raise DataError(f"no raw-file source for dataset {dataset!r}; built-in: {', '.join(sorted(SOURCES))}")
    env = os.environ.get("TREADER_DATA_DIR")
    if env:
        folder = Path(env) / dataset
        if not folder.is_dir():
            raise DataError(f"TREADER_DATA_DIR is set but has no folder {dataset!r}", folder)
        verify(folder, dataset)
        return folder
    folder = Path(cache) / dataset
    try:
        verify(folder, dataset)
        return folder
    except DataError:
        pass
    download(dataset, folder)
    return folder


def _urls(dataset: str) -> list[str]:
    mirror = os.environ.get("TREADER_MIRROR")
    urls = SOURCES[dataset].urls
    if mirror:
        return [f"{mirror.rstrip('/')}/{dataset}/{u.rsplit('/', 1)[1]}" for u in urls]
    return list(urls)


def remedy(dataset: str, folder: Path) -> str:
    """What to do when ``dataset``'s raw files cannot be downloaded."""
    archives = list(dict.fromkeys(u.rsplit("/", 1)[1] for u in SOURCES[dataset].urls if _is_archive(u)))
    files = f"unpacked from {' or '.join(archives)}" if archives else ", ".join(SOURCES[dataset].needed)
    return (
        f"without a network, put the raw files ({files}; their sums: pipeline/data/SHA256SUMS) in {folder}/, "
        f"or set TREADER_DATA_DIR to a folder "
        f"holding {dataset}/ with them, or TREADER_MIRROR to a mirror holding {dataset}/<file>"
    )


def download(dataset: str, folder: Path) -> None:
    """Fetch ``dataset``'s files into ``folder`` (atomically), verifying every sum. On failure nothing is
    left behind: no partial file, and no empty cache folder this call made."""
    made = [p for p in (folder.parent, *folder.parent.parents) if not p.exists()]
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        _download(dataset, folder)
    except BaseException:
        for p in made:  # innermost first; only the ones this call made, and only while empty
            if p.is_dir() and not any(p.iterdir()):
                p.rmdir()
        raise


def _download(dataset: str, folder: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{dataset}-", dir=folder.parent))
    try:
        archives = [u for u in _urls(dataset) if _is_archive(u)]
        if archives:
            errors = []
            for url in archives:  # alternatives: the first that works wins
                try:
                    blob = _fetch(url)
                    _extract(blob, set(known_sums()[dataset]), tmp, url)
                    break
                except (urllib.error.URLError, OSError) as exc:
                    errors.append(f"{url}: {exc}")
                    log.warning("download failed: %s: %s", url, exc)
            else:
                raise DataError(f"could not download {dataset} ({'; '.join(errors)}); {remedy(dataset, folder)}")
        else:
            for url in _urls(dataset):
                try:
                    (tmp / url.rsplit("/", 1)[1]).write_bytes(_fetch(url))
                except (urllib.error.URLError, OSError) as exc:
                    raise DataError(f"could not download {dataset} ({url}: {exc}); {remedy(dataset, folder)}") from None
        verify(tmp, dataset)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _is_archive(url: str) -> bool:
    return url.endswith((".tar.gz", ".tgz", ".zip"))


def _fetch(url: str) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "treaderxml"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        total = int(resp.headers.get("Content-Length") or 0) or None
        buf = io.BytesIO()
        with tqdm(total=total, unit="B", unit_scale=True, desc=f"download {url.rsplit('/', 1)[1]}") as bar:
            for block in iter(lambda: resp.read(1 << 16), b""):
                buf.write(block)
                bar.update(len(block))
    return buf.getvalue()


def _extract(blob: bytes, wanted: set[str], dest: Path, origin: str, depth: int = 0) -> None:
    """Write the members of an archive whose basename is in ``wanted``; recurse into nested archives."""
    try:
        if zipfile.is_zipfile(io.BytesIO(blob)):
            with zipfile.ZipFile(io.BytesIO(blob)) as z:
                members = [(m.filename, lambda m=m: z.read(m)) for m in z.infolist() if not m.is_dir()]
                _take(members, wanted, dest, origin, depth)
            return
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as t:
            members = [(m.name, lambda m=m: t.extractfile(m).read()) for m in t.getmembers() if m.isfile()]
            _take(members, wanted, dest, origin, depth)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"downloaded file is not a readable archive: {exc}", origin) from exc


def _take(members, wanted: set[str], dest: Path, origin: str, depth: int) -> None:
    for name, read in members:
        base = name.rsplit("/", 1)[-1]
        if base in wanted:
            (dest / base).write_bytes(read())
        elif depth == 0 and _is_archive(base):
            _extract(read(), wanted, dest, origin, depth + 1)
