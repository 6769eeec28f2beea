"""Datasets: readers, downloads, preprocessing, protocols and tf.data pipelines."""

from mirec.data.errors import DataFormatError, DatasetNotAvailableError  # noqa: F401
from mirec.data.preprocess import (Sequences, filter_ratings, kcore, remap_ids,  # noqa: F401
                                   sort_chronologically, to_sequences)
from mirec.data.protocols import (EvalSet, Split, chronological_split,  # noqa: F401
                                  leave_one_out, strong_generalization)
from mirec.data.types import DatasetInfo, InteractionData  # noqa: F401
from mirec.data.readers import (read_amazon_ratings_csv, read_amazon_reviews_json,  # noqa: F401
                                read_movielens_100k, read_movielens_1m, read_mql4grec,
                                read_online_retail, read_s3rec_attributes, read_sequence_file,
                                read_taobao_user_behavior, read_unisrec)
from mirec.data.registry import list_datasets, load  # noqa: F401
from mirec.data.download import cache_dir  # noqa: F401  (download(): mirec.data.download.download)
