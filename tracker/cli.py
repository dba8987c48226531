"""`flask tracker …` commands: thin wrappers over services."""

from __future__ import annotations

import json
from pathlib import Path

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
@click.option("--if-empty", is_flag=True,
              help="Do nothing when the database already holds data (a demo load that stopped part way is finished).")
@click.option("--photos/--no-photos", default=True, help="Generate the demo photos (takes ~15 s).")
def load_demo(if_empty: bool, photos: bool) -> None:
    """Load the demo clinics (development only; refused by the production config)."""
    from tracker.demo import DemoRefused, load_demo_data

    try:
        outcome = load_demo_data(only_if_empty=if_empty, photos=photos)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo({"loaded": "Demo clinics loaded.",
                "finished": "Demo clinics loaded (finishing a load that had stopped part way).",
                "skipped": "Database not empty; demo data not loaded."}[outcome])


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


# --- backups (tracker/backup.py) -----------------------------------------------------------------------

@tracker_cli.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def backup_command(directory: Path) -> None:
    """Back up the database and every stored photo into DIRECTORY (new or empty).

    The database is copied from one consistent snapshot (SQLite's backup API, or pg_dump), then every stored
    object, with a manifest of SHA-256s. Originals that are missing or altered are reported (exit code 1) and
    backed up as found.

    THE BACKUP IS PLAINTEXT HEALTH DATA. It is written 0700/0600, but it must be stored encrypted (an encrypted
    volume, or encrypt the directory before it leaves this machine).
    """
    from tracker.backup import BackupError, backup

    try:
        report = backup(directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # the backup's own disk (full, read-only…): the directory has no manifest, so it is
        raise click.ClickException(f"Could not write the backup: {exc}") from None  # never taken for a backup
    click.echo(f"Backed up {report.photos} photo record(s) and {report.objects} object(s) "
               f"({_megabytes(report.size)}) to {report.directory}.")
    for warning in report.warnings:
        click.echo(f"warning: {warning} (a derivative: reprocessing or `flask tracker realign` makes it again)")
    for key in report.unreadable:
        click.echo(f"warning: {key} could not be read from storage and is not in the backup")
    click.echo("The backup is plaintext health data: store it encrypted.")
    if report.problems:
        for problem in report.problems:
            click.echo(f"PROBLEM: {problem}", err=True)
        raise click.ClickException(f"{len(report.problems)} original(s) missing or not matching their SHA-256 "
                                   "(backed up as found).")


@tracker_cli.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore_command(directory: Path) -> None:
    """Restore a backup from DIRECTORY into this deployment, which must be empty (no clinic, no stored object).

    Every file is checked against the manifest before anything is written; then the objects are restored through
    the configured storage, then the database (PostgreSQL: pg_restore in one transaction), and every photo is
    checked against its SHA-256. Stop the app (web and workers) first; run `flask db upgrade` afterwards if
    this code is newer than the backup.
    """
    from tracker.backup import BackupError, restore

    try:
        report = restore(directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored {report.photos} photo record(s) and {report.objects} object(s) "
               f"({_megabytes(report.size)}) from {directory}.")
    if report.problems:
        for problem in report.problems:
            click.echo(f"PROBLEM: {problem}", err=True)
        raise click.ClickException(f"{len(report.problems)} stored object(s) do not match their rows.")
    click.echo("Every stored object matches the SHA-256 its row recorded.")


@tracker_cli.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def verify_command(as_json: bool) -> None:
    """Check every stored object a photo row references against its recorded SHA-256 (exit code 1 on problems)."""
    from tracker.backup import verify_store

    report = verify_store()
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=1))
    else:
        for problem in report.problems:
            click.echo(f"PROBLEM: {problem}")
        click.echo(f"Checked {report.objects} object(s) of {report.photos} photo(s): "
                   + ("all match." if report.ok else f"{len(report.problems)} problem(s); restore them from a backup."))
    if not report.ok:
        click.get_current_context().exit(1)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
