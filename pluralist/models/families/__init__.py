"""The model families, one module each; the registry imports every module found here."""
