"""Downloads, offline: a local HTTP server and file:// URLs stand in for the mirrors."""

from __future__ import annotations

import functools
import hashlib
import io
import tarfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ticketlab.data import DataConfig, download, download_dataset, load_data
from ticketlab.data.download import DownloadSpec, RemoteFile
from ticketlab.errors import ConfigError, DataError

if TYPE_CHECKING:  # the fixture's type only; test modules never import conftest
    from conftest import DataFiles


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, folder it serves)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(QuietHandler, directory=str(served))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", served
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def publish_idx(files: DataFiles, served: Path) -> tuple[RemoteFile, ...]:
    files.idx_dataset(served / "files", gz=True)
    return tuple(RemoteFile(p.name, md5(p)) for p in sorted((served / "files").iterdir()))


def test_downloads_verifies_and_falls_back_to_the_next_mirror(
    files: DataFiles, tmp_path: Path, server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, served = server
    remote = publish_idx(files, served)
    spec = DownloadSpec((base + "missing/", base + "files/"), remote)
    monkeypatch.setitem(download.DOWNLOADS, "fashion-mnist", spec)
    folder = download_dataset("fashion-mnist", data_dir=tmp_path / "data")
    assert folder == tmp_path / "data/fashion-mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted(r.name for r in remote)
    bundle = load_data(DataConfig(), data_dir=str(tmp_path / "data"), roots=[])
    assert len(bundle.train) == 40 and len(bundle.test) == 20


def test_checksum_mismatch_leaves_nothing(
    files: DataFiles, tmp_path: Path, server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, served = server
    remote = publish_idx(files, served)
    wrong = (RemoteFile(remote[0].name, "0" * 32), *remote[1:])
    monkeypatch.setitem(download.DOWNLOADS, "mnist", DownloadSpec((base + "files/",), wrong))
    with pytest.raises(DataError) as excinfo:
        download_dataset("mnist", data_dir=tmp_path / "data")
    text = str(excinfo.value)
    assert "\n" not in text and "MD5" in text and remote[0].name in text
    assert list((tmp_path / "data/mnist").iterdir()) == []  # no temp file, no target


def test_network_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 1 on localhost refuses connections; no traffic leaves the machine.
    spec = DownloadSpec(("http://127.0.0.1:1/",), (RemoteFile("x.gz", "0" * 32),))
    monkeypatch.setitem(download.DOWNLOADS, "mnist", spec)
    with pytest.raises(DataError) as excinfo:
        download_dataset("mnist", data_dir=tmp_path)
    assert "\n" not in str(excinfo.value) and "http://127.0.0.1:1/x.gz" in str(excinfo.value)


def test_existing_copy_is_not_fetched_again(
    files: DataFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files.idx_dataset(tmp_path / "data/fashion-mnist")
    spec = DownloadSpec(("http://127.0.0.1:1/",), (RemoteFile("x.gz", "0" * 32),))
    monkeypatch.setitem(download.DOWNLOADS, "fashion-mnist", spec)
    assert download_dataset("fashion-mnist", tmp_path / "data") == tmp_path / "data/fashion-mnist"


def make_tar(path: Path, entries: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def file_spec(archive: Path) -> DownloadSpec:
    """A one-archive spec served from a file:// URL."""
    remote = (RemoteFile(archive.name, md5(archive)),)
    return DownloadSpec((archive.parent.as_uri() + "/",), remote, archive=True)


def test_archive_over_file_url_is_unpacked(
    files: DataFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = tmp_path / "staged/cifar-10-batches-py"
    files.cifar(staged, "cifar10", per_batch=2)
    archive = tmp_path / "mirror/cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staged, arcname="cifar-10-batches-py")
    spec = file_spec(archive)
    monkeypatch.setitem(download.DOWNLOADS, "cifar10", spec)
    # The cache is the download root when neither data_dir nor $TICKETLAB_DATA is given.
    cache = tmp_path / "xdg-cache/ticketlab"
    bundle = load_data(DataConfig(dataset="cifar10"), download=True, roots=[cache])
    assert bundle.info.location == cache / "cifar10/cifar-10-batches-py"
    assert len(bundle.train) == 10 and bundle.info.image_shape == (3, 32, 32)
    assert not (cache / "cifar10" / archive.name).exists()  # unpacked, then removed


@pytest.mark.parametrize("evil", ["../escaped", "/abs/escaped", "a/../../escaped"])
def test_archive_path_traversal_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evil: str
) -> None:
    archive = make_tar(tmp_path / "mirror/cifar-10-python.tar.gz", {"ok.txt": b"1", evil: b"2"})
    spec = file_spec(archive)
    monkeypatch.setitem(download.DOWNLOADS, "cifar10", spec)
    dest = tmp_path / "deep/data"
    with pytest.raises(DataError, match="unsafe archive member"):
        download_dataset("cifar10", dest)
    assert not (tmp_path / "deep/escaped").exists() and not (dest / "escaped").exists()
    assert not any(p.name == "ok.txt" for p in tmp_path.rglob("*") if "mirror" not in p.parts)


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    (tmp_path / "out").mkdir()
    with pytest.raises(DataError, match="unsafe archive member 'link'"):
        download.extract_tar(archive, tmp_path / "out")


def test_download_root_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETLAB_DATA", str(tmp_path / "env"))
    assert download.download_roots(tmp_path / "arg") == [
        tmp_path / "arg",
        tmp_path / "env",
        tmp_path / "xdg-cache/ticketlab",
    ]
    assert download.writable_root() == tmp_path / "env"


def test_synthetic_cannot_be_downloaded() -> None:
    with pytest.raises(ConfigError, match="generated"):
        download_dataset("synthetic")


def test_load_without_download_does_not_fetch(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_data(DataConfig(dataset="mnist"), data_dir=str(tmp_path), roots=[])
