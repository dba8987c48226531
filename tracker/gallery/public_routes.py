"""The public clinic page (no sign-in): description, gallery, consultation request form, gallery images."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for

from tracker.errors import DomainError
from tracker.extensions import limiter
from tracker.gallery import consultations, services
from tracker.gallery.forms import ConsultationForm
from tracker.models import BodyRegion, Modality
from tracker.web import form_errors

public_bp = Blueprint("public", __name__, url_prefix="/c")


@public_bp.before_request
def _public() -> None:
    g.public_page = True


@public_bp.after_request
def _never_cached(response: Response) -> Response:
    # Withdrawal must take effect on the very next request: no cache may keep a gallery page or image.
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(slug: str, form: ConsultationForm, status: int = 200) -> Any:
    clinic = services.clinic_by_slug(slug)
    modality = request.args.get("modality") or None
    region = request.args.get("region") or None
    items = services.public_items(clinic, modality=modality if modality in Modality.codes() else None,
                                  region=region if region in BodyRegion.codes() else None)
    return render_template("gallery/public.html", clinic=clinic, items=items, form=form, modality=modality,
                           region=region), status


@public_bp.get("/<slug>")
def clinic_page(slug: str) -> Any:
    return _page(slug, ConsultationForm())


def _consultation_limit() -> str:
    return str(current_app.config.get("TRACKER_CONSULTATION_LIMIT", "5 per hour"))


@public_bp.post("/<slug>/consultation")
@limiter.limit(_consultation_limit)
def consultation(slug: str) -> Any:
    clinic = services.clinic_by_slug(slug)
    form = ConsultationForm()
    if form.validate_on_submit():
        if form.website.data:  # honeypot filled: a bot. Answer as if stored; store nothing.
            flash("Thank you: the clinic will contact you.", "success")
            return redirect(url_for("public.clinic_page", slug=slug))
        try:
            consultations.submit(clinic, consultations.RequestForm(
                name=form.name.data or "", email=form.email.data or "", phone=form.phone.data or "",
                area_of_concern=form.area_of_concern.data or "", preferred_time=form.preferred_time.data or "",
                message=form.message.data or "", consent_to_contact=bool(form.consent_to_contact.data)))
        except DomainError as exc:
            form_errors(form, exc)
        else:
            flash("Thank you: the clinic will contact you.", "success")
            return redirect(url_for("public.clinic_page", slug=slug))
    return _page(slug, form, 400)


@public_bp.get("/<slug>/g/<public_id>/<side>.jpg")
def gallery_image(slug: str, public_id: str, side: str) -> Any:
    data = services.public_image(services.clinic_by_slug(slug), public_id, side)
    response = Response(data, mimetype="image/jpeg")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
