"""Serving an uploaded image whose access the caller has already checked."""

from __future__ import annotations

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404


def private_image_response(
    image: FieldFile, *, content_type: str, filename: str, cache_control: str
) -> FileResponse:
    """The image's bytes, typed from our own record (never sniffed), sandboxed, cached only
    as `cache_control` says. Http404 when the file is gone."""
    try:
        handle = image.open("rb")
    except FileNotFoundError as error:
        raise Http404 from error
    response = FileResponse(
        handle, content_type=content_type, as_attachment=False, filename=filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = cache_control
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
