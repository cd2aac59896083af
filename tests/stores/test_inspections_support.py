"""Factories and image builders shared by the inspection tests (this module holds no tests)."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from collections.abc import Sequence

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, PngImagePlugin

from apps.stores.inspections import services
from apps.stores.models import (
    ChecklistItem,
    ChecklistTemplate,
    Inspection,
    InspectionItemResult,
    StoreStaff,
)
from tests.factories import StoreFactory, UserFactory


class ChecklistTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistTemplate

    name = factory.Sequence(lambda n: f"Checklist {n}")
    version = 1
    active = False


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistItem

    template = factory.SubFactory(ChecklistTemplateFactory)
    section = ChecklistItem.Section.SHELF_DISPLAY
    title = factory.Sequence(lambda n: f"Item {n}")
    weight = 1
    requires_photo = False
    order = factory.Sequence(lambda n: n)


def active_checklist(
    weights: Sequence[int] = (3, 2, 2), *, photo_required: Sequence[bool] | None = None
) -> ChecklistTemplate:
    template = ChecklistTemplateFactory(active=True)
    sections = list(ChecklistItem.Section.values)
    for index, weight in enumerate(weights):
        ChecklistItemFactory(
            template=template,
            section=sections[index % len(sections)],
            title=f"Check {index + 1}",
            weight=weight,
            requires_photo=bool(photo_required and photo_required[index]),
            order=index,
        )
    return template


def assign_inspector(store: object, user: object | None = None) -> object:
    user = user or UserFactory()
    StoreStaff.objects.create(user=user, store=store, role=StoreStaff.Role.INSPECTOR)
    return user


def results_of(inspection: Inspection) -> list[InspectionItemResult]:
    return list(inspection.results.order_by("order", "id"))


def submitted_inspection(
    *, store: object | None = None, inspector: object | None = None, scores: Sequence[int] = ()
) -> Inspection:
    """A submitted inspection of `store` on the active checklist (created if missing)."""
    store = store or StoreFactory()
    inspector = inspector or assign_inspector(store)
    if not ChecklistTemplate.objects.filter(active=True).exists():
        active_checklist()
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    results = results_of(inspection)
    scores = list(scores) or [10] * len(results)
    for result, score in zip(results, scores, strict=True):
        services.inspection_result_save(result=result, by=inspector, score=score)
    return services.inspection_submit(inspection=inspection, by=inspector)


# --- images ---------------------------------------------------------------------------------


def jpeg_bytes(
    size: tuple[int, int] = (64, 48),
    color: tuple[int, int, int] = (200, 30, 30),
    *,
    exif: Image.Exif | None = None,
    comment: bytes | None = None,
    xmp: bytes | None = None,
) -> bytes:
    image = Image.new("RGB", size, color)
    options: dict[str, object] = {}
    if exif is not None:
        options["exif"] = exif.tobytes()
    if comment is not None:
        options["comment"] = comment
    if xmp is not None:
        options["xmp"] = xmp
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=90, **options)
    return output.getvalue()


def png_bytes(
    size: tuple[int, int] = (64, 48),
    mode: str = "RGB",
    color: object = (30, 120, 200),
    *,
    text: dict[str, str] | None = None,
) -> bytes:
    image = Image.new(mode, size, color)
    info = PngImagePlugin.PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    output = io.BytesIO()
    image.save(output, format="PNG", pnginfo=info)
    return output.getvalue()


def webp_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, (10, 160, 60)).save(output, format="WEBP")
    return output.getvalue()


def gps_exif(*, orientation: int | None = None) -> Image.Exif:
    """EXIF with a camera make, a timestamp and a GPS position (IFD tag 34853)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "LinliPhone"
    exif[ExifTags.Base.DateTime] = "2025:07:01 09:30:00"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)  # 34853
    gps.update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (30.0, 15.0, 12.5),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (120.0, 9.0, 30.0),
        }
    )
    return exif


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@functools.lru_cache(maxsize=4)
def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of width × height, all black, built row by row so that
    neither building nor (correctly) refusing it needs the pixels in memory. 30,000 × 30,000 is
    about 110 KB on disk and would be 900 MB once decoded by Pillow (one byte per pixel)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def upload(
    data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)
