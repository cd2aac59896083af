"""Upload validation for inspection photos: nothing the client sends is trusted.

`photo_process` takes an upload and returns clean JPEG bytes, or raises `PhotoRejected` with a
reason the inspector can act on. In order:

1. Byte size: at most `INSPECTION_PHOTO_MAX_BYTES` (default 10 MB). The file name and the declared
   content type are ignored entirely.
2. Content sniffed by Pillow, restricted to the JPEG, PNG and WebP decoders (`formats=`), so no
   other parser ever sees the bytes. `verify()` checks the structure, then the file is reopened.
3. Pixel count from the header, before any pixel is decoded: more than
   `INSPECTION_PHOTO_MAX_PIXELS` (default 40 megapixels) is refused, so a decompression bomb
   (a few kilobytes that would expand to gigabytes) never allocates its pixels. Pillow's own
   guard (`Image.MAX_IMAGE_PIXELS`, lowered to the same limit) stays on as a second net, and its
   `DecompressionBombError` / `DecompressionBombWarning` count as refusals.
4. EXIF orientation applied, the image downscaled to `INSPECTION_PHOTO_MAX_EDGE` (default 2048 px)
   and re-encoded as a fresh JPEG (quality 85). The new image carries no metadata at all: no
   EXIF (so no GPS), XMP, ICC profile or comments, and nothing that trailed the original image
   data (such as HTML appended after a PNG's IEND chunk).

The caller stores the result under a random name (see `InspectionPhoto.image`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_EDGE = 2048
JPEG_QUALITY = 85

# Pillow format name -> the content type it really is.
ACCEPTED_FORMATS: dict[str, str] = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
STORED_CONTENT_TYPE = "image/jpeg"
STORED_EXTENSION = "jpg"


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int
    max_pixels: int
    max_edge: int


def photo_limits() -> PhotoLimits:
    return PhotoLimits(
        max_bytes=int(getattr(settings, "INSPECTION_PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES)),
        max_pixels=int(getattr(settings, "INSPECTION_PHOTO_MAX_PIXELS", DEFAULT_MAX_PIXELS)),
        max_edge=int(getattr(settings, "INSPECTION_PHOTO_MAX_EDGE", DEFAULT_MAX_EDGE)),
    )


# Pillow's process-wide bomb guard, lowered once at import to our limit (never raised, never
# changed per call: other code in the process shares it). Per-call limits are checked explicitly.
_IMPORT_LIMIT = photo_limits().max_pixels
if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > _IMPORT_LIMIT:
    Image.MAX_IMAGE_PIXELS = _IMPORT_LIMIT


class PhotoRejected(ValidationError):
    """The upload is not an acceptable photo. `code` says why:
    empty, too_large, not_image, too_many_pixels, unreadable."""


@dataclass(frozen=True)
class ProcessedPhoto:
    content: bytes
    width: int
    height: int
    content_type: str
    extension: str
    source_format: str


def too_large_message(limits: PhotoLimits) -> str:
    return _("The photo is too large: at most %(megabytes)s MB is accepted.") % {
        "megabytes": _megabytes(limits.max_bytes)
    }


def _too_large(limits: PhotoLimits) -> PhotoRejected:
    return PhotoRejected(too_large_message(limits), code="too_large")


def _too_many_pixels(limits: PhotoLimits, size: tuple[int, int] | None) -> PhotoRejected:
    if size is None:
        message = _("The image has too many pixels: at most %(megapixels)s megapixels.") % {
            "megapixels": _megapixels(limits.max_pixels)
        }
    else:
        message = _(
            "The image is %(width)d × %(height)d pixels: at most %(megapixels)s megapixels "
            "are accepted."
        ) % {"width": size[0], "height": size[1], "megapixels": _megapixels(limits.max_pixels)}
    return PhotoRejected(message, code="too_many_pixels")


def _not_image() -> PhotoRejected:
    return PhotoRejected(
        _("The file is not a JPEG, PNG or WebP image (whatever its name says)."),
        code="not_image",
    )


def _unreadable() -> PhotoRejected:
    return PhotoRejected(
        _("The image is damaged or incomplete and cannot be read. Take the photo again."),
        code="unreadable",
    )


def _megabytes(value: int) -> str:
    return f"{value / (1024 * 1024):g}"


def _megapixels(value: int) -> str:
    return f"{value / 1_000_000:g}"


def _read_limited(upload: IO[bytes], limits: PhotoLimits) -> bytes:
    """At most max_bytes + 1 bytes: the declared size is only a hint, the bytes decide."""
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limits.max_bytes:
        raise _too_large(limits)
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise _too_large(limits)
    if not data:
        raise PhotoRejected(_("The file is empty."), code="empty")
    return data


def _open(data: bytes, limits: PhotoLimits) -> Image.Image:
    """Open with only the accepted decoders. Reads the header, decodes no pixels."""
    try:
        return Image.open(io.BytesIO(data), formats=list(ACCEPTED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # The warning only arrives as an exception when warnings are errors (`-W error`).
        raise _too_many_pixels(limits, None) from error
    except Image.UnidentifiedImageError as error:
        raise _not_image() from error
    except Exception as error:  # any decoder failure on untrusted bytes is a refusal
        raise _unreadable() from error


def _check_header(image: Image.Image, limits: PhotoLimits) -> None:
    if image.format not in ACCEPTED_FORMATS:
        raise _not_image()
    width, height = image.size
    if width < 1 or height < 1:
        raise _unreadable()
    if width * height > limits.max_pixels:
        raise _too_many_pixels(limits, (width, height))


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    """JPEG has no transparency: composite transparent images onto white."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def photo_process(upload: IO[bytes] | Any, *, limits: PhotoLimits | None = None) -> ProcessedPhoto:
    """Validate an uploaded photo and return it re-encoded as a metadata-free JPEG.

    Raises PhotoRejected (a ValidationError with a user-facing message and a `code`). Pixels are
    decoded only after the byte size, the format and the pixel count have passed.
    """
    limits = limits or photo_limits()
    data = _read_limited(upload, limits)

    probe = _open(data, limits)
    try:
        _check_header(probe, limits)
        try:
            probe.verify()
        except Exception as error:  # structural damage found by the format's verifier
            raise _unreadable() from error
    finally:
        probe.close()

    image = _open(data, limits)  # verify() leaves the image unusable: reopen
    try:
        _check_header(image, limits)
        source_format = str(image.format)
        try:
            if source_format == "JPEG":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that still covers the target
                # size: a 40-megapixel photo never needs all its pixels in memory.
                image.draft("RGB", (limits.max_edge, limits.max_edge))
            image.load()
            try:
                oriented = ImageOps.exif_transpose(image)
            except Exception:  # unreadable EXIF: the pixels are fine, keep them as they are
                oriented = image.copy()
            oriented.thumbnail((limits.max_edge, limits.max_edge), Image.Resampling.LANCZOS)
            rgb = _flatten_to_rgb(oriented)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _too_many_pixels(limits, image.size) from error
        except Exception as error:  # truncated data, bad compression, decoder errors
            raise _unreadable() from error
    finally:
        image.close()

    # A brand-new image: it inherits no `info` (EXIF, XMP, ICC, comments) from the upload.
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    output = io.BytesIO()
    clean.save(output, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return ProcessedPhoto(
        content=output.getvalue(),
        width=clean.width,
        height=clean.height,
        content_type=STORED_CONTENT_TYPE,
        extension=STORED_EXTENSION,
        source_format=source_format,
    )


class PhotoSizeLimitUploadHandler(FileUploadHandler):
    """Stops receiving a file as soon as it passes the byte limit, so an oversized upload is
    never written to disk in full. The file is dropped (`SkipFile`) and `exceeded` is set for
    the view to report; `photo_process` still checks the size of whatever it is given.

    Install it before the request body is read (see `views.limit_photo_uploads`).
    """

    def __init__(self, request: Any = None, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0
        self.exceeded = False
        self.exceeded_fields: list[str] = []  # form field names of the dropped files

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.exceeded = True
            self.exceeded_fields.append(self.field_name)
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
