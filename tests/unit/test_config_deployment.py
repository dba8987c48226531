"""Deployment settings of issue 11: the public address, trusted hosts, proxy hops, the rate-limit store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.config import ConfigError, load_config
from tracker.request_guard import trusted_hosts

PRODUCTION = {"TRACKER_ENV": "production", "SECRET_KEY": "s" * 40, "TRACKER_BASE_URL": "https://tracker.clinic.example",
              "TRACKER_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/1"}


def test_production_refuses_to_start_without_its_public_address(tmp_path: Path):
    with pytest.raises(ConfigError, match="TRACKER_BASE_URL is not set"):
        load_config({**PRODUCTION, "TRACKER_BASE_URL": ""}, tmp_path)
    with pytest.raises(ConfigError, match="https"):
        load_config({**PRODUCTION, "TRACKER_BASE_URL": "http://tracker.clinic.example"}, tmp_path)
    assert load_config(PRODUCTION, tmp_path)["TRACKER_BASE_URL"] == "https://tracker.clinic.example"


@pytest.mark.parametrize("url", ["tracker.clinic.example", "ftp://x.example", "https://", "https://x.example/?a=1",
                                 "https://x.example/#top", "https://user:pw@x.example", "https://x.example:99999"])
def test_a_malformed_public_address_is_refused(tmp_path: Path, url: str):
    with pytest.raises(ConfigError, match="TRACKER_BASE_URL"):
        load_config({"TRACKER_BASE_URL": url}, tmp_path)


def test_the_public_address_is_normalised_and_the_old_name_still_works(tmp_path: Path):
    assert load_config({"TRACKER_BASE_URL": "https://Clinic.Example:8443/tracker/"}, tmp_path)[
        "TRACKER_BASE_URL"] == "https://clinic.example:8443/tracker"
    assert load_config({"TRACKER_PUBLIC_URL": "https://old.example"}, tmp_path)["TRACKER_BASE_URL"] == \
        "https://old.example"
    assert load_config({"TRACKER_PUBLIC_URL": "https://old.example", "TRACKER_BASE_URL": "https://new.example"},
                       tmp_path)["TRACKER_BASE_URL"] == "https://new.example"


def test_development_links_point_at_what_make_run_serves(tmp_path: Path):
    assert load_config({}, tmp_path)["TRACKER_BASE_URL"] == "http://127.0.0.1:5000"
    assert load_config({"PORT": "8000"}, tmp_path)["TRACKER_BASE_URL"] == "http://127.0.0.1:8000"


def test_trusted_hosts_come_from_the_public_address(tmp_path: Path):
    development = load_config({"TRACKER_TRUSTED_HOSTS": " Alias.Example , ,other.example"}, tmp_path)
    assert trusted_hosts(development) == ["127.0.0.1", "alias.example", "other.example", "localhost"]
    production = load_config({**PRODUCTION, "TRACKER_TRUSTED_HOSTS": "www.clinic.example"}, tmp_path)
    assert trusted_hosts(production) == ["tracker.clinic.example", "www.clinic.example"]


def test_proxy_hops_default_to_none_and_are_bounded(tmp_path: Path):
    assert load_config({}, tmp_path)["TRACKER_PROXY_HOPS"] == 0
    assert load_config({"TRACKER_PROXY_HOPS": "2"}, tmp_path)["TRACKER_PROXY_HOPS"] == 2
    for bad in ("-1", "9", "one"):
        with pytest.raises(ConfigError, match="TRACKER_PROXY_HOPS"):
            load_config({"TRACKER_PROXY_HOPS": bad}, tmp_path)


def test_production_names_the_store_of_its_sign_in_counters(tmp_path: Path):
    with pytest.raises(ConfigError, match="TRACKER_RATELIMIT_STORAGE_URI is not set"):
        load_config({**PRODUCTION, "TRACKER_RATELIMIT_STORAGE_URI": ""}, tmp_path)
    single = {**PRODUCTION, "TRACKER_RATELIMIT_STORAGE_URI": "memory://"}
    assert load_config(single, tmp_path)["RATELIMIT_STORAGE_URI"] == "memory://"
    assert load_config({**single, "WEB_CONCURRENCY": "1"}, tmp_path)["RATELIMIT_STORAGE_URI"] == "memory://"
    for several in ({"WEB_CONCURRENCY": "4"}, {"GUNICORN_CMD_ARGS": "--workers 3"}, {"GUNICORN_CMD_ARGS": "-w2"},
                    {"GUNICORN_CMD_ARGS": "--bind :8000 --workers=2"}):
        with pytest.raises(ConfigError, match="several"):
            load_config({**single, **several}, tmp_path)
    shared = {**PRODUCTION, "WEB_CONCURRENCY": "4"}
    assert load_config(shared, tmp_path)["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/1"
    assert load_config({}, tmp_path)["RATELIMIT_STORAGE_URI"] == "memory://", "development keeps the default"
