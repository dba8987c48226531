"""Timeline building: order (same-day photo before session), days since baseline and session, constant queries."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from tests.factories import make_photo_row, make_session
from tracker.extensions import db
from tracker.models import TreatmentArea, User
from tracker.timeline.services import build_timeline


def _timeline(world, key="prac_x"):
    actor = db.session.get(User, world[key].user_id)
    return build_timeline(actor, db.session.get(TreatmentArea, world["a"].area_id))


def _describe(events):
    return [(e.kind, e.day.isoformat()) for e in events]


def test_events_interleave_with_same_day_photo_first(app, world):
    with app.app_context():
        a = world["a"]
        make_photo_row(a.area_id, date(2026, 1, 10))                   # baseline
        make_session(a.course_id, 1, date(2026, 1, 10))                # same day: after the photo
        make_photo_row(a.area_id, date(2026, 2, 21))
        make_session(a.course_id, 2, date(2026, 2, 21))
        make_photo_row(a.area_id, date(2026, 4, 4), view="close_up")
        make_session(a.course_id, 3, date(2026, 5, 1))                 # after the last photo
        db.session.commit()
        timeline = _timeline(world)
        assert _describe(timeline.events) == [
            ("photo", "2026-01-10"), ("session", "2026-01-10"), ("photo", "2026-02-21"), ("session", "2026-02-21"),
            ("photo", "2026-04-04"), ("session", "2026-05-01")]
        photos = [e for e in timeline.events if e.kind == "photo"]
        assert photos[0].is_baseline and photos[0].days_since_baseline == 0 and photos[0].days_since_session is None
        assert (photos[1].days_since_baseline, photos[1].days_since_session, photos[1].after_session) == (42, 42, 1)
        assert photos[2].is_baseline, "the first close-up is its own view's baseline"
        assert (photos[2].days_since_session, photos[2].after_session) == (42, 2)
        assert [g.view_key for g in timeline.groups] == ["front", "close_up"]
        front = timeline.groups[0]
        assert _describe(front.events) == [
            ("photo", "2026-01-10"), ("session", "2026-01-10"), ("photo", "2026-02-21"), ("session", "2026-02-21"),
            ("session", "2026-05-01")]


def test_irregular_dates_and_no_sessions(app, world):
    with app.app_context():
        a = world["a"]
        for day in (date(2026, 3, 5), date(2026, 1, 1), date(2026, 3, 5), date(2025, 12, 31)):
            make_photo_row(a.area_id, day)
        db.session.commit()
        timeline = _timeline(world)
        days = [e.day.isoformat() for e in timeline.events]
        assert days == sorted(days) and len(days) == 4
        assert [e.days_since_baseline for e in timeline.events] == [0, 1, 64, 64]
        assert all(e.days_since_session is None for e in timeline.events)


def test_pinned_baseline_changes_days_since_baseline(app, world):
    from tracker.models import ViewBaseline

    with app.app_context():
        a = world["a"]
        make_photo_row(a.area_id, date(2026, 1, 1))
        pinned = make_photo_row(a.area_id, date(2026, 2, 1))
        db.session.add(ViewBaseline(patient_id=a.patient_id, area_id=a.area_id, view_key="front", photo_id=pinned.id))
        db.session.commit()
        events = _timeline(world).events
        assert [e.is_baseline for e in events] == [False, True]
        assert [e.days_since_baseline for e in events] == [-31, 0]


def test_sessions_of_courses_not_treating_the_area_are_left_out(app, world):
    from tests.factories import make_area, make_course
    from tracker.models import Patient

    with app.app_context():
        patient = db.session.get(Patient, world["a"].patient_id)
        other_area = make_area(patient, "Thighs")
        other_course = make_course(patient, [other_area])
        make_session(other_course.id, 1, date(2026, 1, 5))
        make_session(world["a"].course_id, 1, date(2026, 1, 6))
        db.session.commit()
        assert [e.session.performed_on for e in _timeline(world).events] == [date(2026, 1, 6)]


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._hit)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._hit)

    def _hit(self, *args):
        self.count += 1


@pytest.mark.parametrize("via", ["page", "api"])
def test_timeline_query_count_is_constant(app, client, world, via):
    from tests.factories import api_token, login

    def add(n, start):
        with app.app_context():
            for i in range(n):
                make_photo_row(world["a"].area_id, date(2025, 1, 1).fromordinal(date(2025, 1, 1).toordinal() + start + i),
                               view=("front", "close_up")[i % 2])
            for i in range(max(1, n // 10)):
                make_session(world["a"].course_id, start // 10 + i + 1, date(2025, 1, 1).fromordinal(
                    date(2025, 1, 1).toordinal() + start + i * 10))
            db.session.commit()

    if via == "page":
        login(client, world["prac_x"].email)
        url, headers = f"/timeline/area/{world['a'].area_id}", {}
    else:
        headers = api_token(client, world["prac_x"].email)
        url = f"/api/v1/areas/{world['a'].area_id}/timeline"
    counts = []
    for n, start in ((5, 0), (195, 20)):
        add(n, start)
        with app.app_context():
            engine = db.engine
        with QueryCounter(engine) as counter:
            response = client.get(url, headers=headers)
        assert response.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
