"""The cropper (`gossamer crop`): builds the minimal installable Gossamer that runs exactly a list
of models: only their op modules, importers and kernel families. See docs/cropper.md."""

from .crop import CropResult, crop
from .wheel_build import CropError

__all__ = ["CropError", "CropResult", "crop"]
