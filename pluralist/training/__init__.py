"""Training: the one loop, label-noise strategies behind one protocol, calibration."""

from .loop import TrainConfig, TrainResult, evaluate_rows, fit
from .noise import NOISE_METHODS, NoiseSpec
from .recipe import family_options, train

__all__ = ["TrainConfig", "TrainResult", "evaluate_rows", "fit", "NOISE_METHODS", "NoiseSpec",
           "family_options", "train"]
