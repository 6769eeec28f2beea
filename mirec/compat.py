"""Environment set-up that has to happen before TensorFlow is first imported.

``TF_USE_LEGACY_KERAS=1`` makes ``tf.keras`` resolve to Keras 2 (the ``tf_keras`` package),
which TFRS 0.7.7 and ScaNN's TensorFlow ops require. If TensorFlow was already imported with
Keras 3 the setting cannot take effect any more, so we fail loudly instead of mixing versions.
"""

import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if os.environ["TF_USE_LEGACY_KERAS"] != "1":  # pragma: no cover - user override
    raise RuntimeError("mirec needs TF_USE_LEGACY_KERAS=1 (Keras 2); unset your override.")

if "tensorflow" in sys.modules and "keras" in sys.modules and "tf_keras" not in sys.modules:
    # TensorFlow was imported before mirec and already bound tf.keras to Keras 3.
    _tf = sys.modules["tensorflow"]
    if not getattr(_tf.keras, "__name__", "").startswith("tf_keras"):  # pragma: no cover
        raise RuntimeError(
            "TensorFlow was imported before mirec with Keras 3. Import mirec first or "
            "set TF_USE_LEGACY_KERAS=1 in the environment."
        )

