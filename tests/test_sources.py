"""Raw files: TREADER_DATA_DIR, and the download path against a local HTTP server."""

from __future__ import annotations

import functools
import http.server
import shutil
import tarfile
import threading
from pathlib import Path

import pytest

from pipeline.data import sources
from pipeline.errors import DataError


class _Server:
    def __init__(self, root: Path):
        self.requests: list[str] = []
        log = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):  # keep the test output clean
                pass

            def do_GET(self):
                log.append(self.path)
                super().do_GET()

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mirror(tmp_path, real_data_dir, monkeypatch):
    """A mirror laid out like the public sources: Reuters as a tar.gz, RCV1 as plain files."""
    root = tmp_path / "mirror"
    (root / "reuters21578").mkdir(parents=True)
    with tarfile.open(root / "reuters21578" / "reuters21578.tar.gz", "w:gz", compresslevel=1) as tar:
        for f in sorted((real_data_dir / "reuters21578").iterdir()):
            tar.add(f, arcname=f.name)
    shutil.copytree(real_data_dir / "rcv1-v2-subset", root / "rcv1-v2-subset")
    for f in (root / "rcv1-v2-subset").iterdir():
        f.chmod(0o644)
    monkeypatch.delenv("TREADER_DATA_DIR", raising=False)
    with _Server(root) as server:
        monkeypatch.setenv("TREADER_MIRROR", server.url)
        yield root, server


def test_download_archive_verifies_and_caches(mirror, tmp_path):
    root, server = mirror
    cache = tmp_path / "cache"
    folder = sources.locate("reuters21578", cache)
    assert folder == cache / "reuters21578"
    assert sorted(p.name for p in folder.iterdir()) == sorted(sources.known_sums()["reuters21578"])
    assert server.requests == ["/reuters21578/reuters21578.tar.gz"]
    # A second call finds verified files and downloads nothing.
    assert sources.locate("reuters21578", cache) == folder
    assert len(server.requests) == 1


def test_download_plain_files(mirror, tmp_path):
    _, server = mirror
    folder = sources.locate("rcv1-v2-subset", tmp_path / "cache")
    assert {p.name for p in folder.iterdir()} == {"rcv1_dev.json", "rcv1.taxonomy", "rcv1.label_meaning"}
    assert len(server.requests) == 3


def test_download_with_wrong_checksum_fails_and_leaves_nothing(mirror, tmp_path):
    root, _ = mirror
    with open(root / "rcv1-v2-subset" / "rcv1.taxonomy", "a") as f:
        f.write("X\tY\n")
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"rcv1\.taxonomy: checksum mismatch"):
        sources.locate("rcv1-v2-subset", cache)
    assert not cache.exists()  # no partial file, no temporary folder, and not the empty cache this call made


def test_download_missing_source_fails_clearly_says_what_to_do_and_leaves_no_empty_cache(mirror, tmp_path):
    root, _ = mirror
    (root / "reuters21578" / "reuters21578.tar.gz").unlink()
    cache = tmp_path / "data" / "raw"
    with pytest.raises(DataError, match="could not download reuters21578.*404") as err:
        sources.locate("reuters21578", cache)
    message = str(err.value)
    assert (
        f"put the raw files (unpacked from reuters21578.tar.gz; their sums: pipeline/data/SHA256SUMS) in {cache / 'reuters21578'}/"
        in message
    )
    assert "TREADER_DATA_DIR" in message and "TREADER_MIRROR" in message and "\n" not in message
    assert not (tmp_path / "data").exists()  # the cache folders this call made are gone again


def test_the_folder_dataset_has_nothing_to_fetch(tmp_path):
    with pytest.raises(DataError, match="the `folder` dataset is your own data: prepare reads folder.path"):
        sources.locate("folder", tmp_path)


def test_data_dir_is_verified(tmp_path, real_data_dir, monkeypatch):
    copy = tmp_path / "data"
    shutil.copytree(real_data_dir / "rcv1-v2-subset", copy / "rcv1-v2-subset")
    monkeypatch.setenv("TREADER_DATA_DIR", str(copy))
    assert sources.locate("rcv1-v2-subset", tmp_path / "cache") == copy / "rcv1-v2-subset"
    bad = copy / "rcv1-v2-subset" / "rcv1_dev.json"
    bad.chmod(0o644)
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(DataError) as err:
        sources.locate("rcv1-v2-subset", tmp_path / "cache")
    assert str(bad) in str(err.value) and "checksum mismatch" in str(err.value)


def test_data_dir_without_the_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("TREADER_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match="TREADER_DATA_DIR is set but has no folder 'reuters21578'"):
        sources.locate("reuters21578", tmp_path / "cache")


def test_bundled_sums_cover_every_needed_file():
    sums = sources.known_sums()
    for name, src in sources.SOURCES.items():
        assert set(src.needed) <= set(sums[name])
