"""A third-party client drives the real API: schemathesis (nobody here wrote it) reads our own OpenAPI document
from a live server and sends what the document allows and what it does not, for every operation and role,
following the links between operations (stateful phase).

Each run must report no server error, no status code the document does not list, no response that breaks its
schema, no undocumented content type or header, no invalid input accepted, no operation that ignores its
authentication, and no resource that outlives its deletion or goes missing after its creation. When it fails, the
output below names the operation and prints a `curl` line that reproduces it.

The server is a real HTTP server (werkzeug, threaded) over the demo clinics, on SQLite or PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess  # nosec B404 - the schemathesis CLI, with a fixed argument list
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
import pytest

pytestmark = pytest.mark.slow

ST = str(Path(sys.executable).parent / "st")
CONFIG = Path(__file__).with_name("schemathesis.toml")
CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
    "response_schema_conformance", "negative_data_rejection", "unsupported_method", "use_after_free",
    "ensure_resource_availability", "ignored_auth",
])
# Schema-valid requests may still be refused for reasons a schema cannot state (another patient's area, a date
# before the course started, a photo that is not aligned yet): positive_data_acceptance is therefore not run.
ROLES = {
    "patient": ("patient@example.com", "demo-patient-pass"),
    "practitioner": ("practitioner@example.com", "demo-practitioner-pass"),
    "clinic_admin": ("admin@example.com", "demo-admin-pass"),
}
MAX_EXAMPLES = int(os.environ.get("TRACKER_CONTRACT_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory, pg_schema_ready: bool) -> Iterator[tuple[str, dict[str, str]]]:
    """The live server and a bearer token per role (plus one to revoke), all taken before any run: the runs send
    wrong passwords to POST /tokens, and the sign-in throttle then rightly refuses this address for a while."""
    from tests.conftest import make_app, serving, truncate_all
    from tracker.demo import load_demo_data
    from tracker.extensions import db

    app = make_app(tmp_path_factory.mktemp("contract"), pg_schema_ready, SERVER_NAME=None,
                   TRACKER_UPLOAD_LIMIT="100000 per minute")
    with app.app_context():
        load_demo_data(only_if_empty=False, photos=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # thousands of request lines otherwise
    with serving(app) as url:
        tokens = {role: token(url, *credentials) for role, credentials in ROLES.items()}
        tokens["to_revoke"] = token(url, *ROLES["patient"])
        yield url, tokens
    with app.app_context():
        db.session.remove()
        if pg_schema_ready:
            truncate_all(app)
        db.engine.dispose()


def token(base: str, email: str, password: str) -> str:
    request = urllib.request.Request(f"{base}/api/v1/tokens", data=json.dumps(
        {"email": email, "password": password}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310 - our own live server
        return str(json.load(response)["token"])


def schemathesis(base: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [ST, "--config-file", str(CONFIG), "run", f"{base}/api/v1/openapi.json", "--checks", CHECKS,
               "--workers", "2", "--max-examples", str(MAX_EXAMPLES), "--seed", "20261207",
               "--phases", "examples,coverage,fuzzing,stateful", "--request-timeout", "30", *args]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    return subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=900,
                          check=False)  # nosec B603


def _verdict(result: subprocess.CompletedProcess[str]) -> str:
    out = result.stdout
    start = out.find("=== FAILURES ===")
    return (out[start:] if start >= 0 else out[-6000:]) + result.stderr[-2000:]


@pytest.mark.parametrize("role", sorted(ROLES))
def test_schemathesis_finds_nothing_for(api_server: tuple[str, dict[str, str]], tmp_path: Path, role: str) -> None:
    base, tokens = api_server
    # Revoking the token would end the run's authentication: that operation has a run of its own below.
    result = schemathesis(base, tmp_path, "--header", f"Authorization: Bearer {tokens[role]}",
                          "--exclude-path", "/api/v1/tokens/current")
    assert result.returncode == 0, _verdict(result)


def test_schemathesis_finds_nothing_without_a_token(api_server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    result = schemathesis(api_server[0], tmp_path)
    assert result.returncode == 0, _verdict(result)


def test_schemathesis_finds_nothing_in_token_revocation(api_server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    base, tokens = api_server
    result = schemathesis(base, tmp_path, "--header", f"Authorization: Bearer {tokens['to_revoke']}",
                          "--include-path", "/api/v1/tokens/current")
    assert result.returncode == 0, _verdict(result)
