"""Datasets: readers, downloads, preprocessing, protocols and tf.data pipelines."""

from mirec.data.errors import DataFormatError, DatasetNotAvailableError  # noqa: F401
from mirec.data.preprocess import (Sequences, filter_ratings, kcore, remap_ids,  # noqa: F401
                                   sort_chronologically, to_sequences)
from mirec.data.protocols import (EvalSet, Split, chronological_split,  # noqa: F401
                                  leave_one_out, strong_generalization)
from mirec.data.types import DatasetInfo, InteractionData  # noqa: F401
