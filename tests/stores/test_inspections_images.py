"""Upload validation of inspection photos (apps.stores.inspections.images) and how photos are
stored: sniffed content, byte and pixel limits, decompression bombs, orientation, metadata."""

from __future__ import annotations

import io
import re
import resource
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.utils import translation
from PIL import ExifTags, Image

from apps.stores.inspections import services
from apps.stores.inspections.images import PhotoLimits, PhotoRejected, photo_process
from apps.stores.models import InspectionPhoto
from tests.factories import StoreFactory
from tests.stores.test_inspections_support import (
    active_checklist,
    assign_inspector,
    gps_exif,
    jpeg_bytes,
    png_bomb,
    png_bytes,
    results_of,
    upload,
    webp_bytes,
)

HTML_TAIL = b"<html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english():
    """The assertions read the English source messages (zh-hans is the default)."""
    with translation.override("en"):
        yield


def _reopen(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def _media_files() -> list[Path]:
    return [path for path in Path(django_settings.MEDIA_ROOT).rglob("*") if path.is_file()]


def _draft(store: object | None = None) -> tuple[object, object]:
    store = store or StoreFactory()
    inspector = assign_inspector(store)
    active_checklist()
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    return inspection, inspector


# --- content sniffing -----------------------------------------------------------------------


def test_png_with_html_appended_is_accepted_only_as_a_reencoded_jpeg():
    data = png_bytes(text={"Comment": "<script>alert(1)</script>"}) + HTML_TAIL
    assert b"<html" in data
    assert b"<script" in data

    photo = photo_process(upload(data, name="shelf.png", content_type="image/png"))

    assert photo.source_format == "PNG"
    assert photo.content_type == "image/jpeg"
    assert photo.content.startswith(b"\xff\xd8\xff")
    assert b"<html" not in photo.content
    assert b"<script" not in photo.content
    assert (photo.width, photo.height) == (64, 48)
    assert _reopen(photo.content).format == "JPEG"


@pytest.mark.django_db
def test_stored_file_of_png_with_html_appended_contains_no_html():
    inspection, inspector = _draft()
    data = png_bytes() + HTML_TAIL

    photo = services.inspection_photo_add(
        inspection=inspection, by=inspector, upload=upload(data, "x.png", "image/png")
    )

    with default_storage.open(photo.image.name, "rb") as handle:
        stored = handle.read()
    assert b"<html" not in stored
    assert b"<script" not in stored
    assert stored.startswith(b"\xff\xd8\xff")
    assert photo.content_type == "image/jpeg"
    assert photo.size_bytes == len(stored)


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (b"just some text, not a photo\n" * 20, "photo.jpg", "image/jpeg"),
        (b"<html><script>alert(1)</script></html>", "photo.png", "image/png"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
            "a.webp",
            "image/webp",
        ),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n", "scan.jpg", "image/jpeg"),
    ],
    ids=["text-as-jpg", "html-as-png", "svg-as-webp", "pdf-as-jpg"],
)
def test_non_image_renamed_as_image_is_refused(data, name, content_type):
    with pytest.raises(PhotoRejected) as caught:
        photo_process(upload(data, name=name, content_type=content_type))
    assert caught.value.code == "not_image"
    assert caught.value.messages == [
        "The file is not a JPEG, PNG or WebP image (whatever its name says)."
    ]


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF"])
def test_real_images_of_other_formats_are_refused(image_format):
    output = io.BytesIO()
    Image.new("RGB", (8, 8)).save(output, format=image_format)
    with pytest.raises(PhotoRejected) as caught:
        photo_process(upload(output.getvalue(), name="photo.jpg"))
    assert caught.value.code == "not_image"


def test_webp_is_accepted_and_stored_as_jpeg():
    photo = photo_process(upload(webp_bytes((50, 30)), name="IMG.heic", content_type="text/plain"))
    assert photo.source_format == "WEBP"
    assert (photo.width, photo.height) == (50, 30)
    assert _reopen(photo.content).format == "JPEG"


def test_truncated_jpeg_is_refused_as_unreadable():
    data = jpeg_bytes((400, 300))
    with pytest.raises(PhotoRejected) as caught:
        photo_process(upload(data[: len(data) // 2]))
    assert caught.value.code == "unreadable"


def test_empty_file_is_refused():
    with pytest.raises(PhotoRejected) as caught:
        photo_process(upload(b""))
    assert caught.value.code == "empty"


def test_transparent_png_is_flattened_onto_white():
    data = png_bytes((20, 20), mode="RGBA", color=(255, 0, 0, 0))
    photo = photo_process(upload(data, "t.png", "image/png"))
    red, green, blue = _reopen(photo.content).getpixel((10, 10))
    assert min(red, green, blue) >= 250


# --- size limits ----------------------------------------------------------------------------


def test_photo_over_the_byte_limit_is_refused(settings):
    settings.INSPECTION_PHOTO_MAX_BYTES = 1000
    data = png_bytes((200, 200), color=(1, 2, 3), text={"padding": "x" * 2000})
    assert len(data) > 1000
    with pytest.raises(PhotoRejected) as caught:
        photo_process(upload(data))
    assert caught.value.code == "too_large"
    assert "at most" in caught.value.messages[0]


def test_byte_limit_counts_the_bytes_not_the_declared_size():
    limits = PhotoLimits(max_bytes=500, max_pixels=40_000_000, max_edge=2048)
    data = png_bytes(text={"padding": "y" * 2000})
    stream = io.BytesIO(data)  # no `.size`: the bytes read decide
    with pytest.raises(PhotoRejected) as caught:
        photo_process(stream, limits=limits)
    assert caught.value.code == "too_large"


def test_30000_by_30000_png_is_refused_without_decoding_it():
    bomb = png_bomb(30_000, 30_000)
    assert len(bomb) < 200_000  # tiny on disk, 900 MB once decoded
    peak_before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    with pytest.raises(PhotoRejected) as caught:
        photo_process(upload(bomb, name="bomb.png", content_type="image/png"))

    peak_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before_kb) / 1024
    assert caught.value.code == "too_many_pixels"
    assert caught.value.messages == ["The image has too many pixels: at most 40 megapixels."]
    # Decoding would have needed 900 MB; the refusal needed (almost) nothing.
    assert peak_growth_mb < 100


def test_image_above_the_pixel_limit_is_refused_from_its_header_with_its_size():
    # 49 megapixels: above our 40 MP limit but below Pillow's hard error (2 × limit), so only
    # Pillow's warning fires and our own header check does the refusing.
    bomb = png_bomb(7_000, 7_000)
    with pytest.warns(Image.DecompressionBombWarning), pytest.raises(PhotoRejected) as caught:
        photo_process(upload(bomb, name="big.png", content_type="image/png"))
    assert caught.value.code == "too_many_pixels"
    assert caught.value.messages == [
        "The image is 7000 × 7000 pixels: at most 40 megapixels are accepted."
    ]


def test_pixel_limit_is_checked_per_call():
    limits = PhotoLimits(max_bytes=10_000_000, max_pixels=100, max_edge=2048)
    assert photo_process(upload(png_bytes((10, 10))), limits=limits).width == 10
    with pytest.raises(PhotoRejected) as caught:
        photo_process(upload(png_bytes((11, 10))), limits=limits)
    assert caught.value.code == "too_many_pixels"


def test_pillow_bomb_guard_is_lowered_to_the_photo_limit():
    assert Image.MAX_IMAGE_PIXELS == 40_000_000


def test_large_photo_is_downscaled_to_the_max_edge():
    photo = photo_process(upload(png_bytes((3000, 1000))))
    assert (photo.width, photo.height) == (2048, 683)


# --- metadata and orientation ---------------------------------------------------------------


def test_exif_with_gps_is_removed_entirely():
    data = jpeg_bytes(
        exif=gps_exif(), comment=b"owner-secret-comment", xmp=b"<x:xmpmeta>linli-xmp</x:xmpmeta>"
    )
    original = Image.open(io.BytesIO(data))
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert b"owner-secret-comment" in data
    assert b"linli-xmp" in data

    photo = photo_process(upload(data))

    cleaned = _reopen(photo.content)
    assert len(cleaned.getexif()) == 0
    assert cleaned.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert set(cleaned.info) <= {"jfif", "jfif_version", "jfif_unit", "jfif_density"}
    assert b"Exif\x00\x00" not in photo.content
    assert b"LinliPhone" not in photo.content
    assert b"owner-secret-comment" not in photo.content
    assert b"linli-xmp" not in photo.content


@pytest.mark.django_db
def test_stored_photo_file_has_no_exif_at_all():
    inspection, inspector = _draft()
    photo = services.inspection_photo_add(
        inspection=inspection, by=inspector, upload=upload(jpeg_bytes(exif=gps_exif()))
    )
    with default_storage.open(photo.image.name, "rb") as handle:
        stored = handle.read()
    assert b"Exif" not in stored
    assert len(_reopen(stored).getexif()) == 0


def test_exif_orientation_is_applied_before_the_metadata_goes():
    # 40 × 20: left half red, right half blue; orientation 6 = "rotate 90° clockwise to view".
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (20, 0, 40, 20))
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=95, exif=gps_exif(orientation=6).tobytes())

    photo = photo_process(upload(output.getvalue()))

    assert (photo.width, photo.height) == (20, 40)
    upright = _reopen(photo.content)
    top, bottom = upright.getpixel((10, 5)), upright.getpixel((10, 35))
    # The left (red) half is now on top, the right (blue) half at the bottom.
    assert top[0] > 200
    assert top[2] < 60
    assert bottom[2] > 200
    assert bottom[0] < 60
    assert len(upright.getexif()) == 0


def test_photo_with_malformed_exif_is_still_accepted_without_it():
    broken_exif = b"Exif\x00\x00II*\x00\xff\xff\xff\x7f" + b"\x00" * 16
    output = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 200, 0)).save(output, format="JPEG", exif=broken_exif)

    photo = photo_process(upload(output.getvalue()))

    assert (photo.width, photo.height) == (30, 20)
    assert b"Exif" not in photo.content


# --- storage --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_storage_name_is_random_and_ignores_the_client_filename():
    inspection, inspector = _draft()
    first = services.inspection_photo_add(
        inspection=inspection,
        by=inspector,
        upload=upload(png_bytes(), name="../../etc/evil.php.png", content_type="image/png"),
    )
    second = services.inspection_photo_add(
        inspection=inspection, by=inspector, upload=upload(png_bytes(), name="evil.php")
    )
    pattern = re.compile(r"^inspections/\d{4}/\d{2}/[0-9a-f]{32}\.jpg$")
    assert pattern.match(first.image.name)
    assert pattern.match(second.image.name)
    assert first.image.name != second.image.name
    assert "evil" not in first.image.name + second.image.name


@pytest.mark.django_db
def test_refused_upload_writes_no_row_and_no_file(settings):
    settings.INSPECTION_PHOTO_MAX_BYTES = 1000
    inspection, inspector = _draft()
    result = results_of(inspection)[0]
    for bad in (b"not an image at all", png_bomb(30_000, 30_000), png_bytes((300, 300)) * 2):
        with pytest.raises(PhotoRejected):
            services.inspection_result_save(
                result=result, by=inspector, score=8, upload=upload(bad, "x.jpg")
            )
    result.refresh_from_db()
    assert result.score is None  # the score of a refused submission is not half-saved
    assert InspectionPhoto.objects.count() == 0
    assert _media_files() == []
