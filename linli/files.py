"""Serving a stored file whose access the caller has already checked."""

from __future__ import annotations

import logging

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404

logger = logging.getLogger(__name__)


def stored_file_response(
    stored: FieldFile,
    *,
    content_type: str,
    filename: str,
    cache_control: str,
    as_attachment: bool,
) -> FileResponse:
    """The stored file's bytes, typed from our own record (never sniffed), cached only as
    `cache_control` says. Http404 when nothing is stored, or when the record names a file the
    storage no longer has (a lost volume, a file removed by hand): the reader gets "not
    found", not a server error, and the operators a warning naming the file."""
    if not stored:
        raise Http404
    try:
        handle = stored.open("rb")
    except FileNotFoundError as error:
        logger.warning(
            "stored file missing: %s (%s.%s)",
            stored.name,
            stored.instance._meta.label,
            stored.field.name,
        )
        raise Http404 from error
    response = FileResponse(
        handle, content_type=content_type, as_attachment=as_attachment, filename=filename
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = cache_control
    return response


def private_image_response(
    image: FieldFile, *, content_type: str, filename: str, cache_control: str
) -> FileResponse:
    """An uploaded image shown inline: as `stored_file_response`, and sandboxed."""
    response = stored_file_response(
        image,
        content_type=content_type,
        filename=filename,
        cache_control=cache_control,
        as_attachment=False,
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
