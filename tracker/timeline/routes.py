"""Timeline, compare and capture pages; pinning a baseline and re-running alignment."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import audit
from tracker.models import Photo, Patient, TreatmentArea
from tracker.photos import services as photo_services
from tracker.photos.forms import UploadForm
from tracker.security import can, load, require
from tracker.timeline import services
from tracker.web import id_arg

bp = Blueprint("timeline", __name__, url_prefix="/timeline")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user; tracker.security decides which areas exist for them."""


@bp.get("/area/<int:area_id>")
def area(area_id: int) -> Any:
    treated_area = load(TreatmentArea, area_id, current_user)
    timeline = services.build_timeline(current_user, treated_area)
    audit.record("timeline.view", patient_id=treated_area.patient_id, object_type="area", object_id=treated_area.id,
                 detail={"photos": timeline.photo_count})
    return render_template("timeline/area.html", area=treated_area, patient=load(Patient, treated_area.patient_id,
                           current_user), timeline=timeline, staff=can(current_user, "photos.align"))


@bp.get("/area/<int:area_id>/compare")
def compare(area_id: int) -> Any:
    treated_area = load(TreatmentArea, area_id, current_user)
    timeline = services.build_timeline(current_user, treated_area)
    pair = services.pick_pair(current_user, treated_area, timeline, id_arg("before"), id_arg("after"),
                              request.args.get("view"))
    choices = [e.photo for e in timeline.events if e.kind == "photo" and e.photo.is_ready]
    audit.record("compare.view", patient_id=treated_area.patient_id, object_type="area", object_id=treated_area.id,
                 detail={"before": pair.before.id, "after": pair.after.id})
    return render_template("timeline/compare.html", area=treated_area, pair=pair, choices=choices,
                           mode=request.args.get("mode", "slider"))


@bp.get("/area/<int:area_id>/capture")
def capture(area_id: int) -> Any:
    treated_area = load(TreatmentArea, area_id, current_user)
    timeline = services.build_timeline(current_user, treated_area)
    view_key = request.args.get("view", treated_area.views[0] if treated_area.views else "")
    group = next((g for g in timeline.groups if g.view_key == view_key), None)
    return render_template("timeline/capture.html", area=treated_area, view_key=view_key,
                           baseline=group.baseline if group else None, upload_form=UploadForm(area=treated_area))


@bp.post("/photos/<int:photo_id>/baseline")
@require("photos.align")
def pin_baseline(photo_id: int) -> Any:
    photo = photo_services.pin_baseline(current_user, photo_services.load_photo(current_user, photo_id))
    flash(f"The photo of {photo.taken_on.isoformat()} is now the baseline; the view's photos are realigned to it.",
          "success")
    return redirect(url_for("timeline.area", area_id=photo.area_id))


@bp.post("/photos/<int:photo_id>/align")
@require("photos.align")
def align(photo_id: int) -> Any:
    photo: Photo = photo_services.rerun_alignment(current_user, photo_services.load_photo(current_user, photo_id))
    if photo.alignment.value == "aligned":
        flash("The photo is aligned to its baseline.", "success")
    else:
        flash(f"The photo could not be aligned: {photo.alignment_reason or photo.alignment.value}", "warning")
    return redirect(url_for("photos.detail", photo_id=photo.id))
