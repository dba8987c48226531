"""A clinic: the tenant. Every patient and staff member belongs to exactly one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models.base import CHANGED, Audited, Base, utcnow


DEFAULT_GUIDANCE = (
    "After an injection session, swelling, redness and bruising at the treated and harvest sites are common. "
    "They usually peak in the first 2–3 days and settle within 1–2 weeks. Tenderness for a few days is expected. "
    "Contact the clinic at once for increasing pain, warmth, spreading redness, pus, fever, or anything that "
    "worries you."
)


class Clinic(Base):
    __tablename__ = "clinics"
    __audited__ = Audited("clinic", ignore=frozenset({"created_at"}),
                          redact=frozenset({"description", "side_effect_guidance"}),
                          when=(("require_staff_two_factor", CHANGED, "two_factor_policy"),))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # Public, URL-safe name of the clinic page (/c/<slug>); never an internal id.
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What patients are told to expect after treatment (shown beside their side-effect diary).
    side_effect_guidance: Mapped[str] = mapped_column(sa.Text, default=DEFAULT_GUIDANCE)
    # Response window after a session (days) and minimal important differences per scale:
    # {"window": [28, 84], "mid": {"davey": {"points": 1}, "delta_e": {"fraction": 0.1}}}
    outcome_settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Staff must sign in with an authenticator app too; those without one set it up before anything else.
    require_staff_two_factor: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<Clinic {self.id} {self.slug}>"
