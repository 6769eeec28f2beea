"""Downloading data sets described in ``third_party/datasets`` into the local cache.

Files are fetched with :mod:`urllib.request` into a temporary file next to their destination,
checked against the descriptor's sha256 (a mismatch removes the file and raises
:class:`ChecksumMismatchError`; a descriptor without a checksum gives a warning and the file
is recorded as *unverified*), then moved into place and, for zip archives, extracted. The
licence and citation are printed once per download. Offline, or for data sets behind a login,
:class:`~mirec.data.errors.DatasetNotAvailableError` says which files to put where by hand.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import warnings
import zipfile
from pathlib import Path

from mirec.data import registry
from mirec.data.errors import DataFormatError, DatasetNotAvailableError

__all__ = ["ChecksumMismatchError", "cache_dir", "download", "sha256sum"]

_CHUNK = 1 << 20


class ChecksumMismatchError(ValueError):
    """A downloaded file does not match the sha256 in its descriptor (the file is removed)."""


def cache_dir() -> Path:
    """The data root: ``$MIREC_DATA`` if set, else ``~/.cache/mirec``."""
    env = os.environ.get("MIREC_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mirec"


def sha256sum(path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _fetch(spec: dict, folder: Path, timeout: float) -> dict:
    """Downloads one file into ``folder``; returns its record for the marker file."""
    url = spec["url"]
    dest = folder / spec["filename"]
    expected = spec.get("sha256")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec['filename']}.", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        _say(f"downloading {url} -> {dest}")
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise DatasetNotAvailableError(
                f"could not download {url} ({exc}). If this machine is offline, fetch the file "
                f"elsewhere and put it at {dest} (extract archives there)."
            ) from exc
        actual = digest.hexdigest()
        verified = False
        if expected:
            if actual != expected.lower():
                raise ChecksumMismatchError(
                    f"{url}: sha256 is {actual}, the descriptor expects {expected}; "
                    "the downloaded file was removed"
                )
            verified = True
        else:
            msg = (f"{spec['filename']}: the descriptor has no verified sha256, so this file is "
                   f"NOT verified (its sha256 is {actual})")
            warnings.warn(msg, stacklevel=3)
            _say("WARNING: " + msg)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return {
        "url": url,
        "sha256": actual,
        "verified": verified,
        "downloaded_at": datetime.datetime.now(datetime.UTC).isoformat(
            timespec="seconds"),
    }


def _extract_zip(archive: Path, folder: Path, root: str | None) -> list[str]:
    """Extracts ``archive`` into ``folder``; members under ``root/`` lose that prefix and
    members outside it are skipped. Refuses paths that would leave ``folder``."""
    written = []
    prefix = root.strip("/") + "/" if root else ""
    base = folder.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                name = member.filename
                if member.is_dir() or not name.startswith(prefix):
                    continue
                rel = name[len(prefix):]
                target = (folder / rel).resolve()
                if base not in target.parents:
                    raise DataFormatError(archive, None, "archive members inside the folder",
                                          got=name)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, _CHUNK)
                written.append(rel)
    except zipfile.BadZipFile as exc:
        raise DataFormatError(archive, None, "a valid zip archive", got=str(exc)) from exc
    return written


def _print_terms(desc: dict) -> None:
    lic = desc["license"]
    print(f"\n{desc['name']}: licence / terms: {lic['summary']}\n  {lic['url']}")
    print("Please cite:\n" + desc["citation"].strip() + "\n")


def _shared_match(desc: dict, filename: str, digest: str) -> bool:
    shared = desc.get("shared_copy") or {}
    return shared.get("sha256", {}).get(filename) == digest


def download(name: str, data_dir=None, force: bool = False, timeout: float = 60.0) -> Path:
    """Downloads data set ``name`` into ``data_dir/name`` (default: ``cache_dir()/name``).

    Args:
      name: a data set from :func:`mirec.data.registry.list_datasets`.
      data_dir: data root; default :func:`cache_dir`.
      force: download again even if the files are already present.
      timeout: seconds per network operation.

    Returns:
      The data set folder.

    Raises:
      DatasetNotAvailableError: offline, a login is required, or a source is not a direct
        download; the message says which files to put where by hand.
      ChecksumMismatchError: a file did not match its published sha256 (it is removed).
    """
    desc = registry.get_descriptor(name)
    if not force:
        existing = registry.find_dataset_dir(name, data_dir)
        if existing is not None:
            _say(f"{name}: already present in {existing}")
            return existing
    if desc.get("login_required"):
        raise DatasetNotAvailableError(registry.not_available_message(desc, data_dir))
    if not all(spec.get("direct_download", True) for spec in desc["files"]):
        raise DatasetNotAvailableError(registry.not_available_message(desc, data_dir))

    folder = (Path(data_dir).expanduser() if data_dir is not None else cache_dir()) / name
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / registry.MARKER_FILE
    record = {"dataset": name, "files": {}}
    for spec in desc["files"]:
        try:
            entry = _fetch(spec, folder, timeout)
        except DatasetNotAvailableError as exc:
            raise DatasetNotAvailableError(
                f"{exc}\n{registry.not_available_message(desc, data_dir)}") from exc
        if not entry["verified"] and _shared_match(desc, spec["filename"], entry["sha256"]):
            entry["matches_shared_copy"] = True
            _say(f"{spec['filename']}: identical to the copy recorded in the descriptor's "
                 "shared_copy (still not a verified official checksum)")
        if spec["archive"] == "zip":
            entry["extracted"] = _extract_zip(folder / spec["filename"], folder,
                                              spec.get("archive_root"))
        record["files"][spec["filename"]] = entry
    marker.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    missing = registry.missing_files(desc, folder)
    if missing:
        raise DataFormatError(
            folder, None,
            "the downloaded files to provide " + "; ".join(" or ".join(m) for m in missing),
            got=sorted(p.name for p in folder.iterdir()),
        )
    _print_terms(desc)
    return folder
