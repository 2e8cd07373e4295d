import io

import numpy as np

from ..errors import OpArgumentError
from ..registry import reference_op


def _pillow():
    try:  # an optional dependency: imported at call time, never by the runtime itself
        from PIL import Image
    except ImportError:
        raise OpArgumentError(
            "ImageDecoder needs an image library: install pillow (pip install pillow)"
        ) from None
    return Image


@reference_op("ImageDecoder", since=20, dtypes={"uint8"})
def image_decoder_20(encoded_stream: np.ndarray, *, pixel_format: str = "RGB") -> np.ndarray:
    """image[h, w, c] = the decoded pixels of an encoded image file (JPEG, PNG, BMP, TIFF, ...)

    Decoding is delegated to Pillow, which must be installed; RGB/BGR give 3 channels,
    Grayscale one.
    """
    if pixel_format not in ("RGB", "BGR", "Grayscale"):
        raise OpArgumentError(f"pixel_format must be RGB, BGR or Grayscale, got {pixel_format!r}")
    if encoded_stream.ndim != 1:
        raise OpArgumentError(f"encoded_stream must be 1-D, got shape {list(encoded_stream.shape)}")
    image_module = _pillow()
    try:
        with image_module.open(io.BytesIO(encoded_stream.tobytes())) as image:
            pixels = np.asarray(image.convert("L" if pixel_format == "Grayscale" else "RGB"))
    except Exception as err:  # Pillow raises many types for corrupt or unsupported data
        raise OpArgumentError(
            f"cannot decode the image stream: {type(err).__name__}: {err}"
        ) from err
    if pixel_format == "Grayscale":
        return pixels[:, :, None].copy()
    return pixels[:, :, ::-1].copy() if pixel_format == "BGR" else pixels.copy()
