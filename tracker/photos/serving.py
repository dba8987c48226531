"""Turning stored photo bytes into an HTTP response that is safe to hand a browser."""

from __future__ import annotations

from flask import Response, request

from tracker.models import Photo
from tracker.photos.services import PhotoBytes

IMAGE_CSP = "default-src 'none'; sandbox"


def image_response(item: PhotoBytes, *, attachment: bool) -> Response:
    response = Response(item.data, mimetype=item.mimetype)
    response.set_etag(item.etag)
    # private: never in a shared cache; no-cache: the browser may keep it but asks us (and our access
    # check) every time, getting a cheap 304 when nothing changed.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = IMAGE_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{item.filename}"'
    return response.make_conditional(request, accept_ranges=True, complete_length=len(item.data))


def serve_photo(photo: Photo, variant: str, *, counted_by_page: bool = False) -> Response:
    """A variant of a photo the caller loaded through tracker.security, recorded in the audit trail.

    ``counted_by_page``: a thumbnail embedded in one of our pages was already counted with that page view.
    """
    from tracker import audit
    from tracker.photos.services import read_variant

    response = image_response(read_variant(photo, variant), attachment=variant == "original")
    if not counted_by_page:
        audit.record("photo.view", patient_id=photo.patient_id, object_type="photo", object_id=photo.id,
                     detail={"variant": variant, "status": response.status_code})
    return response
