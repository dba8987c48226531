"""JSON shapes of our objects: the promises the OpenAPI document describes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from tracker.models import Patient, Photo, PhotoStatus, TreatmentArea, TreatmentCourse, User


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
        "images": {variant: url_for(image_endpoint, photo_id=photo.id, variant=variant)
                   for variant in (("display", "thumb", "original") if ready else ("original",))},
    }
