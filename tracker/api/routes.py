"""API endpoints. Each parses input, calls one service, and returns JSON; access comes from tracker.security."""

from __future__ import annotations

from datetime import date
from typing import Any


from flask import Blueprint, Response, current_app, jsonify, request, url_for

from tracker.api.auth import api_user, authenticate_request, bearer_token, json_body
from tracker.api.contract import check_query
from tracker.api.openapi import build_spec
from tracker.api.schemas import audit_event_json
from tracker.api.schemas import (
    adverse_event_json, area_json, assessment_json, consent_json, course_json, iso, patient_json, photo_json, session_json,
    timeline_json, user_json,
)
from tracker.auth import services as auth_services
from tracker.auth import throttle
from tracker import audit, audit_search
from tracker.errors import DomainError, NotFound, ValidationFailed
from tracker.extensions import limiter, person_key, upload_limit
from tracker.forms_common import form_from_json
from tracker.extensions import csrf, db
from tracker.consent import services as consent_services
from tracker.gallery import services as gallery_services
from tracker.models import (
    VARIANTS, AdverseEvent, Consent, ConsentScope, Patient, Photo, PhotoMetric, TreatmentArea, TreatmentCourse,
    TreatmentSession,
)
from tracker.outcomes import assessments, regions
from tracker.outcomes import services as outcome_services
from tracker.outcomes.forms import EventForm, ResolveForm, session_form_class
from tracker.patients import services as patient_services
from tracker.patients.forms import AreaForm, CourseForm, PatientForm
from tracker.photos import services as photo_services
from tracker.photos.forms import PhotoPatchForm, UploadForm
from tracker.photos.serving import serve_photo
from tracker.request_guard import valid_id
from tracker.security import authorize, can, load, load_child, scoped
from tracker.timeline.services import build_timeline
from tracker.web import int_arg

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens only, never the session cookie (tracker/api/__init__.py)
bp.before_request(authenticate_request)
bp.before_request(check_query)  # after authentication: a stranger learns nothing from a 422


def created(body: dict[str, Any], location: str) -> Response:
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


def listing(items: list[dict[str, Any]], *, total: int | None = None) -> Response:
    response = jsonify(items)
    response.headers["X-Total-Count"] = str(len(items) if total is None else total)
    return response


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(build_spec())


@bp.post("/tokens")
def create_token() -> Any:
    payload = json_body()
    if not isinstance(payload, dict) or not isinstance(payload.get("email"), str) \
            or not isinstance(payload.get("password"), str):
        raise ValidationFailed("Send {\"email\": ..., \"password\": ...}.",
                               fields={"email": "Required.", "password": "Required."})  # a message # nosec B105
    try:
        otp = payload.get("otp")
        if otp is not None and not isinstance(otp, str):
            raise ValidationFailed("\"otp\" is the code as a string, e.g. \"123456\".", fields={"otp": "A string."})
        with throttle.attempt(payload["email"]):
            token, expires_at = auth_services.issue_api_token(payload["email"], payload["password"], otp)
    except DomainError:
        audit.record("auth.token", outcome="failed", detail={"email": payload["email"][:254]})
        raise
    audit.record("auth.token", actor=auth_services.user_by_email(payload["email"]))
    return created({"token": token, "expires_at": iso(expires_at)}, url_for("api.me"))


@bp.delete("/tokens/current")
def revoke_token() -> Any:
    auth_services.revoke_api_token(bearer_token() or "")
    return "", 204


@bp.get("/me")
def me() -> Any:
    return jsonify(user_json(api_user()))


@bp.get("/patients")
def list_patients() -> Any:
    page = patient_services.search_patients(
        api_user(), q=request.args.get("q", ""), page=int_arg("page", 1), sort=request.args.get("sort", "name"),
        per_page=int_arg("per_page", current_app.config["TRACKER_PAGE_SIZE"], maximum=100))
    return listing([patient_json(p) for p in page.items], total=page.total)


@bp.post("/patients")
def create_patient() -> Any:
    authorize(api_user(), "patients.create")
    form = form_from_json(PatientForm, json_body())
    patient = patient_services.create_patient(
        api_user(), full_name=form.full_name.data, email=form.email.data or None,
        date_of_birth=form.date_of_birth.data, fitzpatrick=form.fitzpatrick_value,
        external_ref=form.external_ref.data or "")
    if form.send_invitation.data:
        patient_services.invite_patient(api_user(), patient)
    return created(patient_json(patient), url_for("api.get_patient", patient_id=patient.id))


@bp.get("/patients/<int:patient_id>")
def get_patient(patient_id: int) -> Any:
    return jsonify(patient_json(load(Patient, patient_id, api_user())))


@bp.get("/patients/<int:patient_id>/areas")
def list_areas(patient_id: int) -> Any:
    areas, _ = patient_services.load_chart(load(Patient, patient_id, api_user()))
    return listing([area_json(a) for a in areas])


@bp.post("/patients/<int:patient_id>/areas")
def create_area(patient_id: int) -> Any:
    authorize(api_user(), "areas.create")
    patient = load(Patient, patient_id, api_user())
    form = form_from_json(AreaForm, json_body())
    area = patient_services.create_area(api_user(), patient, name=form.name.data, body_region=form.body_region.data,
                                        views=form.views.data or [])
    return created(area_json(area), url_for("api.get_area", area_id=area.id))


@bp.get("/areas/<int:area_id>")
def get_area(area_id: int) -> Any:
    return jsonify(area_json(load(TreatmentArea, area_id, api_user())))


@bp.get("/patients/<int:patient_id>/courses")
def list_courses(patient_id: int) -> Any:
    _, courses = patient_services.load_chart(load(Patient, patient_id, api_user()))
    return listing([course_json(c) for c in courses])


@bp.post("/patients/<int:patient_id>/courses")
def create_course(patient_id: int) -> Any:
    authorize(api_user(), "courses.create")
    patient = load(Patient, patient_id, api_user())
    areas, _ = patient_services.load_chart(patient)
    form = form_from_json(CourseForm, json_body(), areas=[(a.id, a.name) for a in areas])
    course = patient_services.create_course(
        api_user(), patient, indication=form.indication.data, modality=form.modality.data,
        planned_sessions=form.planned_sessions.data, interval_weeks=form.interval_weeks.data,
        start_date=form.start_date.data, area_ids=form.area_ids.data, notes=form.notes.data or "")
    return created(course_json(course), url_for("api.get_course", course_id=course.id))


@bp.get("/courses/<int:course_id>")
def get_course(course_id: int) -> Any:
    return jsonify(course_json(load(TreatmentCourse, course_id, api_user())))


# --- photos ---------------------------------------------------------------------------------------

def _live_photo(photo_id: int) -> Photo:
    photo = load(Photo, photo_id, api_user())
    if photo.deleted_at is not None:
        raise NotFound()
    return photo


@bp.get("/areas/<int:area_id>/photos")
def list_photos(area_id: int) -> Any:
    area = load(TreatmentArea, area_id, api_user())
    return listing([photo_json(p) for p in photo_services.list_photos(api_user(), area)])


@bp.post("/areas/<int:area_id>/photos")
@limiter.limit(upload_limit, key_func=person_key)
def upload_photo(area_id: int) -> Any:
    area = load(TreatmentArea, area_id, api_user())
    form = UploadForm(formdata=request.form, area=area, meta={"csrf": False})
    if not form.validate():
        fields = {name: errors[0] for name, errors in form.errors.items()}
        raise ValidationFailed(next(iter(fields.values())), fields=fields)
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("Send the photo as the multipart field 'file'.", fields={"file": "Required."})
    result = photo_services.upload_photo(api_user(), area, upload.read(), filename=upload.filename,
                                         taken_on=form.taken_on.data, view=form.view.data or None,
                                         note=form.note.data or "",
                                         idempotency_key=request.headers.get("Idempotency-Key"))
    body = photo_json(result.photo)
    body["warnings"] = list(result.warnings)
    response = created(body, url_for("api.get_photo", photo_id=result.photo.id))
    if result.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/photos/<int:photo_id>")
def get_photo(photo_id: int) -> Any:
    return jsonify(photo_json(_live_photo(photo_id)))


@bp.patch("/photos/<int:photo_id>")
def patch_photo(photo_id: int) -> Any:
    photo = _live_photo(photo_id)
    payload = json_body()
    form = form_from_json(PhotoPatchForm, payload, area=photo.area)
    changes = {name: form[name].data for name in payload}
    if "view" in changes:
        changes["view"] = changes["view"] or None
    return jsonify(photo_json(photo_services.update_photo(api_user(), photo, changes)))


@bp.delete("/photos/<int:photo_id>")
def delete_photo(photo_id: int) -> Any:
    photo_services.delete_photo(api_user(), _live_photo(photo_id))
    return "", 204


@bp.post("/photos/<int:photo_id>/retry")
def retry_photo(photo_id: int) -> Any:
    return jsonify(photo_json(photo_services.retry_processing(api_user(), _live_photo(photo_id))))


@bp.get("/photos/<int:photo_id>/image/<variant>")
def photo_image(photo_id: int, variant: str) -> Any:
    if variant not in VARIANTS:
        raise NotFound()
    return serve_photo(_live_photo(photo_id), variant)



# --- timeline and alignment -----------------------------------------------------------------------

@bp.get("/areas/<int:area_id>/timeline")
def area_timeline(area_id: int) -> Any:
    area = load(TreatmentArea, area_id, api_user())
    body = timeline_json(build_timeline(api_user(), area))
    audit.record("timeline.view", patient_id=area.patient_id, object_type="area", object_id=area.id)
    return jsonify(body)


@bp.post("/photos/<int:photo_id>/baseline")
def pin_baseline(photo_id: int) -> Any:
    authorize(api_user(), "photos.align")
    return jsonify(photo_json(photo_services.pin_baseline(api_user(), _live_photo(photo_id))))


@bp.post("/photos/<int:photo_id>/align")
def realign_photo(photo_id: int) -> Any:
    authorize(api_user(), "photos.align")
    return jsonify(photo_json(photo_services.rerun_alignment(api_user(), _live_photo(photo_id))))


# --- sessions, side effects, assessments, response ------------------------------------------------

SESSION_DETAIL_FIELDS = ("harvest_site", "harvested_ml", "processed_ml", "cell_count", "injection_depth",
                         "injection_pattern", "anaesthesia", "device_product", "settings", "lot_number")


@bp.get("/patients/<int:patient_id>/sessions")
def list_sessions(patient_id: int) -> Any:
    patient = load(Patient, patient_id, api_user())
    return listing([session_json(s) for s in outcome_services.list_sessions(api_user(), patient)])


@bp.post("/patients/<int:patient_id>/sessions")
def create_session(patient_id: int) -> Any:
    authorize(api_user(), "sessions.record")
    patient = load(Patient, patient_id, api_user())
    payload = json_body()
    if not isinstance(payload, dict):
        raise ValidationFailed("Send a JSON object.")
    course = _course_of(patient, payload.pop("course_id", None))
    injected = payload.pop("injected_ml", None) or {}
    if not isinstance(injected, dict):
        raise ValidationFailed("injected_ml maps area ids to millilitres.", fields={"injected_ml": "Wrong type."})
    for area_id, ml in injected.items():
        payload[f"injected_{area_id}"] = ml
    form = form_from_json(session_form_class(course), payload)
    session = outcome_services.record_session(api_user(), course, **form.session_fields())
    return created(session_json(session), url_for("api.list_sessions", patient_id=patient.id))


def _course_of(patient: Patient, course_id: Any) -> TreatmentCourse:
    if not isinstance(course_id, int) or isinstance(course_id, bool):
        raise ValidationFailed("course_id is required.", fields={"course_id": "Required."})
    try:
        return load_child(TreatmentCourse, course_id, api_user(), patient_id=patient.id)
    except NotFound:  # another patient's, another clinic's or no course: one answer, naming the field
        raise ValidationFailed("Choose one of this patient's courses.",
                               fields={"course_id": "Not this patient's."}) from None


@bp.get("/patients/<int:patient_id>/adverse-events")
def list_adverse_events(patient_id: int) -> Any:
    patient = load(Patient, patient_id, api_user())
    return listing([adverse_event_json(e) for e in outcome_services.list_events(api_user(), patient)])


@bp.post("/patients/<int:patient_id>/adverse-events")
def create_adverse_event(patient_id: int) -> Any:
    patient = load(Patient, patient_id, api_user())
    form = form_from_json(EventForm, json_body(), areas=[(a.id, a.name) for a in patient.areas],
                          photos=outcome_services.photo_choices(patient))
    event = outcome_services.report_event(api_user(), patient, outcome_services.EventReport(
        kind=form.kind.data, severity=form.severity.data, onset=form.onset.data,
        description=form.description.data or "", area_id=form.area_id.data, photo_id=form.photo_id.data))
    return created(adverse_event_json(event), url_for("api.list_adverse_events", patient_id=patient.id))


@bp.post("/adverse-events/<int:event_id>/resolve")
def resolve_adverse_event(event_id: int) -> Any:
    event = load(AdverseEvent, event_id, api_user())
    form = form_from_json(ResolveForm, json_body())
    return jsonify(adverse_event_json(outcome_services.resolve_event(api_user(), event, form.resolved_on.data)))


@bp.get("/areas/<int:area_id>/assessments")
def list_assessments(area_id: int) -> Any:
    area = load(TreatmentArea, area_id, api_user())
    return listing([assessment_json(a) for a in assessments.list_assessments(
        api_user(), area, request.args.get("scale") or None)])


@bp.post("/areas/<int:area_id>/assessments")
def create_assessment(area_id: int) -> Any:
    area = load(TreatmentArea, area_id, api_user())
    payload = json_body()
    if not isinstance(payload, dict):
        raise ValidationFailed("Send a JSON object.")
    unknown = set(payload) - {"scale", "score", "items", "assessed_on", "rater", "note"}
    if unknown:
        raise ValidationFailed(f"Unknown field(s): {', '.join(sorted(unknown))[:200]}.",
                               fields={n[:60]: "Unknown field." for n in unknown})
    items = payload.get("items")
    if items is not None and not (isinstance(items, dict) and all(isinstance(k, str) for k in items)):
        raise ValidationFailed("items maps item codes to scores.", fields={"items": "Wrong type."})
    rater = payload.get("rater")
    if rater is not None and rater != assessments.rater_of(api_user()).value:
        raise ValidationFailed(f"As a {api_user().role.label.lower()} you rate as {assessments.rater_of(api_user())}.",
                               fields={"rater": "You cannot rate for someone else."})
    score = payload.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        raise ValidationFailed("score is a number.", fields={"score": "score is a number."})
    day = _iso_date(payload.get("assessed_on"), "assessed_on")
    assessment = assessments.record_assessment(api_user(), area, assessments.ScoreEntry(
        scale=str(payload.get("scale") or ""), score=score, items=items, assessed_on=day,
        note=str(payload.get("note") or "")))
    return created(assessment_json(assessment), url_for("api.list_assessments", area_id=area.id))


def _iso_date(raw: Any, field: str) -> date:
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else _bad_date(field)
    except ValueError:
        return _bad_date(field)


def _bad_date(field: str) -> date:
    raise ValidationFailed(f"{field} is a date: YYYY-MM-DD.", fields={field: "Use YYYY-MM-DD."})


@bp.get("/areas/<int:area_id>/response")
def area_response(area_id: int) -> Any:
    area = load(TreatmentArea, area_id, api_user())
    scale = request.args.get("scale", "")
    report = assessments.response_for(api_user(), area, scale)
    return jsonify({"area_id": area.id, **report.to_dict()})


@bp.get("/scales")
def list_scales() -> Any:
    return jsonify([s.to_dict() for s in assessments.available_scales(api_user().clinic_id)])


@bp.put("/areas/<int:area_id>/regions/<view>")
def put_region(area_id: int, view: str) -> Any:
    authorize(api_user(), "outcomes.review")
    area = load(TreatmentArea, area_id, api_user())
    if view not in area.views:
        raise NotFound()
    payload = json_body()
    if not isinstance(payload, dict) or set(payload) != {"points"}:
        raise ValidationFailed("Send {\"points\": [[x, y], ...]} in baseline display pixels.",
                               fields={"points": "Required."})
    roi = regions.set_region(api_user(), area, view, payload["points"])
    return jsonify({"area_id": area.id, "view": view, "points": roi.points, "baseline_photo_id": roi.baseline_photo_id})


@bp.get("/areas/<int:area_id>/metrics")
def area_metrics(area_id: int) -> Any:
    area = load(TreatmentArea, area_id, api_user())
    rows = db.session.execute(scoped(PhotoMetric, api_user()).add_columns(Photo).join(
        Photo, Photo.id == PhotoMetric.photo_id).where(Photo.area_id == area.id, Photo.deleted_at.is_(None))
        .order_by(Photo.taken_on, Photo.id)).all()
    return listing([{"photo_id": photo.id, "taken_on": iso(photo.taken_on), "view": photo.view_key or None,
                     "method_version": metric.method_version, "values": metric.values} for metric, photo in rows])


# --- consent and the public gallery ---------------------------------------------------------------

@bp.get("/me/consents")
def my_consents() -> Any:
    user = api_user()
    if not can(user, "consent.own"):
        return listing([])  # staff have no consents of their own (an empty list, as documented)
    patient = load(Patient, user.patient_id, user)
    return listing([consent_json(c) for c in consent_services.list_consents(user, patient)])


@bp.post("/me/consents")
def grant_consent() -> Any:
    authorize(api_user(), "consent.grant")
    payload = json_body()
    if not isinstance(payload, dict):
        raise ValidationFailed("Send a JSON object.")
    unknown = set(payload) - {"scope", "text_version", "signature_name", "area_id"}
    if unknown:
        raise ValidationFailed(f"Unknown field(s): {', '.join(sorted(unknown))[:200]}.",
                               fields={n[:60]: "Unknown field." for n in unknown})
    version, area_id = payload.get("text_version"), payload.get("area_id")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValidationFailed("text_version is the version number of the text you read.",
                               fields={"text_version": "An integer."})
    if area_id is not None and (not isinstance(area_id, int) or isinstance(area_id, bool)):
        raise ValidationFailed("area_id is an area id.", fields={"area_id": "An integer."})
    if area_id is not None and not valid_id(area_id):
        raise NotFound()
    consent = consent_services.grant(api_user(), consent_services.GrantRequest(
        scope=str(payload.get("scope") or ""), text_version=version,
        signature_name=str(payload.get("signature_name") or ""), area_id=area_id), ip=request.remote_addr or "")
    return created(consent_json(consent), url_for("api.my_consents"))


@bp.post("/me/consents/<int:consent_id>/withdraw")
def withdraw_consent(consent_id: int) -> Any:
    authorize(api_user(), "consent.withdraw")
    consent = load(Consent, consent_id, api_user())
    return jsonify(consent_json(consent_services.withdraw(api_user(), consent, ip=request.remote_addr or "")))


@bp.get("/clinics/<slug>/consent-texts")
def consent_texts(slug: str) -> Any:
    clinic = gallery_services.clinic_by_slug(slug)
    texts = [consent_services.current_text(clinic.id, scope) for scope in ConsentScope]
    return jsonify([{"scope": t.scope.value, "version": t.version, "body": t.body, "sha256": t.sha256}
                    for t in texts if t is not None])


@bp.get("/clinics/<slug>/gallery")
def public_gallery(slug: str) -> Any:
    clinic = gallery_services.clinic_by_slug(slug)
    items = gallery_services.public_items(clinic, modality=request.args.get("modality") or None,
                                          region=request.args.get("region") or None)
    response = jsonify({"clinic": {"name": clinic.name, "slug": clinic.slug}, "items": [{
        "id": item.public_id, "caption": item.caption, "modality": item.modality, "body_region": item.body_region,
        "images": {side: url_for("public.gallery_image", slug=clinic.slug, public_id=item.public_id, side=side)
                   for side in gallery_services.SIDES}} for item in items]})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/areas/<int:area_id>/gallery-proposals")
def propose_gallery_item(area_id: int) -> Any:
    authorize(api_user(), "gallery.propose")
    area = load(TreatmentArea, area_id, api_user())
    payload = json_body()
    if not isinstance(payload, dict) or not {"before_id", "after_id"} <= set(payload) or \
            set(payload) - {"before_id", "after_id", "crop", "blur"}:
        raise ValidationFailed("Send before_id, after_id and optionally crop [x, y, w, h] and blur [[x, y, w, h]].",
                               fields={"before_id": "Required.", "after_id": "Required."})
    try:
        crop = tuple(float(v) for v in payload["crop"]) if payload.get("crop") else None
        blur = tuple(tuple(float(v) for v in rect) for rect in payload.get("blur") or ())
        ids = (int(payload["before_id"]), int(payload["after_id"]))
    except (TypeError, ValueError):
        raise ValidationFailed("Rectangles are lists of four numbers; ids are integers.",
                               fields={"crop": "Four numbers."}) from None
    if (crop is not None and len(crop) != 4) or any(len(rect) != 4 for rect in blur):
        raise ValidationFailed("Rectangles are lists of four numbers.", fields={"crop": "Four numbers."})
    item = gallery_services.propose(api_user(), gallery_services.Proposal(ids[0], ids[1], crop, blur, area.id))
    return created({"id": item.id, "status": item.status.value, "caption": item.caption,
                    "public_id": item.public_id}, url_for("gallery.index"))


@bp.patch("/sessions/<int:session_id>")
def update_session(session_id: int) -> Any:
    """Correct a recorded session: the body is the full session as when recording it (course_id excepted)."""
    authorize(api_user(), "sessions.record")
    session = load(TreatmentSession, session_id, api_user())
    course = db.session.get(TreatmentCourse, session.course_id)
    payload = json_body()
    if not isinstance(payload, dict):
        raise ValidationFailed("Send a JSON object.")
    injected = payload.pop("injected_ml", None) or {}
    if not isinstance(injected, dict):
        raise ValidationFailed("injected_ml maps area ids to millilitres.", fields={"injected_ml": "Wrong type."})
    for area_id, ml in injected.items():
        payload[f"injected_{area_id}"] = ml
    form = form_from_json(session_form_class(course), payload)
    updated = outcome_services.update_session(api_user(), session, **form.session_fields())
    return jsonify(session_json(updated))


@bp.get("/audit")
def audit_trail() -> Any:
    """The clinic's audit trail, newest first (clinic admins)."""
    page = audit_search.trail(
        api_user(), action=request.args.get("action", ""), patient_id=request.args.get("patient_id"),
        since=request.args.get("since"), page=int_arg("page", 1),
        per_page=int_arg("per_page", current_app.config["TRACKER_PAGE_SIZE"], maximum=100))
    return listing([audit_event_json(event) for event in page.items], total=page.total)
