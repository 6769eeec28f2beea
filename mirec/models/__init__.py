"""Recommenders built on :class:`mirec.models.base.MultiInterestModel`."""

from mirec.models.base import MultiInterestModel  # noqa: F401
from mirec.models.losses import LossConfig  # noqa: F401
