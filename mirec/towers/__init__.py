"""Towers: Keras layers that map features to embeddings."""

from mirec.towers.item import ItemTower  # noqa: F401
