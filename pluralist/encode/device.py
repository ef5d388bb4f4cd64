"""Where an encoder runs: this machine's CPU, or a CUDA GPU.

The device is part of an encoder's name (`minilm@cuda`, `hf:PATH@cuda`), so a model
records it with the name, its vectors carry their own id (half precision on a GPU gives
other numbers than the CPU), and the one place that builds encoders (base.get_encoder)
rebuilds exactly what a model was trained with, or refuses on a machine without a GPU.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..errors import EncoderError

DEVICES = ("auto", "cpu", "cuda")
CUDA_SUFFIX = "@cuda"
# Files the NVIDIA driver creates: without them, torch.cuda is not worth importing.
_NVIDIA_FILES = ("/dev/nvidia0", "/proc/driver/nvidia/version")


def split_device(name: str) -> tuple[str, str]:
    """('minilm', 'cuda') from 'minilm@cuda'; ('minilm', 'cpu') from 'minilm'."""
    if name.endswith(CUDA_SUFFIX):
        return name[:-len(CUDA_SUFFIX)], "cuda"
    return name, "cpu"


def runs_on_cuda(name: str) -> bool:
    """Whether an encoder can run on a GPU: transformer ones in their exact or default
    variant; hashing has no model, and the int8/bf16/onnx variants are CPU kernels."""
    return name in ("minilm", "minilm-exact") or name.startswith("hf:")


def with_device(name: str, device: str, *, ray_gpus: float | None = None) -> str:
    """The encoder name for `device` ('auto' | 'cpu' | 'cuda').

    auto: a GPU where this process sees one and the encoder can use it (with the Ray
    engine only where each actor reserves GPUs: actors without one see none).
    `ray_gpus` is --gpus-per-worker with the Ray engine, None for the local one."""
    if device not in DEVICES:
        raise EncoderError(f"unknown device {device!r}; choose from {DEVICES}")
    base, named = split_device(name)
    if named == "cuda":     # a concrete name, as a model records it
        if device == "cpu":
            raise EncoderError(f"encoder {name!r} runs on CUDA, but --device cpu was asked for")
        require_cuda(name)
        return name
    if device == "cpu":
        return base
    if device == "auto":
        wanted = runs_on_cuda(base) and ray_gpus != 0 and cuda_available()
        return base + CUDA_SUFFIX if wanted else base
    if not runs_on_cuda(base):
        raise EncoderError(f"--device cuda: encoder {base!r} runs on the CPU only; use minilm, "
                           "minilm-exact or hf:PATH")
    if ray_gpus == 0:
        raise EncoderError("--device cuda with --engine ray needs --gpus-per-worker above 0 "
                           "(Ray actors without a GPU reserved see none)")
    require_cuda(base + CUDA_SUFFIX)
    return base + CUDA_SUFFIX


def require_cuda(name: str) -> None:
    if not cuda_available():
        raise EncoderError(f"encoder {name!r} needs a CUDA GPU, and this machine has none "
                           "that torch can use (use --device cpu)")


@functools.cache
def cuda_available() -> bool:
    """A CUDA device torch can use; torch is imported only where a driver is installed."""
    if not any(Path(path).exists() for path in _NVIDIA_FILES):
        return False
    import torch

    return torch.cuda.is_available()


def half_dtype_name() -> str:
    """bf16 where the GPU computes it natively (Ampere and newer), else fp16."""
    import torch

    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
