"""/healthz/: database always, Redis when configured."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def test_healthz_is_ok_with_database_and_no_redis_configured(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "not configured"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_needs_no_login(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/healthz/", follow=False)
    assert response.status_code == 200


def test_healthz_is_503_when_configured_redis_is_unreachable(client, settings):
    settings.REDIS_URL = UNREACHABLE_REDIS
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert response.json() == {"status": "fail", "database": "ok", "redis": "unreachable"}


def test_healthz_is_503_when_database_is_unreachable(client, settings, monkeypatch):
    from django.db import connection

    def refuse(*args: object, **kwargs: object) -> None:
        raise connection.Database.OperationalError("connection refused")

    settings.REDIS_URL = ""
    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert response.json() == {
        "status": "fail",
        "database": "unreachable",
        "redis": "not configured",
    }


def test_healthz_refuses_post(client):
    response = client.post("/healthz/")
    assert response.status_code == 405


@pytest.mark.redis
def test_healthz_is_ok_with_configured_redis_up(client, settings):
    assert settings.REDIS_URL.startswith("redis://")
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_is_exempt_from_the_https_redirect_other_pages_are_not(client, settings):
    settings.REDIS_URL = ""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz/").status_code == 200
    login = client.get("/portal/login/")
    assert login.status_code == 301
    assert login["Location"] == "https://testserver/portal/login/"
