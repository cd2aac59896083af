"""`seed_demo` prints the login URLs on the address `bin/run` serves (HOST and PORT)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from apps.ops.management.commands.seed_demo import default_base_url


def test_default_base_url_follows_bin_runs_host_and_port(monkeypatch):
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    assert default_base_url() == "http://127.0.0.1:8000"
    monkeypatch.setenv("PORT", "8123")
    assert default_base_url() == "http://127.0.0.1:8123"
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 (what a user may export for bin/run)
    assert default_base_url() == "http://0.0.0.0:8123"


@pytest.mark.django_db
def test_seed_demo_prints_the_logins_on_the_port_the_server_uses(monkeypatch):
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.setenv("PORT", "8123")
    out = StringIO()
    call_command(
        "seed_demo",
        *("--stores", "1", "--members", "20", "--days", "2", "--seed", "3"),
        *("--end-day", dt.date(2026, 7, 31).isoformat()),
        stdout=out,
    )
    printed = out.getvalue()
    assert "http://127.0.0.1:8123/admin/" in printed
    assert "http://127.0.0.1:8123/portal/" in printed
    assert ":8000/" not in printed
