"""`flask tracker …` commands: thin wrappers over services."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from tracker.errors import DomainError

tracker_cli = AppGroup("tracker", help="Progress tracker administration.")


@tracker_cli.command("create-clinic")
@click.option("--name", required=True, help="The clinic's display name.")
@click.option("--slug", required=True, help="Public address of the clinic page: /c/<slug>.")
@click.option("--admin-email", required=True)
@click.option("--admin-name", required=True)
@click.password_option("--admin-password", help="At least 8 characters (asked for when omitted).")
def create_clinic(name: str, slug: str, admin_email: str, admin_name: str, admin_password: str) -> None:
    """Create a clinic and its first clinic admin."""
    from tracker.auth.services import create_clinic as create

    try:
        admin = create(name=name, slug=slug, admin_email=admin_email, admin_name=admin_name,
                       admin_password=admin_password)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Created clinic '{name}' (/c/{slug}) with admin {admin.email}.")


@tracker_cli.command("load-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds a clinic.")
@click.option("--photos/--no-photos", default=True, help="Generate the demo photos (takes ~15 s).")
def load_demo(if_empty: bool, photos: bool) -> None:
    """Load the demo clinics (development only; refused by the production config)."""
    from tracker.demo import DemoRefused, load_demo_data

    try:
        loaded = load_demo_data(only_if_empty=if_empty, photos=photos)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("Demo clinics loaded." if loaded else "Database not empty; demo data not loaded.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(tracker_cli)


@tracker_cli.command("purge-orphans")
@click.option("--dry-run", is_flag=True, help="Only report.")
@click.option("--grace-minutes", default=60, show_default=True,
              help="Leave objects younger than this alone (uploads still in flight).")
def purge_orphans_command(dry_run: bool, grace_minutes: int) -> None:
    """Find stored objects without rows and rows without objects, images of gallery items no longer public and
    empty folders; report them and clean up."""
    from datetime import timedelta

    from tracker.photos.maintenance import purge_orphans

    report = purge_orphans(grace=timedelta(minutes=grace_minutes), dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"objects without rows: {len(report.objects_without_rows)} ({verb})")
    for key in report.objects_without_rows:
        click.echo(f"  {key}")
    click.echo(f"interrupted temp files: {len(report.temp_files)} ({verb})")
    click.echo(f"photos whose original is missing: {len(report.rows_without_original)}"
               f"{'' if dry_run else ' (marked failed; restore from backup)'} {report.rows_without_original or ''}")
    click.echo(f"photos missing derivatives: {len(report.rows_missing_derivatives)}"
               f"{'' if dry_run else ' (re-processed)'}")
    click.echo(f"gallery images of items no longer public: {len(report.gallery_images_not_live)} ({verb})")
    for key in report.gallery_images_not_live:
        click.echo(f"  {key}")
    click.echo(f"empty folders: {len(report.empty_folders)} ({verb})")
    click.echo("clean" if report.clean else ("issues found" if dry_run else "repaired"))


@tracker_cli.command("purge-deleted")
@click.option("--days", default=30, show_default=True, help="Purge photos deleted more than this many days ago.")
def purge_deleted_command(days: int) -> None:
    """Remove the bytes of photos deleted long enough ago that nobody will ask for them back."""
    from datetime import timedelta

    from tracker.photos.maintenance import purge_deleted

    click.echo(f"purged {purge_deleted(older_than=timedelta(days=days))} deleted photo(s)")


@tracker_cli.command("realign")
@click.option("--area", "area_id", type=int, default=None, help="Only this area (default: every area).")
def realign_command(area_id: int | None) -> None:
    """Align every processed photo to its view's baseline again (after an upgrade of the method, say)."""
    import sqlalchemy as sa

    from tracker.extensions import db
    from tracker.models import Photo, PhotoStatus
    from tracker.photos.alignment import realign_group

    stmt = sa.select(Photo.area_id, Photo.view).where(Photo.deleted_at.is_(None), Photo.status == PhotoStatus.READY)
    if area_id is not None:
        stmt = stmt.where(Photo.area_id == area_id)
    counts: dict[str, int] = {}
    for area, view in db.session.execute(stmt.distinct()).all():
        for status in realign_group(area, view.value if view else "").values():
            counts[status.value] = counts.get(status.value, 0) + 1
    click.echo(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no photos")


@tracker_cli.command("requeue-stuck")
@click.option("--older-than-minutes", default=15, show_default=True,
              help="Photos still 'processing' after this long were lost by a dead worker.")
def requeue_stuck_command(older_than_minutes: int) -> None:
    """Finish what a dead process left: photos still processing, and alignments left unsettled (idempotent)."""
    from datetime import timedelta

    from tracker.photos.maintenance import requeue_stuck

    count = requeue_stuck(older_than=timedelta(minutes=older_than_minutes))
    click.echo(f"requeued {count} photo(s)")
