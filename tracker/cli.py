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
def load_demo(if_empty: bool) -> None:
    """Load the demo clinics (development only; refused by the production config)."""
    from tracker.demo import DemoRefused, load_demo_data

    try:
        loaded = load_demo_data(only_if_empty=if_empty)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("Demo clinics loaded." if loaded else "Database not empty; demo data not loaded.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(tracker_cli)
