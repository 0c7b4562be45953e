"""Verified downloads against a local HTTP server serving zips built in the test."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from movierecs.data.download import ensure_dataset
from movierecs.data.loaders import load_dataset
from movierecs.exceptions import ChecksumMismatchError, DataError

ML100K_FILES = {
    "u.data": "1\t10\t5\t881250949\n2\t10\t3\t881250950\n2\t11\t4\t881250951\n",
    "u.item": "10|Heat (1995)|01-Jan-1995||http://x|0|1|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0\n"
    "11|Clueless (1995)|01-Jan-1995||http://y|0|0|0|0|0|1|0|0|0|0|0|0|0|0|1|0|0|0|0\n",
    "u.user": "1|24|M|technician|85711\n2|53|F|other|94043\n",
}
LATEST_FILES = {
    "ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n",
    "movies.csv": "movieId,title,genres\n1,Toy Story (1995),Animation|Comedy\n",
}


def make_zip(top: str, files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(f"{top}/{name}" if top else name, text)
    return buf.getvalue()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@dataclass
class Server:
    base_url: str
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            body = state.files.get(self.path.lstrip("/"))
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}/movielens/"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def serve(server: Server, archive: str, data: bytes, with_md5: str | None = None) -> None:
    server.files[f"movielens/{archive}"] = data
    if with_md5 is not None:
        server.files[f"movielens/{archive}.md5"] = f"{with_md5}  {archive}\n".encode()


def test_download_verifies_unpacks_then_skips_the_network(server: Server, tmp_path: Path) -> None:
    archive = make_zip("ml-100k", ML100K_FILES)
    serve(server, "ml-100k.zip", archive)
    progress: list[tuple[int, int | None]] = []
    folder, downloaded = ensure_dataset("ml-100k", tmp_path, server.base_url, expected_md5=md5(archive),
                                        progress=lambda done, total: progress.append((done, total)))  # fmt: skip
    assert downloaded is True
    assert folder == tmp_path / "ml-100k"
    assert (folder / "u.data").read_text() == ML100K_FILES["u.data"]
    assert server.requests == ["/movielens/ml-100k.zip"]
    assert progress[-1] == (len(archive), len(archive))
    assert len(load_dataset("ml-100k", tmp_path).interactions) == 3
    assert not list(tmp_path.glob(".download-*"))  # the temporary folder is gone

    again, downloaded = ensure_dataset("ml-100k", tmp_path, server.base_url, expected_md5=md5(archive))
    assert (again, downloaded) == (folder, False)
    assert len(server.requests) == 1  # no request at all for a present copy


def test_corrupt_archive_raises_and_unpacks_nothing(server: Server, tmp_path: Path) -> None:
    archive = make_zip("ml-100k", ML100K_FILES)
    serve(server, "ml-100k.zip", archive[:-10] + b"0123456789")
    with pytest.raises(ChecksumMismatchError, match="MD5") as info:
        ensure_dataset("ml-100k", tmp_path, server.base_url, expected_md5=md5(archive))
    assert "Nothing was unpacked" in str(info.value)
    assert not (tmp_path / "ml-100k").exists()
    assert list(tmp_path.iterdir()) == []


def test_pinned_md5_rejects_an_archive_that_is_not_the_real_one(server: Server, tmp_path: Path) -> None:
    # ml-100k pins the GroupLens checksum: a look-alike archive must not pass
    serve(server, "ml-100k.zip", make_zip("ml-100k", ML100K_FILES))
    with pytest.raises(ChecksumMismatchError, match="0e33842e24a9c977be4e0107933c0723"):
        ensure_dataset("ml-100k", tmp_path, server.base_url)
    assert not (tmp_path / "ml-100k").exists()


def test_published_md5_companion_is_used(server: Server, tmp_path: Path) -> None:
    archive = make_zip("ml-latest-small", LATEST_FILES)
    serve(server, "ml-latest-small.zip", archive, with_md5=md5(archive).upper())
    folder, downloaded = ensure_dataset("ml-latest-small", tmp_path, server.base_url)
    assert downloaded
    assert (folder / "movies.csv").read_text() == LATEST_FILES["movies.csv"]
    assert server.requests == ["/movielens/ml-latest-small.zip.md5", "/movielens/ml-latest-small.zip"]


def test_published_md5_mismatch(server: Server, tmp_path: Path) -> None:
    serve(server, "ml-latest-small.zip", make_zip("ml-latest-small", LATEST_FILES), with_md5="0" * 32)
    with pytest.raises(ChecksumMismatchError):
        ensure_dataset("ml-latest-small", tmp_path, server.base_url)
    assert not (tmp_path / "ml-latest-small").exists()


def test_md5_companion_without_a_checksum(server: Server, tmp_path: Path) -> None:
    serve(server, "ml-latest-small.zip", make_zip("ml-latest-small", LATEST_FILES))
    server.files["movielens/ml-latest-small.zip.md5"] = b"not found\n"
    with pytest.raises(DataError, match="did not contain an MD5"):
        ensure_dataset("ml-latest-small", tmp_path, server.base_url)


@pytest.mark.parametrize(
    ("top", "files", "message"),
    [
        ("other", LATEST_FILES, "top-level ml-latest-small/ folder"),
        ("ml-latest-small", {"ratings.csv": LATEST_FILES["ratings.csv"]}, "lacks some of"),
        ("", {"../evil.csv": "x", "ml-latest-small/ratings.csv": "y"}, "unsafe path"),
    ],
)
def test_malformed_archives(server: Server, tmp_path: Path, top: str, files: dict[str, str],
                            message: str) -> None:  # fmt: skip
    archive = make_zip(top, files)
    serve(server, "ml-latest-small.zip", archive)
    data_dir = tmp_path / "data"
    with pytest.raises(DataError, match=message):
        ensure_dataset("ml-latest-small", data_dir, server.base_url, expected_md5=md5(archive))
    assert not (tmp_path / "evil.csv").exists()
    assert not (data_dir / "evil.csv").exists()


def test_http_error_is_reported(server: Server, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="404"):
        ensure_dataset("ml-1m", tmp_path, server.base_url, expected_md5="0" * 32)
    assert not (tmp_path / "ml-1m").exists()


def test_cli_download(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from movierecs.cli import app

    archive = make_zip("ml-latest-small", LATEST_FILES)
    serve(server, "ml-latest-small.zip", archive, with_md5=md5(archive))
    monkeypatch.setenv("MOVIERECS_DOWNLOAD_BASE_URL", server.base_url)
    dest = tmp_path / "dest"
    runner = CliRunner()
    args = ["data", "download", "--dataset", "ml-latest-small", "--dest", str(dest)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (dest / "ml-latest-small" / "ratings.csv").is_file()
    assert "downloaded and verified" in result.output
    n_requests = len(server.requests)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "already present" in result.output
    assert len(server.requests) == n_requests
