"""Login throttling (django-axes): 30 wrong passwords in a row for one account from one address
lock that account from that address, with a clear message, until the cool-off has passed.

The portal login (store owners, inspectors and suppliers: suppliers sign in there too) and the
admin login are throttled the same way.
"""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PORTAL_LOGIN = "/portal/login/"
ADMIN_LOGIN = "/admin/login/"
ADDRESS = "203.0.113.5"
OTHER_ADDRESS = "198.51.100.7"
LIMIT = 30


def _locked_text() -> str:
    minutes = int(django_settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"该账号在您当前的网络地址连续输错密码 {LIMIT} 次，已被暂时锁定。请在 {minutes} 分钟后再试"
    )


@pytest.fixture(autouse=True)
def _fast_hashing(settings: object) -> None:
    # Sixty password checks per test: MD5 keeps them quick; the throttle does not care.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _post(client, url: str, username: str, password: str, address: str = ADDRESS, **extra):
    return client.post(
        url, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def _fail(client, url: str, username: str, times: int, address: str = ADDRESS, **extra):
    """`times` wrong passwords; every one is an ordinary failed login (200, form error)."""
    for attempt in range(times):
        response = _post(client, url, username, f"wrong-{attempt}", address, **extra)
        assert response.status_code == 200, attempt
        assert response.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def _assert_locked(response) -> None:
    assert response.status_code == 429
    assert _locked_text() in response.content.decode()


def test_the_configured_limit_is_30_by_username_and_address_with_a_cool_off():
    assert django_settings.AXES_FAILURE_LIMIT == LIMIT
    assert django_settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert django_settings.AXES_COOLOFF_TIME == dt.timedelta(minutes=15)


@pytest.mark.parametrize("who", ["owner", "supplier_user"])
def test_30_wrong_passwords_lock_the_account_and_the_right_one_is_refused(client, request, who):
    user = request.getfixturevalue(who)
    _fail(client, PORTAL_LOGIN, user.username, LIMIT - 1)

    _assert_locked(_post(client, PORTAL_LOGIN, user.username, "wrong-30"))

    response = _post(client, PORTAL_LOGIN, user.username, PASSWORD)
    _assert_locked(response)
    assert "_auth_user_id" not in client.session
    attempt = AccessAttempt.objects.get(username=user.username, ip_address=ADDRESS)
    assert attempt.failures_since_start == LIMIT  # tries during the lock are not counted


def test_the_right_password_works_again_after_the_cool_off(client, owner):
    _fail(client, PORTAL_LOGIN, owner.username, LIMIT - 1)
    _assert_locked(_post(client, PORTAL_LOGIN, owner.username, "wrong-30"))
    almost = django_settings.AXES_COOLOFF_TIME - django_settings.AXES_COOLOFF_TIME / 10
    attempt = AccessAttempt.objects.get(username=owner.username)
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=attempt.attempt_time - almost)
    _assert_locked(_post(client, PORTAL_LOGIN, owner.username, PASSWORD))

    AccessAttempt.objects.filter(pk=attempt.pk).update(
        attempt_time=attempt.attempt_time - django_settings.AXES_COOLOFF_TIME
    )
    response = _post(client, PORTAL_LOGIN, owner.username, PASSWORD)
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == owner.pk


def test_29_wrong_then_the_right_password_logs_in_and_resets_the_count(client, owner):
    _fail(client, PORTAL_LOGIN, owner.username, LIMIT - 1)
    assert AccessAttempt.objects.get(username=owner.username).failures_since_start == LIMIT - 1

    response = _post(client, PORTAL_LOGIN, owner.username, PASSWORD)
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == owner.pk
    assert not AccessAttempt.objects.filter(username=owner.username).exists()

    client.logout()
    _fail(client, PORTAL_LOGIN, owner.username, LIMIT - 1)  # a fresh count: 29 is not a lock
    assert _post(client, PORTAL_LOGIN, owner.username, PASSWORD).status_code == 302


def test_another_address_is_not_locked_by_the_combination_rule(client, owner, other_owner):
    _fail(client, PORTAL_LOGIN, owner.username, LIMIT - 1)
    _assert_locked(_post(client, PORTAL_LOGIN, owner.username, "wrong-30"))

    # Another account from the locked address still signs in...
    response = _post(client, PORTAL_LOGIN, other_owner.username, PASSWORD)
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == other_owner.pk
    client.logout()
    # ...and so does the locked account from another address.
    response = _post(client, PORTAL_LOGIN, owner.username, PASSWORD, OTHER_ADDRESS)
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == owner.pk


def test_admin_login_is_throttled_too(client, hq_user):
    _fail(client, ADMIN_LOGIN, hq_user.username, LIMIT - 1)
    _assert_locked(_post(client, ADMIN_LOGIN, hq_user.username, "wrong-30"))

    response = _post(client, ADMIN_LOGIN, hq_user.username, PASSWORD)
    _assert_locked(response)
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("admin:index")).status_code == 302


def test_a_forged_forwarded_for_header_does_not_dodge_the_lock_without_trusted_proxies(
    client, owner
):
    for attempt in range(LIMIT - 1):
        forged = f"192.0.2.{attempt + 1}"
        response = _post(client, PORTAL_LOGIN, owner.username, "wrong", HTTP_X_FORWARDED_FOR=forged)
        assert response.status_code == 200
    response = _post(
        client, PORTAL_LOGIN, owner.username, "wrong", HTTP_X_FORWARDED_FOR="192.0.2.200"
    )
    _assert_locked(response)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ADDRESS}


def test_behind_a_trusted_proxy_the_client_address_comes_from_forwarded_for(
    client, owner, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    # The proxy appends the address it received from; anything left of it is the client's say.
    spoofed_then_real = f"192.0.2.9, {ADDRESS}"
    _fail(
        client,
        PORTAL_LOGIN,
        owner.username,
        LIMIT - 1,
        proxy,
        HTTP_X_FORWARDED_FOR=spoofed_then_real,
    )
    _assert_locked(
        _post(client, PORTAL_LOGIN, owner.username, "x", proxy, HTTP_X_FORWARDED_FOR=ADDRESS)
    )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ADDRESS}

    response = _post(
        client, PORTAL_LOGIN, owner.username, PASSWORD, proxy, HTTP_X_FORWARDED_FOR=OTHER_ADDRESS
    )
    assert response.status_code == 302
