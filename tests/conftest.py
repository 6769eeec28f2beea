"""Shared pytest fixtures. ``import mirec`` first so TensorFlow loads with Keras 2."""

import os
import pathlib

import mirec  # noqa: F401
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]


def shared_data_dir() -> pathlib.Path:
    """The development copies of real datasets (absent on a user's machine)."""
    return pathlib.Path(os.environ.get("MIREC_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data():
    path = shared_data_dir()
    if not path.exists():
        pytest.skip(f"real data not available at {path}")
    return path
