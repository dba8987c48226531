"""Typed SQLAlchemy 2.0 models, one module per aggregate; importing this package registers them all."""

from tracker.models.base import Base, utcnow
from tracker.models.clinic import Clinic
from tracker.models.photo import VARIANTS, AlignmentStatus, Photo, PhotoStatus, ViewBaseline
from tracker.models.session import Anaesthesia, InjectionDepth, SessionArea, TreatmentSession
from tracker.models.consent import (
    AuditEvent, Consent, ConsentScope, ConsentText, ConsultationRequest, GalleryItem, GalleryStatus, RequestStatus,
)
from tracker.models.outcome import (
    AdverseEvent, Assessment, BlindedRating, CustomScale, Decision, EventKind, FollowUpDecision, PhotoMetric, Rater,
    Roi, Severity,
)
from tracker.models.patient import CourseArea, Patient, TreatmentArea, TreatmentCourse
from tracker.models.user import ApiToken, Invitation, LoginSession, PasswordReset, RecoveryCode, Role, User
from tracker.models.vocab import BodyRegion, Modality, View

__all__ = [
    "ApiToken", "Base", "BodyRegion", "Clinic", "CourseArea", "Invitation", "LoginSession", "Modality",
    "AlignmentStatus", "PasswordReset", "Patient", "Photo", "PhotoStatus", "VARIANTS", "ViewBaseline",
    "TreatmentSession", "SessionArea", "InjectionDepth", "Anaesthesia", "AdverseEvent", "Assessment",
    "BlindedRating", "CustomScale", "Decision", "EventKind", "FollowUpDecision", "PhotoMetric", "Rater", "Roi",
    "Severity", "AuditEvent", "Consent", "ConsentScope", "ConsentText", "ConsultationRequest", "GalleryItem",
    "GalleryStatus", "RecoveryCode", "RequestStatus", "Role", "TreatmentArea", "TreatmentCourse", "User", "View", "utcnow",
]
