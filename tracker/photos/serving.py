"""Turning stored photo bytes into an HTTP response that is safe to hand a browser.

Revalidation is answered from the database: the ETag is the checksum recorded when the bytes were written, so
``If-None-Match`` gets its 304 without the image being read from storage (with S3, no GET at all).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, request
from werkzeug.http import is_resource_modified, quote_etag

from tracker.models import Photo
from tracker.photos.services import PhotoBytes

IMAGE_CSP = "default-src 'none'; sandbox"


def _image_headers(response: Response, etag: str, filename: str, *, attachment: bool) -> Response:
    response.set_etag(etag)
    # private: never in a shared cache; no-cache: the browser may keep it but asks us (and our access
    # check) every time, getting a cheap 304 when nothing changed.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = IMAGE_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


def image_response(item: PhotoBytes, *, attachment: bool) -> Response:
    response = _image_headers(Response(item.data, mimetype=item.mimetype), item.etag, item.filename,
                              attachment=attachment)
    return response.make_conditional(request, accept_ranges=True, complete_length=len(item.data))


def conditional_image(etag: str | None, filename: str, read: Callable[[], PhotoBytes], *,
                      attachment: bool) -> Response:
    """304 from the recorded ETag when the browser's copy is current (``read`` is not called); otherwise the
    bytes, read once. Without a recorded ETag (``None``) the bytes are read and their own checksum decides."""
    if etag is not None and request.method in ("GET", "HEAD") \
            and not is_resource_modified(request.environ, etag=quote_etag(etag)):
        return _image_headers(Response(status=304), etag, filename, attachment=attachment)
    return image_response(read(), attachment=attachment)


def serve_photo(photo: Photo, variant: str, *, counted_by_page: bool = False) -> Response:
    """A variant of a photo the caller loaded through tracker.security, recorded in the audit trail.

    ``counted_by_page``: a thumbnail embedded in one of our pages was already counted with that page view.
    """
    from tracker import audit
    from tracker.photos.services import read_ref, variant_ref

    ref = variant_ref(photo, variant)
    response = conditional_image(ref.etag, ref.filename, lambda: read_ref(ref), attachment=variant == "original")
    if not counted_by_page:
        audit.record("photo.view", patient_id=photo.patient_id, object_type="photo", object_id=photo.id,
                     detail={"variant": variant, "status": response.status_code})
    return response
