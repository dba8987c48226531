"""JSON shapes of our objects: the promises the OpenAPI document describes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from tracker.models import AuditEvent
from tracker.models import (
    AdverseEvent, AlignmentStatus, Assessment, Consent, Patient, Photo, PhotoStatus, TreatmentArea, TreatmentCourse, TreatmentSession, User,
)


def iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role.value,
            "clinic_id": user.clinic_id, "patient_id": user.patient_id}


def patient_json(patient: Patient) -> dict[str, Any]:
    return {
        "id": patient.id, "clinic_id": patient.clinic_id, "full_name": patient.full_name, "email": patient.email,
        "date_of_birth": iso(patient.date_of_birth), "fitzpatrick": patient.fitzpatrick,
        "external_ref": patient.external_ref, "created_at": iso(patient.created_at),
    }


def area_json(area: TreatmentArea) -> dict[str, Any]:
    return {"id": area.id, "patient_id": area.patient_id, "name": area.name,
            "body_region": area.body_region.value, "views": list(area.views), "created_at": iso(area.created_at)}


def course_json(course: TreatmentCourse) -> dict[str, Any]:
    return {
        "id": course.id, "patient_id": course.patient_id, "indication": course.indication,
        "modality": course.modality.value, "planned_sessions": course.planned_sessions,
        "interval_weeks": course.interval_weeks, "start_date": iso(course.start_date),
        "area_ids": [link.area_id for link in course.area_links], "notes": course.notes,
        "created_at": iso(course.created_at),
    }


def photo_json(photo: Photo, *, image_endpoint: str = "api.photo_image") -> dict[str, Any]:
    from flask import url_for

    ready = photo.status is PhotoStatus.READY
    return {
        "id": photo.id, "area_id": photo.area_id, "patient_id": photo.patient_id,
        "taken_on": iso(photo.taken_on), "taken_on_source": photo.taken_on_source,
        "view": photo.view.value if photo.view else None, "note": photo.note, "status": photo.status.value,
        "failure_reason": photo.failure_reason or None, "width": photo.width, "height": photo.height,
        "sha256": photo.sha256, "original_format": photo.original_format, "original_size": photo.original_size,
        "created_at": iso(photo.created_at), "processed_at": iso(photo.processed_at),
        "quality": {"blur": photo.blur, "clipped_highlights": photo.clipped_highlights,
                    "clipped_shadows": photo.clipped_shadows, "warnings": list(photo.quality_warnings or [])},
        "alignment": {"status": photo.alignment.value, "aligned_to": photo.aligned_to_id,
                      "reason": photo.alignment_reason or None, "inliers": photo.alignment_inliers,
                      "matrix": photo.alignment_matrix, "method": photo.alignment_method or None},
        "images": {variant: url_for(image_endpoint, photo_id=photo.id, variant=variant)
                   for variant in _available_variants(photo)},
    }


def _available_variants(photo: Photo) -> tuple[str, ...]:
    if photo.status is not PhotoStatus.READY:
        return ("original",)
    if photo.alignment in (AlignmentStatus.ALIGNED, AlignmentStatus.BASELINE):
        return ("display", "thumb", "original", "aligned", "adjusted")
    return ("display", "thumb", "original")


def session_json(session: TreatmentSession) -> dict[str, Any]:
    return {"id": session.id, "patient_id": session.patient_id, "course_id": session.course_id,
            "number": session.number, "performed_on": iso(session.performed_on), "modality": session.modality.value,
            "notes": session.notes, "practitioner_id": session.practitioner_id, "created_at": iso(session.created_at),
            "area_ids": [link.area_id for link in session.area_links],
            "injected_ml": {str(link.area_id): link.injected_ml for link in session.area_links
                            if link.injected_ml is not None},
            "harvest_site": session.harvest_site, "harvested_ml": session.harvested_ml,
            "processed_ml": session.processed_ml, "cell_count": session.cell_count,
            "injection_depth": session.injection_depth.value if session.injection_depth else None,
            "injection_pattern": session.injection_pattern,
            "anaesthesia": session.anaesthesia.value if session.anaesthesia else None,
            "device_product": session.device_product, "settings": session.settings, "lot_number": session.lot_number}


def timeline_json(timeline: Any) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    for event in timeline.events:
        if event.kind == "session":
            events.append({"type": "session", **session_json(event.session)})
        else:
            events.append({"type": "photo", **photo_json(event.photo), "aligned": event.aligned,
                           "is_baseline": event.is_baseline, "days_since_baseline": event.days_since_baseline,
                           "days_since_session": event.days_since_session, "after_session": event.after_session})
    return {"area": area_json(timeline.area), "events": events}


def adverse_event_json(event: AdverseEvent) -> dict[str, Any]:
    return {"id": event.id, "patient_id": event.patient_id, "area_id": event.area_id, "kind": event.kind.value,
            "severity": event.severity.value, "onset": iso(event.onset), "resolved_on": iso(event.resolved_on),
            "description": event.description, "reporter": event.reporter.value, "photo_id": event.photo_id,
            "needs_attention": event.needs_attention, "created_at": iso(event.created_at)}


def assessment_json(assessment: Assessment) -> dict[str, Any]:
    return {"id": assessment.id, "patient_id": assessment.patient_id, "area_id": assessment.area_id,
            "scale": assessment.scale, "score": assessment.score, "items": assessment.items,
            "assessed_on": iso(assessment.assessed_on), "rater": assessment.rater.value, "note": assessment.note,
            "created_at": iso(assessment.created_at)}


def consent_json(consent: Consent) -> dict[str, Any]:
    return {"id": consent.id, "scope": consent.scope.value, "area_id": consent.area_id, "status": consent.status,
            "granted_at": iso(consent.granted_at), "withdrawn_at": iso(consent.withdrawn_at),
            "text_version": consent.text_version, "text_sha256": consent.text_sha256,
            "signature_name": consent.signature_name}


def audit_event_json(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "at": iso(event.at), "actor_id": event.actor_id, "actor_role": event.actor_role,
            "action": event.action, "object_type": event.object_type, "object_id": event.object_id,
            "patient_id": event.patient_id, "ip": event.ip, "outcome": event.outcome, "changes": event.changes or {}}
