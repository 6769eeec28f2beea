"""Registry of the data sets mirec knows: descriptors, where their files are, how to read them.

Each data set is described by one JSON file in ``third_party/datasets/`` (more folders can be
added with the environment variable ``MIREC_DATASET_DESCRIPTORS``, ``os.pathsep``-separated).
A descriptor holds the official sources, checksums (``null`` when not verified), licence,
citation and the reader to use; ``third_party/README.md`` documents the fields.

A data set's files live in a folder named after the data set under the data root: the
``data_dir`` argument, else the cache (``$MIREC_DATA`` or ``~/.cache/mirec``). ``data_dir``
may also be the data set's folder itself.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

from mirec.data.errors import DatasetNotAvailableError
from mirec.data.types import InteractionData

__all__ = [
    "DESCRIPTOR_DIR",
    "MARKER_FILE",
    "dataset_status",
    "find_dataset_dir",
    "get_descriptor",
    "list_datasets",
    "load",
    "missing_files",
    "not_available_message",
    "validate_descriptor",
]

DESCRIPTOR_DIR = Path(__file__).resolve().parents[2] / "third_party" / "datasets"
# Written by mirec.data.download into a data set folder: what was fetched and verified.
MARKER_FILE = ".mirec_download.json"

_REQUIRED_KEYS = {
    "name": str,
    "description": str,
    "homepage": str,
    "files": list,
    "required": list,
    "license": dict,
    "citation": str,
    "reader": dict,
    "login_required": bool,
    "notes": str,
}
_ARCHIVES = ("zip", "gz", "none")


def _descriptor_dirs() -> list[Path]:
    extra = os.environ.get("MIREC_DATASET_DESCRIPTORS", "")
    dirs = [Path(p) for p in extra.split(os.pathsep) if p]
    return dirs + [DESCRIPTOR_DIR]


def _descriptor_paths() -> dict[str, Path]:
    """name -> descriptor file; earlier folders (the environment variable) win."""
    found: dict[str, Path] = {}
    for folder in _descriptor_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            found.setdefault(path.stem, path)
    return found


def list_datasets() -> list[str]:
    """Names of all described data sets, sorted."""
    return sorted(_descriptor_paths())


def get_descriptor(name: str) -> dict:
    """The descriptor of data set ``name`` (a fresh copy; see ``third_party/README.md``)."""
    paths = _descriptor_paths()
    if name not in paths:
        raise KeyError(f"unknown data set {name!r}; known: {', '.join(sorted(paths))}")
    with open(paths[name], encoding="utf-8") as fh:
        desc = json.load(fh)
    validate_descriptor(desc, source=paths[name])
    return copy.deepcopy(desc)


def validate_descriptor(desc: dict, source: object = "<descriptor>") -> None:
    """Raises ValueError when a descriptor lacks a field or has one of the wrong type."""
    problems = []
    for key, kind in _REQUIRED_KEYS.items():
        if key not in desc:
            problems.append(f"missing '{key}'")
        elif not isinstance(desc[key], kind):
            problems.append(f"'{key}' should be a {kind.__name__}")
    for i, spec in enumerate(desc.get("files", [])):
        for key in ("filename", "url", "archive"):
            if not isinstance(spec.get(key), str):
                problems.append(f"files[{i}].{key} should be a string")
        if "sha256" not in spec:
            problems.append(f"files[{i}] needs 'sha256' (null when unknown)")
        elif spec["sha256"] is not None and (
            not isinstance(spec["sha256"], str) or len(spec["sha256"]) != 64
        ):
            problems.append(f"files[{i}].sha256 should be 64 hex digits or null")
        if spec.get("archive") not in _ARCHIVES:
            problems.append(f"files[{i}].archive should be one of {_ARCHIVES}")
    for entry in desc.get("required", []):
        if not (isinstance(entry, str) or (isinstance(entry, list) and entry
                                           and all(isinstance(e, str) for e in entry))):
            problems.append(f"required entry {entry!r} should be a file name or a list of them")
    lic = desc.get("license", {})
    if isinstance(lic, dict) and not all(isinstance(lic.get(k), str) for k in ("summary", "url")):
        problems.append("license needs 'summary' and 'url' strings")
    reader = desc.get("reader", {})
    if isinstance(reader, dict) and not isinstance(reader.get("function"), str):
        problems.append("reader needs a 'function' name")
    if desc.get("login_required") and not desc.get("login_url"):
        problems.append("login_required data sets need a 'login_url'")
    if problems:
        raise ValueError(f"{source}: bad data set descriptor: {'; '.join(problems)}")


def _alternatives(entry) -> list[str]:
    return [entry] if isinstance(entry, str) else list(entry)


def missing_files(desc: dict, folder: Path) -> list[list[str]]:
    """The ``required`` entries (each a list of alternatives) not satisfied in ``folder``."""
    folder = Path(folder)
    return [
        _alternatives(entry)
        for entry in desc["required"]
        if not any((folder / name).is_file() for name in _alternatives(entry))
    ]


def _candidate_dirs(name: str, data_dir=None) -> list[Path]:
    # A descriptor may name other folders that commonly hold its files ("folder_aliases"),
    # e.g. the SASRec-style ML-1M file kept beside the other ML-1M files.
    # The folder of the project's shared development copy ("shared_copy") counts too.
    desc = get_descriptor(name)
    aliases = list(desc.get("folder_aliases", []))
    shared = desc.get("shared_copy", {}).get("folder")
    if shared and shared not in aliases:
        aliases.append(shared)
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        return [root / name] + [root / a for a in aliases] + [root]
    from mirec.data.download import cache_dir

    return [cache_dir() / name] + [cache_dir() / a for a in aliases]


def find_dataset_dir(name: str, data_dir=None) -> Path | None:
    """The folder holding all required files of ``name``, or None.

    Looks in ``data_dir/name`` and ``data_dir`` when ``data_dir`` is given, else in
    ``cache_dir()/name``.
    """
    desc = get_descriptor(name)
    for folder in _candidate_dirs(name, data_dir):
        if folder.is_dir() and not missing_files(desc, folder):
            return folder
    return None


def dataset_status(name: str, data_dir=None) -> dict:
    """Whether ``name`` is present and, if it was downloaded by mirec, whether verified.

    Returns a dict with ``present`` (bool), ``folder`` (str or None) and ``state``: one of
    ``missing``, ``verified`` (every file matched its published sha256), ``unverified``
    (downloaded, no published checksum for some file), ``manual`` (placed by hand).
    """
    folder = find_dataset_dir(name, data_dir)
    if folder is None:
        return {"present": False, "folder": None, "state": "missing"}
    marker = folder / MARKER_FILE
    state = "manual"
    if marker.is_file():
        try:
            record = json.loads(marker.read_text(encoding="utf-8"))
            files = record.get("files", {})
            state = "verified" if files and all(f.get("verified") for f in files.values()) \
                else "unverified"
        except (OSError, ValueError):
            state = "unverified"
    return {"present": True, "folder": str(folder), "state": state}


def not_available_message(desc: dict, data_dir=None) -> str:
    """Tells exactly which files to put where (and where to log in, if needed)."""
    name = desc["name"]
    looked = _candidate_dirs(name, data_dir)
    target = looked[0]
    lines = [f"Data set {name!r} is not available (looked in: {', '.join(map(str, looked))})."]
    lines.append(f"Put these files into {target}/ :")
    for entry in desc["required"]:
        alts = _alternatives(entry)
        lines.append(f"  - {alts[0]}" if len(alts) == 1 else f"  - one of: {', '.join(alts)}")
    present = [f for f in looked if f.is_dir()]
    for folder in present:
        missing = missing_files(desc, folder)
        if missing:
            lines.append(f"  ({folder} exists but lacks: "
                         f"{'; '.join(' or '.join(m) for m in missing)})")
    lines.append("Sources:")
    for spec in desc["files"]:
        how = {"zip": "zip archive, extract", "gz": "gzip file, keep compressed",
               "none": "plain file"}[spec["archive"]]
        root = f" (files under {spec['archive_root']}/)" if spec.get("archive_root") else ""
        where = f" in {spec['location']}" if spec.get("location") else ""
        lines.append(f"  - {spec['filename']}: {spec['url']}{where} [{how}{root}]")
    if desc.get("login_required"):
        lines.append(
            f"This data set needs an account: log in at {desc['login_url']}, accept the terms, "
            f"download the files above by hand and place them as listed."
        )
    elif all(spec.get("direct_download", True) for spec in desc["files"]):
        lines.append(f"Or run: python -m mirec.data download {name}"
                     + (f" --data_dir {data_dir}" if data_dir is not None else ""))
    else:
        lines.append("These files cannot be fetched automatically (the source is a landing or "
                     "shared-drive page): download them by hand.")
    return "\n".join(lines)


def _reader_argument(desc: dict, folder: Path) -> Path:
    spec = desc["reader"].get("path", ".")
    if spec == ".":
        return folder
    for name in _alternatives(spec):
        if (folder / name).exists():
            return folder / name
    raise DatasetNotAvailableError(
        f"{folder}: none of {', '.join(_alternatives(spec))} found for data set {desc['name']!r}"
    )


def load(name: str, /, data_dir=None, **kwargs) -> InteractionData:
    """Reads data set ``name`` with the reader named in its descriptor.

    Args:
      name: a name from :func:`list_datasets` (positional, so that a reader's own ``name``
        argument can be passed in ``kwargs``).
      data_dir: data root (or the data set folder itself); default: the cache directory.
      **kwargs: override the reader keyword arguments of the descriptor (in the descriptor,
        a string argument starting with ``{folder}/`` is a path inside the data set folder).

    Raises:
      DatasetNotAvailableError: the files are not there; the message lists what to put where.
    """
    desc = get_descriptor(name)
    folder = find_dataset_dir(name, data_dir)
    if folder is None:
        raise DatasetNotAvailableError(not_available_message(desc, data_dir))
    from mirec.data import readers

    function = getattr(readers, desc["reader"]["function"], None)
    if function is None:
        raise ValueError(f"descriptor of {name!r} names unknown reader "
                         f"{desc['reader']['function']!r}")
    options = {
        key: (str(folder / value[len("{folder}/"):])
              if isinstance(value, str) and value.startswith("{folder}/") else value)
        for key, value in desc["reader"].get("kwargs", {}).items()
    }
    options.update(kwargs)
    return function(_reader_argument(desc, folder), **options)
