"""Photo pages: upload (with per-file progress from static/js/upload.js), detail, edit, delete, and bytes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import audit
from tracker.api.schemas import photo_json
from tracker.errors import DomainError, NotFound, json_error
from tracker.extensions import limiter, person_key, upload_limit
from tracker.models import VARIANTS, Photo, TreatmentArea
from tracker.photos import services
from tracker.photos.forms import PhotoEditForm, UploadForm
from tracker.photos.serving import serve_photo
from tracker.security import load
from tracker.web import form_errors

bp = Blueprint("photos", __name__, url_prefix="/photos")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every photo route needs a signed-in user; which photos exist for them is tracker.security's call."""


def load_photo(photo_id: int) -> Photo:
    return services.load_photo(current_user, photo_id)


def area_url(area: TreatmentArea) -> str:
    return url_for("patients.area", patient_id=area.patient_id, area_id=area.id)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/area/<int:area_id>")
@limiter.limit(upload_limit, key_func=person_key)
def upload(area_id: int) -> Any:
    """Many files from a plain form (results flashed), or one file per request from upload.js (JSON)."""
    area = load(TreatmentArea, area_id, current_user)
    form = UploadForm(area=area)
    files = [f for f in request.files.getlist("file") if f and f.filename is not None]
    problem = next(iter(form.errors.values()), [None])[0] if not form.validate() else None
    if problem is None and not files:
        problem = "Choose at least one photo."
    if _wants_json():
        if problem is None and len(files) > 1:
            problem = "Send one file per request."
        return json_error(422, "validation_failed", problem) if problem else _upload_one_json(area, form, files[0])
    if problem:
        flash(problem, "error")
    for storage_file in files if not problem else []:
        _upload_one_flash(area, form, storage_file)
    return redirect(area_url(area))


def _upload(area: TreatmentArea, form: UploadForm, storage_file: Any) -> services.UploadResult:
    # The page's date is a fallback for photos without their own date, as its label says.
    return services.upload_photo(current_user, area, storage_file.read(), filename=storage_file.filename,
                                 fallback_taken_on=form.taken_on.data, view=form.view.data or None,
                                 note=form.note.data or "", idempotency_key=request.headers.get("Idempotency-Key"))


def _upload_one_json(area: TreatmentArea, form: UploadForm, storage_file: Any) -> Any:
    try:
        result = _upload(area, form, storage_file)
    except DomainError as exc:
        return json_error(exc.status, exc.code, exc.message, exc.fields, **exc.extra)
    body = {"photo": photo_json(result.photo, image_endpoint="photos.image"), "warnings": list(result.warnings),
            "url": url_for("photos.detail", photo_id=result.photo.id), "replayed": result.replayed}
    return jsonify(body), (200 if result.replayed else 201)


def _upload_one_flash(area: TreatmentArea, form: UploadForm, storage_file: Any) -> None:
    name = services.display_filename(storage_file.filename) or "Photo"
    try:
        result = _upload(area, form, storage_file)
    except DomainError as exc:
        flash(f"{name}: {exc.message}", "error")
        return
    source = " (date read from the photo)" if result.photo.taken_on_source == "exif" else ""
    flash(f"{name}: saved, taken on {result.photo.taken_on.isoformat()}{source}.", "success")
    for warning in result.warnings:
        flash(f"{name}: {warning}", "warning")


@bp.get("/<int:photo_id>")
def detail(photo_id: int) -> Any:
    photo = load_photo(photo_id)
    audit.record("photo.view", patient_id=photo.patient_id, object_type="photo", object_id=photo.id,
                 detail={"variant": "page"})
    form = PhotoEditForm(area=photo.area, obj=photo, view=photo.view.value if photo.view else "")
    return render_template("photos/detail.html", photo=photo, area=photo.area, form=form)


@bp.get("/<int:photo_id>/status")
def status(photo_id: int) -> Any:
    photo = load_photo(photo_id)
    return jsonify(photo_json(photo, image_endpoint="photos.image"))


@bp.post("/<int:photo_id>/edit")
def edit(photo_id: int) -> Any:
    photo = load_photo(photo_id)
    form = PhotoEditForm(area=photo.area)
    if form.validate_on_submit():
        try:
            services.update_photo(current_user, photo, {"taken_on": form.taken_on.data,
                                                        "view": form.view.data or None, "note": form.note.data})
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash("The photo's details are saved.", "success")
            return redirect(url_for("photos.detail", photo_id=photo.id))
    return render_template("photos/detail.html", photo=photo, area=photo.area, form=form), 400


@bp.post("/<int:photo_id>/delete")
def delete(photo_id: int) -> Any:
    photo = load_photo(photo_id)
    services.delete_photo(current_user, photo)
    flash("The photo is removed from the record.", "info")
    return redirect(area_url(photo.area))


@bp.post("/<int:photo_id>/retry")
def retry(photo_id: int) -> Any:
    photo = services.retry_processing(current_user, load_photo(photo_id))
    flash("Processing again." if photo.status.value == "processing" else f"The photo is {photo.status.value}.",
          "info")
    return redirect(url_for("photos.detail", photo_id=photo.id))


@bp.get("/<int:photo_id>/image/<variant>")
def image(photo_id: int, variant: str) -> Any:
    if variant not in VARIANTS:
        raise NotFound()
    embedded = variant == "thumb" and request.headers.get("Sec-Fetch-Dest") == "image"
    return serve_photo(load_photo(photo_id), variant, counted_by_page=embedded)
