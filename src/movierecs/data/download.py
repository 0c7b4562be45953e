"""Verified downloads from GroupLens: checksum first, then unpack; no network for a present copy."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx

from movierecs.data.loaders import dataset_folder, is_complete, spec_for
from movierecs.exceptions import ChecksumMismatchError, DataError

Progress = Callable[[int, int | None], None]  # (bytes so far, total or None)


def published_md5(client: httpx.Client, url: str) -> str:
    """Read ``<url>.md5`` (GroupLens publishes one per archive: ``<md5>  <name>``)."""
    response = client.get(url + ".md5")
    response.raise_for_status()
    token = response.text.strip().split()[0] if response.text.strip() else ""
    if len(token) != 32:
        raise DataError(f"{url}.md5 did not contain an MD5 checksum")
    return token.lower()


def ensure_dataset(
    name: str,
    data_dir: Path,
    base_url: str,
    progress: Progress | None = None,
    expected_md5: str | None = None,
    timeout: float = 60.0,
) -> tuple[Path, bool]:
    """Make ``data_dir/<name>`` hold a complete copy; download it only if it does not.

    Returns
    -------
    (folder, downloaded)
        The dataset folder and whether it was fetched now.

    Raises
    ------
    ChecksumMismatchError
        The archive does not match its checksum; nothing is unpacked.
    """
    spec = spec_for(name)
    folder = dataset_folder(name, data_dir)
    if is_complete(name, data_dir):
        return folder, False
    url = f"{base_url.rstrip('/')}/{spec.archive}"
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _download(name, url, data_dir, progress, expected_md5, timeout), True
    except httpx.HTTPError as exc:
        raise DataError(
            f"cannot download {name} from {base_url}: {exc}; check the network or MOVIERECS_DOWNLOAD_BASE_URL, "
            f"or put an unpacked copy in {data_dir}"
        ) from exc


def _download(
    name: str, url: str, data_dir: Path, progress: Progress | None, expected_md5: str | None, timeout: float
) -> Path:
    """Fetch, verify, unpack; returns the dataset folder."""
    spec = spec_for(name)
    folder = dataset_folder(name, data_dir)
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        md5_expected = (expected_md5 or spec.md5 or published_md5(client, url)).lower()
        with tempfile.TemporaryDirectory(dir=data_dir, prefix=".download-") as tmp:
            archive = Path(tmp) / spec.archive
            digest = hashlib.md5(usedforsecurity=False)
            with client.stream("GET", url) as response:
                response.raise_for_status()
                total = int(response.headers.get("content-length", 0)) or None
                done = 0
                with archive.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
            if digest.hexdigest() != md5_expected:
                raise ChecksumMismatchError(
                    f"{url}: MD5 {digest.hexdigest()} != expected {md5_expected}; the download is "
                    "corrupt or the file changed upstream. Nothing was unpacked; try again."
                )
            _unpack(archive, Path(tmp) / "unpacked")
            source = Path(tmp) / "unpacked" / spec.name
            if not source.is_dir():
                raise DataError(f"{spec.archive} does not contain a top-level {spec.name}/ folder")
            if folder.exists():
                shutil.rmtree(folder)
            shutil.move(str(source), folder)
    if not is_complete(name, data_dir):
        raise DataError(f"{spec.archive} lacks some of {', '.join(spec.files)}")
    return folder


def _unpack(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            target = (dest / member).resolve()
            if not target.is_relative_to(dest.resolve()):
                raise DataError(f"{archive.name}: unsafe path {member!r} in archive")
        zf.extractall(dest)
