"""The OpenAPI 3.1 document for /api/v1 — the written form of our promises to client apps.

A test checks that every API route is described here and every path here exists.
"""

from __future__ import annotations

from typing import Any

from tracker.audit import change_actions
from tracker.models import Anaesthesia, BodyRegion, EventKind, InjectionDepth, Modality, Role, Severity, View
from tracker.request_guard import MAX_ID

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Schema], required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


STR = {"type": "string"}
INT = {"type": "integer"}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}  # larger ids are not ours: 404


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


SCHEMAS: dict[str, Schema] = {
    "Error": _obj({"error": _obj({
        "code": STR, "message": STR,
        "fields": {"type": "object", "additionalProperties": STR},
    }, ["code", "message"])}, ["error"]),
    "TokenRequest": _obj({"email": STR, "password": STR,
                          "otp": {"type": "string", "description": "The authenticator app's current 6-digit code "
                                  "(or a recovery code), for accounts with two-step sign-in"}},
                         ["email", "password"]),
    "Token": _obj({"token": STR, "expires_at": DATETIME}, ["token", "expires_at"]),
    "Me": _obj({"id": ID, "email": STR, "name": STR, "role": {"type": "string", "enum": [r.value for r in Role]},
                "clinic_id": ID, "patient_id": nullable(ID)}, ["id", "email", "role", "clinic_id", "patient_id"]),
    "Patient": _obj({
        "id": ID, "clinic_id": ID, "full_name": STR, "email": nullable(STR), "date_of_birth": nullable(DATE),
        "fitzpatrick": nullable({"type": "integer", "minimum": 1, "maximum": 6}), "external_ref": STR,
        "created_at": DATETIME,
    }, ["id", "clinic_id", "full_name"]),
    "PatientCreate": _obj({
        "full_name": {"type": "string", "maxLength": 200}, "email": {"type": "string", "format": "email"},
        "date_of_birth": DATE, "fitzpatrick": {"type": "integer", "minimum": 1, "maximum": 6},
        "external_ref": {"type": "string", "maxLength": 64},
        "send_invitation": {"type": "boolean", "description": "Mail the patient a sign-in invitation now."},
    }, ["full_name"]),
    "Area": _obj({
        "id": ID, "patient_id": ID, "name": STR, "body_region": {"type": "string", "enum": BodyRegion.codes()},
        "views": {"type": "array", "items": {"type": "string", "enum": View.codes()}}, "created_at": DATETIME,
    }, ["id", "patient_id", "name", "body_region", "views"]),
    "AreaCreate": _obj({
        "name": {"type": "string", "maxLength": 120}, "body_region": {"type": "string", "enum": BodyRegion.codes()},
        "views": {"type": "array", "items": {"type": "string", "enum": View.codes()},
                  "description": "Defaults to [\"front\"]."},
    }, ["name", "body_region"]),
    "Course": _obj({
        "id": ID, "patient_id": ID, "indication": STR, "modality": {"type": "string", "enum": Modality.codes()},
        "planned_sessions": INT, "interval_weeks": INT, "start_date": DATE,
        "area_ids": {"type": "array", "items": ID}, "notes": STR, "created_at": DATETIME,
    }, ["id", "patient_id", "indication", "modality", "planned_sessions", "interval_weeks", "start_date",
        "area_ids"]),
    "CourseCreate": _obj({
        "indication": {"type": "string", "maxLength": 200},
        "modality": {"type": "string", "enum": Modality.codes(),
                     "description": "; ".join(f"{m.value} = {m.label}" for m in Modality)},
        "planned_sessions": {"type": "integer", "minimum": 1, "maximum": 20},
        "interval_weeks": {"type": "integer", "minimum": 1, "maximum": 104},
        "start_date": DATE, "area_ids": {"type": "array", "items": ID, "minItems": 1},
        "notes": {"type": "string", "maxLength": 5000},
    }, ["indication", "modality", "planned_sessions", "interval_weeks", "start_date", "area_ids"]),
    "Photo": _obj({
        "id": ID, "area_id": ID, "patient_id": ID, "taken_on": DATE,
        "taken_on_source": {"type": "string", "enum": ["exif", "user"],
                            "description": "exif: read from the photo's DateTimeOriginal; user: entered"},
        "view": nullable({"type": "string", "enum": View.codes()}), "note": STR,
        "status": {"type": "string", "enum": ["processing", "ready", "failed"]},
        "failure_reason": nullable(STR),
        "width": {**INT, "description": "Upright width of the original"},
        "height": {**INT, "description": "Upright height of the original"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256 of the original bytes"},
        "original_format": {"type": "string", "enum": ["jpeg", "png", "webp", "heif"]},
        "original_size": INT, "created_at": DATETIME, "processed_at": nullable(DATETIME),
        "quality": _obj({"blur": nullable({"type": "number"}), "clipped_highlights": nullable({"type": "number"}),
                         "clipped_shadows": nullable({"type": "number"}),
                         "warnings": {"type": "array", "items": STR}}),
        "alignment": _obj({
            "status": {"type": "string", "enum": ["pending", "baseline", "aligned", "failed"]},
            "aligned_to": nullable(ID), "reason": nullable(STR), "inliers": nullable(INT),
            "matrix": nullable({"type": "array", "items": {"type": "array", "items": {"type": "number"}},
                                "description": "3x3 homography: display pixels of this photo -> baseline's"}),
            "method": nullable(STR)}),
        "images": {"type": "object", "additionalProperties": STR,
                   "description": "URLs of the variants available now (display and thumb once ready)"},
        "warnings": {"type": "array", "items": STR, "description": "Quality advice (upload response only)"},
    }, ["id", "area_id", "taken_on", "view", "status", "width", "height", "sha256", "created_at"]),
    "PhotoUpload": _obj({
        "file": {"type": "string", "format": "binary",
                 "description": "JPEG, PNG, WebP or HEIC; type detected from the content"},
        "taken_on": {**DATE, "description": "Required when the photo carries no EXIF date; never in the future"},
        "view": {"type": "string", "enum": View.codes(), "description": "One of the area's views"},
        "note": {"type": "string", "maxLength": 2000},
    }, ["file"]),
    "Session": _obj({
        "id": ID, "patient_id": ID, "course_id": ID, "number": {"type": "integer", "minimum": 1},
        "performed_on": DATE, "modality": {"type": "string", "enum": Modality.codes()}, "notes": STR,
        "practitioner_id": nullable(ID), "created_at": DATETIME,
    }, ["id", "course_id", "number", "performed_on", "modality"]),
    "Timeline": _obj({
        "area": ref("Area"),
        "events": {"type": "array", "description": "In date order; on the same day photos come before a session "
                                                   "(photos at a visit are taken before treatment).",
                   "items": {"oneOf": [
                       {"allOf": [ref("Photo"), _obj({
                           "type": {"const": "photo"}, "aligned": {"type": "boolean"},
                           "is_baseline": {"type": "boolean"}, "days_since_baseline": nullable(INT),
                           "days_since_session": nullable(INT), "after_session": nullable(INT)},
                           ["type", "aligned"])]},
                       {"allOf": [ref("Session"), _obj({"type": {"const": "session"}}, ["type"])]},
                   ]}},
    }, ["area", "events"]),
    "SessionCreate": _obj({
        "course_id": ID, "performed_on": {**DATE, "description": "Not in the future, not before the course start"},
        "number": {"type": "integer", "minimum": 1, "maximum": 99, "description": "Default: the next one"},
        "area_ids": {"type": "array", "items": ID, "description": "Default: every area the course treats"},
        "notes": {"type": "string", "maxLength": 5000},
        "harvest_site": STR, "harvested_ml": {"type": "number", "minimum": 0},
        "processed_ml": {"type": "number", "minimum": 0},
        "injected_ml": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0},
                        "description": "Area id → millilitres injected there"},
        "cell_count": STR, "injection_depth": {"type": "string", "enum": [d.value for d in InjectionDepth]},
        "injection_pattern": STR, "anaesthesia": {"type": "string", "enum": [a.value for a in Anaesthesia]},
        "device_product": STR, "settings": STR, "lot_number": STR,
    }, ["course_id", "performed_on"]),
    "AdverseEvent": _obj({
        "id": ID, "patient_id": ID, "area_id": nullable(ID),
        "kind": {"type": "string", "enum": [k.value for k in EventKind]},
        "severity": {"type": "string", "enum": [s.value for s in Severity]}, "onset": DATE,
        "resolved_on": nullable(DATE), "description": STR, "photo_id": nullable(ID), "reporter": {"type": "string",
                                                                         "enum": ["patient", "practitioner"]},
        "needs_attention": {"type": "boolean", "description": "Unresolved moderate/severe, or any infection sign"},
        "created_at": DATETIME}, ["id", "kind", "severity", "onset"]),
    "AdverseEventCreate": _obj({
        "kind": {"type": "string", "enum": [k.value for k in EventKind]},
        "severity": {"type": "string", "enum": [s.value for s in Severity]}, "onset": DATE,
        "area_id": ID, "photo_id": {**ID, "description": "One of the patient's photos"},
        "description": {"type": "string", "maxLength": 5000}}, ["kind", "severity", "onset"]),
    "Resolve": _obj({"resolved_on": DATE}, ["resolved_on"]),
    "Assessment": _obj({
        "id": ID, "patient_id": ID, "area_id": ID, "scale": STR, "score": {"type": "number"},
        "items": nullable({"type": "object", "additionalProperties": {"type": "number"}}), "assessed_on": DATE,
        "rater": {"type": "string", "enum": ["practitioner", "patient"]}, "note": STR, "created_at": DATETIME,
    }, ["id", "area_id", "scale", "score", "assessed_on", "rater"]),
    "AssessmentCreate": _obj({
        "scale": {"type": "string", "description": "gais, gais_patient, posas_patient, posas_observer, davey, "
                                                   "satisfaction, itch, pain, or a clinic scale's code"},
        "score": {"type": "number", "description": "For single-score scales (or a Davey total)"},
        "items": {"type": "object", "additionalProperties": {"type": "number"},
                  "description": "POSAS items (and 'overall', not summed) or Davey quadrants"},
        "assessed_on": DATE, "rater": {"type": "string", "enum": ["practitioner", "patient"],
                                       "description": "Must match who you are; practitioner scales need staff"},
        "note": STR}, ["scale", "assessed_on"]),
    "Response": _obj({
        "area_id": ID, "scale": STR,
        "sessions": {"type": "array", "items": _obj({
            "number": INT, "performed_on": DATE, "before": nullable({"type": "number"}),
            "after": nullable({"type": "number"}), "change": nullable({"type": "number"}),
            "before_on": nullable(DATE), "after_on": nullable(DATE), "meaningful": nullable({"type": "boolean"}),
            "before_implied": {"type": "boolean"},
            "label": {"type": "string", "description": "\"session 2\", or \"session 1 of course 2\" when the "
                      "area was treated in several courses (their numbers restart)"},
            "course_id": nullable(ID)},
            ["number", "performed_on", "before", "after", "change"])},
        "plateau": nullable({"type": "boolean"}), "verdict": STR, "missing": {"type": "array", "items": STR},
        "mid": nullable({"type": "number"}), "worsening": nullable({"type": "boolean"}),
    }, ["area_id", "scale", "sessions", "plateau", "verdict"]),
    "Region": _obj({"points": {"type": "array", "minItems": 3, "maxItems": 64,
                               "items": {"type": "array", "minItems": 2, "maxItems": 2, "items": {
                                   "type": "number", "minimum": -1_000_000, "maximum": 1_000_000}}}},
                    ["points"]),
    "Consent": _obj({
        "id": ID, "scope": {"type": "string", "enum": ["care", "gallery", "education", "marketing"]},
        "area_id": nullable(ID), "status": {"type": "string", "enum": ["granted", "withdrawn"]},
        "granted_at": DATETIME, "withdrawn_at": nullable(DATETIME), "text_version": INT, "text_sha256": STR,
        "signature_name": STR}, ["id", "scope", "area_id", "status", "granted_at"]),
    "ConsentGrant": _obj({
        "scope": {"type": "string", "enum": ["care", "gallery", "education", "marketing"]},
        "text_version": {"type": "integer", "description": "The version of the text the patient read"},
        "signature_name": {"type": "string", "description": "The patient's full name, typed"},
        "area_id": {**ID, "description": "Only this area (gallery, education, marketing)"}},
        ["scope", "text_version", "signature_name"]),
    "GalleryProposal": _obj({
        "before_id": ID, "after_id": ID,
        "crop": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        "blur": {"type": "array", "items": {"type": "array", "items": {"type": "number"}, "minItems": 4,
                                            "maxItems": 4}}}, ["before_id", "after_id"]),
    "PhotoPatch": _obj({
        "taken_on": DATE, "view": nullable({"type": "string", "enum": View.codes()}),
        "note": {"type": "string", "maxLength": 2000},
    }),
    "AuditEntry": _obj({
        "id": ID, "at": DATETIME,
        "actor_id": {**nullable(ID), "description": "The user who acted; null for the system (CLI, worker) or "
                                                     "someone not signed in (a public form, a failed sign-in)"},
        "actor_role": {"type": "string", "description": "Their role then: patient, practitioner, clinic_admin; "
                                                          "\"system\" without a request; empty when not signed in"},
        "action": {"type": "string", "description": "e.g. photo.update, auth.sign_in (see GET /api/v1/audit)"},
        "object_type": {"type": "string", "description": "e.g. photo, session, gallery_item; empty for sign-ins"},
        "object_id": {"type": "string", "description": "The object's id (as text); empty for sign-ins"},
        "patient_id": {**nullable(ID), "description": "Whose record it concerns"},
        "ip": {"type": "string", "description": "The client's address (empty without a request)"},
        "outcome": {"type": "string", "enum": ["ok", "denied", "failed"]},
        "changes": {
            "type": "object", "description": (
                "Changes to the record: column (or `areas.<area id>` for a session's or course's areas) → "
                "`{\"old\", \"new\"}`: only `new` on create, only `old` on delete, both on update. Free text and "
                "identifying data (notes, descriptions, names, e-mail addresses, dates of birth) are never "
                "recorded: their value is `{\"redacted\": true, \"length\", \"digest\"}` (a keyed digest that "
                "tells versions apart); secrets (password hashes) only `{\"redacted\": true}`. Empty for "
                "access events."),
            "additionalProperties": _obj({"old": {"description": "The value before (any JSON)"},
                                          "new": {"description": "The value after (any JSON)"}})},
    }, ["at", "actor_id", "action", "object_type", "object_id", "patient_id", "ip", "changes"]),
}

ERRORS = {
    "400": "Malformed request", "401": "Missing, invalid, expired or revoked token",
    "403": "Your role may not do this", "404": "Not found (or not yours: indistinguishable by design)",
    "409": "Conflicts with an existing record", "413": "Payload too large", "415": "Unsupported media type",
    "422": "Validation failed; error.fields names each bad field", "429": "Too many requests; see Retry-After",
    "503": "Storage or database unavailable: nothing was saved, retry",
}


def _json(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Schema]:
    return {c: {"description": ERRORS[c], **_json(ref("Error"))} for c in codes}


def op(summary: str, ok: str, schema: Schema | None, *errors: str, body: str | None = None,
       public: bool = False, params: list[Schema] | None = None, description: str = "",
       body_type: str = "application/json", content: str = "application/json",
       extra: dict[str, Schema] | None = None) -> Schema:
    payload = {"content": {content: {"schema": schema}}} if schema else {}
    responses: dict[str, Schema] = {ok: {"description": summary, **payload}}
    implied: tuple[str, ...] = () if public else ("401",)
    if body and body_type == "application/json":
        implied += ("400", "415", "422")  # not JSON, or nested too deep; not sent as JSON; against the schema
    if any(p["in"] == "query" for p in params or ()):
        implied += ("422",)  # tracker/api/contract.py checks every documented query parameter
    responses.update(_errors(*sorted(set(errors + implied))))
    responses.update(extra or {})
    operation: Schema = {"summary": summary, "responses": responses}
    if description:
        operation["description"] = description
    if body:
        operation["requestBody"] = {"required": True, "content": {body_type: {"schema": ref(body)}}}
    if public:
        operation["security"] = []
    if params:
        operation["parameters"] = params
    return operation


def path_id(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def array_of(name: str) -> Schema:
    return {"type": "array", "items": ref(name)}


SCHEMAS["SessionUpdate"] = _obj({k: v for k, v in SCHEMAS["SessionCreate"]["properties"].items() if k != "course_id"},
                                 ["performed_on"])
# Request bodies name every field they take: anything else is refused (422 "Unknown field."), never ignored, so
# a client cannot set what it may not (clinic_id, role, patient_id…).
for _name in ("TokenRequest", "PatientCreate", "AreaCreate", "CourseCreate", "PhotoUpload", "SessionCreate",
              "SessionUpdate", "AdverseEventCreate", "Resolve", "AssessmentCreate", "Region", "ConsentGrant",
              "GalleryProposal", "PhotoPatch"):
    SCHEMAS[_name]["additionalProperties"] = False


def _idempotent_upload(operation: Schema) -> Schema:
    """The upload also answers 200 (a retry with the same Idempotency-Key) and takes that header."""
    operation["parameters"].append({
        "name": "Idempotency-Key", "in": "header", "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        "description": "Any unique string per photo (a UUID); resend it with a retry of the same upload."})
    operation["responses"]["200"] = {
        "description": "A retry of an upload already saved: that photo (header Idempotent-Replayed: true)",
        "headers": {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}}},
        **_json(ref("Photo"))}
    return operation


PATHS: dict[str, Schema] = {
    "/api/v1/openapi.json": {"get": op("This document", "200", {"type": "object"}, public=True)},
    "/api/v1/tokens": {"post": op(
        "Exchange e-mail and password for a bearer token", "201", ref("Token"), "400", "401", "403", "415", "422",
        "429", body="TokenRequest", public=True,
        description="Rate-limited per address and per account. Failed sign-ins all answer 401 with the same "
                    "message. An account with two-step sign-in also sends `otp`: without it the answer is 401 "
                    "`otp_required`, with a wrong or reused code 401 `otp_invalid`. Staff of a clinic that "
                    "requires two-step sign-in and have not set it up get 403 `two_factor_setup_required`.")},
    "/api/v1/tokens/current": {"delete": op("Revoke the token used for this request", "204", None)},
    "/api/v1/me": {"get": op("Who the token belongs to", "200", ref("Me"))},
    "/api/v1/patients": {
        "get": op("Patients you may see (a patient sees only themselves)", "200", array_of("Patient"), "422",
                  params=[query("q", {"type": "string", "maxLength": 200}, "Search name, e-mail or reference"),
                          query("page", {"type": "integer", "minimum": 1, "maximum": 10_000}, "1-based page"),
                          query("per_page", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size"),
                          query("sort", {"type": "string", "enum": ["name", "-name", "newest", "oldest"]},
                                "Sort order")],
                  description="The total count is in the X-Total-Count header."),
        "post": op("Create a patient (staff)", "201", ref("Patient"), "403", "409", "415", "422",
                   body="PatientCreate"),
    },
    "/api/v1/patients/{patient_id}": {"get": op("One patient", "200", ref("Patient"), "404",
                                                params=[path_id("patient_id")])},
    "/api/v1/patients/{patient_id}/areas": {
        "get": op("The patient's treated areas", "200", array_of("Area"), "404", params=[path_id("patient_id")]),
        "post": op("Add a treated area (staff)", "201", ref("Area"), "403", "404", "409", "415", "422",
                   body="AreaCreate", params=[path_id("patient_id")]),
    },
    "/api/v1/areas/{area_id}": {"get": op("One treated area", "200", ref("Area"), "404",
                                          params=[path_id("area_id")])},
    "/api/v1/patients/{patient_id}/courses": {
        "get": op("The patient's treatment courses", "200", array_of("Course"), "404",
                  params=[path_id("patient_id")]),
        "post": op("Add a treatment course (staff)", "201", ref("Course"), "403", "404", "415", "422",
                   body="CourseCreate", params=[path_id("patient_id")]),
    },
    "/api/v1/courses/{course_id}": {"get": op("One treatment course", "200", ref("Course"), "404",
                                              params=[path_id("course_id")])},
    "/api/v1/areas/{area_id}/photos": {
        "get": op("The area's photos in taken-on order", "200", array_of("Photo"), "404",
                  params=[path_id("area_id")]),
        "post": _idempotent_upload(op(
            "Upload a photo", "201", ref("Photo"), "400", "403", "404", "409", "413", "415", "422", "429", "503",
            body="PhotoUpload", body_type="multipart/form-data", params=[path_id("area_id")],
            description="Validated by content (never the name or Content-Type), normalized upright, sRGB, "
                        "metadata stripped. 400 for empty, corrupt, too small (under 32 px a side) or over-pixel files; "
                        "403 `consent_required` before the patient consented to photography for their record; 409 when the same "
                        "bytes are already in this area (error.photo_id names it); 413 for a file over the "
                        "size limit or, with error.code `quota_exceeded`, when the patient's record is at "
                        "its storage quota (TRACKER_PATIENT_QUOTA_MB); 503 when nothing could "
                        "be saved. status is `processing` while a worker makes the derivatives. "
                        "Send an `Idempotency-Key` to retry safely: a retry of an upload that was saved "
                        "answers 200 with that photo and `Idempotent-Replayed: true`; the key reused for "
                        "other bytes or another area is 422 `idempotency_key_reused`.")),
    },
    "/api/v1/photos/{photo_id}": {
        "get": op("One photo", "200", ref("Photo"), "404", params=[path_id("photo_id")]),
        "patch": op("Change taken_on, view or note", "200", ref("Photo"), "404", "415", "422", body="PhotoPatch",
                    params=[path_id("photo_id")]),
        "delete": op("Remove a photo from the record", "204", None, "404", params=[path_id("photo_id")],
                     description="Hidden at once; the bytes are purged after the retention period."),
    },
    "/api/v1/photos/{photo_id}/retry": {"post": op(
        "Process a failed photo again", "200", ref("Photo"), "404", params=[path_id("photo_id")])},
    "/api/v1/photos/{photo_id}/image/{variant}": {"get": op(
        "The bytes of a variant", "200", {"type": "string", "format": "binary"}, "404", "409",
        params=[path_id("photo_id"), {"name": "variant", "in": "path", "required": True,
                                      "schema": {"type": "string",
                                                 "enum": ["display", "thumb", "original", "aligned", "adjusted"]}},
                {"name": "If-None-Match", "in": "header", "required": False, "schema": STR}],
        content="image/*", extra={"304": {"description": "Not modified since the ETag in If-None-Match"}},
        description="display/thumb: our re-encoded JPEGs; original: the uploaded bytes as an attachment; "
                    "aligned: drawn on the view baseline's canvas; adjusted: aligned, with exposure and white "
                    "balance matched to the baseline. Cache-Control private, no-cache with an ETag (304 when "
                    "unchanged); 409 while processing or when the photo could not be aligned.")},
    "/api/v1/areas/{area_id}/timeline": {"get": op(
        "Photos and sessions of an area on one time axis", "200", ref("Timeline"), "404",
        params=[path_id("area_id")])},
    "/api/v1/photos/{photo_id}/baseline": {"post": op(
        "Make this photo its view's baseline (staff); the view is realigned to it", "200", ref("Photo"), "403",
        "404", "409", params=[path_id("photo_id")])},
    "/api/v1/patients/{patient_id}/sessions": {
        "get": op("The patient's treatment sessions", "200", array_of("Session"), "404",
                  params=[path_id("patient_id")]),
        "post": op("Record a session (staff)", "201", ref("Session"), "403", "404", "409", "415", "422",
                   body="SessionCreate", params=[path_id("patient_id")]),
    },
    "/api/v1/sessions/{session_id}": {"patch": op(
        "Correct a recorded session (staff): send it whole, as when recording (no course_id)", "200",
        ref("Session"), "403", "404", "409", "415", "422", body="SessionUpdate", params=[path_id("session_id")])},
    "/api/v1/patients/{patient_id}/adverse-events": {
        "get": op("The patient's side-effect diary", "200", array_of("AdverseEvent"), "404",
                  params=[path_id("patient_id")]),
        "post": op("Report a side effect (the patient, or staff)", "201", ref("AdverseEvent"), "404", "415", "422",
                   body="AdverseEventCreate", params=[path_id("patient_id")]),
    },
    "/api/v1/adverse-events/{event_id}/resolve": {"post": op(
        "Mark a side effect resolved", "200", ref("AdverseEvent"), "404", "415", "422", body="Resolve",
        params=[path_id("event_id")])},
    "/api/v1/areas/{area_id}/assessments": {
        "get": op("Assessments of an area", "200", array_of("Assessment"), "404",
                  params=[path_id("area_id"), query("scale", STR, "Only this scale")]),
        "post": op("Record an assessment", "201", ref("Assessment"), "403", "404", "415", "422",
                   body="AssessmentCreate", params=[path_id("area_id")]),
    },
    "/api/v1/areas/{area_id}/response": {"get": op(
        "Per-session response and plateau on one scale", "200", ref("Response"), "404", "422",
        params=[path_id("area_id"), {"name": "scale", "in": "query", "required": True, "schema": STR}],
        description="change is positive when better. plateau is null when there is not enough data; "
                    "missing says what is missing.")},
    "/api/v1/areas/{area_id}/regions/{view}": {"put": op(
        "Draw the region of interest of a view on its baseline (staff); its photos are measured", "200",
        {"type": "object"}, "403", "404", "415", "422", body="Region",
        params=[path_id("area_id"), {"name": "view", "in": "path", "required": True,
                                     "schema": {"type": "string", "enum": View.codes()}}])},
    "/api/v1/areas/{area_id}/metrics": {"get": op(
        "Image metrics of the area's photos in their view's region", "200",
        {"type": "array", "items": _obj({"photo_id": ID, "taken_on": DATE, "view": nullable(STR),
                                         "method_version": STR, "values": {"type": "object"}})}, "404",
        params=[path_id("area_id")],
        description="values: delta_e (CIEDE2000 striae vs skin), redness_a, striae_redness_a, affected_fraction, "
                    "texture, mean_l, roi_pixels — see tracker/imaging/metrics.py for the methods.")},
    "/api/v1/me/consents": {
        "get": op("Your consents (patients)", "200", array_of("Consent")),
        "post": op("Grant a consent (patients only; never staff on a patient's behalf)", "201", ref("Consent"),
                   "403", "404", "409", "415", "422", body="ConsentGrant",
                   description="409 when text_version is not the current one: error.current_version and "
                               "error.current_text carry the current text."),
    },
    "/api/v1/me/consents/{consent_id}/withdraw": {"post": op(
        "Withdraw a consent, effective at once", "200", ref("Consent"), "403", "404",
        params=[path_id("consent_id")],
        description="Gallery items relying on it leave the public gallery in the same transaction.")},
    "/api/v1/clinics/{slug}/consent-texts": {"get": op(
        "The clinic's current consent texts (public)", "200", {"type": "array", "items": _obj({
            "scope": STR, "version": INT, "body": STR, "sha256": STR})}, "404", public=True,
        params=[{"name": "slug", "in": "path", "required": True, "schema": STR}])},
    "/api/v1/clinics/{slug}/gallery": {"get": op(
        "The clinic's published before/after gallery (public)", "200", _obj({
            "clinic": _obj({"name": STR, "slug": STR}),
            "items": {"type": "array", "items": _obj({
                "id": {"type": "string", "description": "Random; unrelated to any internal id"}, "caption": STR,
                "modality": STR, "body_region": STR, "images": _obj({"before": STR, "after": STR})})}}),
        "404", public=True,
        params=[{"name": "slug", "in": "path", "required": True, "schema": STR},
                query("modality", {"type": "string", "enum": Modality.codes()}, "Filter"),
                query("region", {"type": "string", "enum": BodyRegion.codes()}, "Filter")],
        description="Cache-Control: no-store — withdrawn consent removes an item on the next request.")},
    "/api/v1/areas/{area_id}/gallery-proposals": {"post": op(
        "Propose a before/after pair of the area for the public gallery (staff)", "201",
        _obj({"id": ID, "status": STR, "caption": STR, "public_id": STR}), "403", "404", "415", "422",
        body="GalleryProposal", params=[path_id("area_id")],
        description="422 with the reason when the patient has not given gallery consent for this area, or the "
                    "photos are not an aligned pair of one view. The patient approves before anything is public.")},
    "/api/v1/scales": {"get": op("The scales this clinic can use, with definitions", "200",
                                 {"type": "array", "items": {"type": "object"}})},
    "/api/v1/photos/{photo_id}/align": {"post": op(
        "Align this photo to its view's baseline again (staff)", "200", ref("Photo"), "403", "404", "409",
        params=[path_id("photo_id")])},
    "/api/v1/audit": {"get": op(
        "The clinic's audit trail, newest first (clinic admins)", "200", array_of("AuditEntry"), "403", "422",
        params=[query("action", {"type": "string", "maxLength": 40},
                      "Exactly this action (`photo.delete`), or every action starting with it when it ends "
                      "with a dot (`photo.`)"),
                query("patient_id", ID, "Only entries about this patient's record"),
                query("since", {"type": "string", "description": "2026-01-31 or 2026-01-31T09:30:00Z"},
                      "Only entries at or after this ISO 8601 date (midnight UTC) or date-time (UTC when it "
                      "has no offset)"),
                query("page", INT, "1-based page"), query("per_page", INT, "1–100")],
        description=(
            "Who did what, when, from where: sign-ins, views and exports of records, refusals, and every "
            "creation, change and deletion of the record (written in the transaction of the change). Only "
            "entries of your own clinic. The total count is in the X-Total-Count header. 403 for any role but "
            "clinic admin; 422 naming the field for a bad `since` or `patient_id`.\n\n"
            "Changes to the record are recorded as: " + ", ".join(f"`{a}`" for a in change_actions()) + ". "
            "Access events: `auth.sign_in`, `auth.sign_out`, `auth.token`, `auth.reauthenticate`, "
            "`auth.two_factor_on`, `auth.two_factor_off`, `auth.two_factor_reset`, `auth.recovery_codes`, "
            "`photo.view`, `photos.list`, `timeline.view`, `compare.view`, `review.view`, `export`, "
            "`access.denied`."))},
}



def build_spec() -> Schema:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Progress-photo and outcome tracker API", "version": "1.0.0",
            "description": "JSON API for capture apps and integrations. Authenticate with "
                           "`Authorization: Bearer <token>` from POST /api/v1/tokens. Errors are "
                           "`{\"error\": {\"code\", \"message\", \"fields\"?}}`.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": PATHS,
    }
