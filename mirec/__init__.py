"""mirec: multi-interest recommendation reproductions on TensorFlow/Keras.

Importing :mod:`mirec` selects Keras 2 (``tf_keras``) for TensorFlow before TensorFlow is
imported: TensorFlow Recommenders and ScaNN's TF ops need ``tf.keras`` to be Keras 2.
"""

from mirec import compat as _compat  # noqa: F401  (must run before TensorFlow is imported)

__version__ = "0.1.0"
