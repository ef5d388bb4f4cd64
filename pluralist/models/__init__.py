"""Preference model families behind one contract, their registry and their loader."""

from .base import LinearRaterModel, ModelConfig, PreferenceModel, RaterProfile
from .data import UNKNOWN_RATER, Batch, PreferenceData
from .io import load_model, read_model_meta, save_model
from .registry import build_model, family_names, get_family

__all__ = ["LinearRaterModel", "ModelConfig", "PreferenceModel", "RaterProfile", "UNKNOWN_RATER",
           "Batch", "PreferenceData", "load_model", "read_model_meta", "save_model",
           "build_model", "family_names", "get_family"]
