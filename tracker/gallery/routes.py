"""Staff: gallery items, proposals and the consultation inbox. Patients: proposals to approve or decline."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker.auth.sessions import ask_reauth, is_fresh
from tracker.errors import DomainError, ValidationFailed
from tracker.gallery import consultations, services
from tracker.gallery.forms import ProposalForm
from tracker.models import ConsultationRequest, GalleryItem, TreatmentArea
from tracker.security import can, load, require
from tracker.web import form_errors, id_arg

bp = Blueprint("gallery", __name__, url_prefix="/gallery")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


def _rectangle(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.replace(";", ",").split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise ValidationFailed("Write a rectangle as four numbers: left, top, width, height.",
                               fields={"crop": "Four numbers."})
    return values  # type: ignore[return-value]


@bp.get("/")
def index() -> Any:
    if can(current_user, "gallery.approve"):  # the patient's page: proposals of theirs to decide on
        return render_template("gallery/mine.html", items=services.patient_items(current_user))
    return render_template("gallery/index.html", items=services.clinic_items(current_user))


@bp.route("/propose/<int:area_id>", methods=["GET", "POST"])
@require("gallery.propose")
def propose(area_id: int) -> Any:
    area = load(TreatmentArea, area_id, current_user)
    form = ProposalForm(before_id=id_arg("before"), after_id=id_arg("after"))
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            item = services.propose(current_user, services.Proposal(
                before_id=form.before_id.data, after_id=form.after_id.data,
                crop=_rectangle(form.crop.data) if form.crop.data else None,
                blur=tuple(_rectangle(line) for line in (form.blur.data or "").splitlines() if line.strip()),
                area_id=area.id))
        except DomainError as exc:
            form_errors(form, exc)
            flash(exc.message, "error")
        else:
            flash("Proposed. The patient will see exactly these images and decide.", "success")
            return redirect(url_for("gallery.index", _anchor=f"item-{item.public_id}"))
    from tracker.photos.services import list_photos

    photos = [p for p in list_photos(current_user, area) if p.is_ready]
    return render_template("gallery/propose.html", area=area, form=form, photos=photos), status


@bp.post("/items/<int:item_id>/decide")
@require("gallery.approve")
def decide(item_id: int) -> Any:
    item = load(GalleryItem, item_id, current_user)
    approve = request.form.get("approve") == "1"
    if approve and not is_fresh():  # publishing photos of one's body: the password again, not just a cookie
        return ask_reauth()
    try:
        services.decide(current_user, item, approve)
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash("Published in the clinic's gallery." if item.status.value == "published" else "Declined: nothing is "
              "published.", "success")
    return redirect(url_for("gallery.index"))


@bp.post("/items/<int:item_id>/unpublish")
@require("gallery.propose")
def unpublish(item_id: int) -> Any:
    services.unpublish(current_user, load(GalleryItem, item_id, current_user))
    flash("Taken off the gallery.", "info")
    return redirect(url_for("gallery.index"))


@bp.get("/items/<int:item_id>/<side>.jpg")
def preview(item_id: int, side: str) -> Any:
    from tracker.photos.serving import conditional_image
    from tracker.photos.services import PhotoBytes

    item = load(GalleryItem, item_id, current_user)
    etag, filename = services.preview_etag(item, side), f"gallery-{side}.jpg"
    return conditional_image(etag, filename, lambda: PhotoBytes(services.private_image(item, side), "image/jpeg",
                                                                 etag, filename), attachment=False)


@bp.get("/inbox")
@require("consultations.manage")
def inbox() -> Any:
    status = request.args.get("status", "")
    return render_template("gallery/inbox.html", requests=consultations.inbox(current_user, status or None),
                           status=status, counts=consultations.counts(current_user))


@bp.post("/inbox/<int:request_id>/status")
@require("consultations.manage")
def set_request_status(request_id: int) -> Any:
    item = load(ConsultationRequest, request_id, current_user)
    try:
        consultations.set_status(current_user, item, request.form.get("status", ""))
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("gallery.inbox"))


@bp.post("/inbox/<int:request_id>/invite")
@require("consultations.manage")
def invite_from_request(request_id: int) -> Any:
    from tracker.patients import services as patient_services

    item = load(ConsultationRequest, request_id, current_user)
    if not item.email:
        flash("This request has no e-mail address to invite.", "error")
        return redirect(url_for("gallery.inbox"))
    try:
        patient = patient_services.create_patient(current_user, full_name=item.name, email=item.email)
        patient_services.invite_patient(current_user, patient)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("gallery.inbox"))
    item.patient_id = patient.id
    consultations.set_status(current_user, item, "booked")
    flash(f"{item.name} is added as a patient and invited to sign in.", "success")
    return redirect(url_for("patients.chart", patient_id=patient.id))


