"""Keras layers implementing the papers' modules (one file per paper plus shared blocks)."""

from mirec.layers.attention import SelfAttentivePooling, masked_softmax  # noqa: F401
from mirec.layers.capsule import BehaviorToInterestRouting, squash  # noqa: F401
