"""Store portal pages: login, the owner's store page, and refusals for everyone else."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from apps.stores.models import StoreStaff
from tests.factories import PASSWORD, StoreFactory

pytestmark = pytest.mark.django_db

LOGIN = "/portal/login/"


def _store_url(store: object) -> str:
    return reverse("portal:store", args=[store.pk])


def test_login_page_renders_in_simplified_chinese_by_default(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<meta name="viewport"' in html


def test_owner_logs_in_and_lands_on_own_store_page(client, owner, store, other_store):
    response = client.post(LOGIN, {"username": owner.username, "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [
        (reverse("portal:home"), 302),
        (_store_url(store), 302),
    ]
    html = response.content.decode()
    assert f"<h2>{store.name}</h2>" in html
    assert other_store.name not in html
    assert int(client.session["_auth_user_id"]) == owner.pk


def test_login_with_wrong_password_stays_on_login_page(client, owner):
    response = client.post(LOGIN, {"username": owner.username, "password": "wrong-password"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert b"errorlist" in response.content


def test_login_ignores_an_offsite_next(client, owner, store):
    response = client.post(
        LOGIN,
        {"username": owner.username, "password": PASSWORD, "next": "https://evil.example.com/"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_logged_in_user_opening_login_is_sent_home(client, owner):
    client.force_login(owner)
    response = client.get(LOGIN)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_logout_is_a_post_and_ends_the_session(client, owner):
    client.force_login(owner)
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session


def test_owner_is_refused_another_stores_page(client, owner, other_store):
    client.force_login(owner)
    response = client.get(_store_url(other_store))
    assert response.status_code == 403
    assert other_store.name not in response.content.decode()


def test_owner_is_refused_an_unknown_store_id_like_a_foreign_one(client, owner, other_store):
    client.force_login(owner)
    assert client.get(reverse("portal:store", args=[other_store.pk + 1000])).status_code == 403


def test_supplier_user_is_refused_a_store_page(client, supplier_user, store):
    client.force_login(supplier_user)
    response = client.get(_store_url(store))
    assert response.status_code == 403
    assert store.name not in response.content.decode()


def test_anonymous_is_sent_to_login_from_a_store_page(client, store):
    url = _store_url(store)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={url}"


def test_anonymous_is_sent_to_login_from_home_and_root(client):
    home = client.get("/portal/")
    assert home.status_code == 302
    assert home["Location"] == f"{LOGIN}?next=/portal/"
    root = client.get("/")
    assert root.status_code == 302
    assert root["Location"] == "/portal/"


def test_inspector_sees_assigned_store_only(client, inspector, store, other_store):
    client.force_login(inspector)
    home = client.get("/portal/")
    assert home.status_code == 302
    assert home["Location"] == _store_url(store)
    page = client.get(_store_url(store))
    assert page.status_code == 200
    assert f"<h2>{store.name}</h2>" in page.content.decode()
    assert client.get(_store_url(other_store)).status_code == 403


def test_inspector_of_several_stores_gets_a_list_of_exactly_those(client, inspector, store):
    second = StoreFactory()
    unassigned = StoreFactory()
    StoreStaff.objects.create(user=inspector, store=second, role=StoreStaff.Role.INSPECTOR)
    client.force_login(inspector)
    response = client.get("/portal/")
    assert response.status_code == 200
    html = response.content.decode()
    assert _store_url(store) in html
    assert _store_url(second) in html
    assert _store_url(unassigned) not in html
    assert client.get(_store_url(unassigned)).status_code == 403


def test_user_without_any_store_sees_an_empty_home_with_a_hint(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get("/portal/")
    assert response.status_code == 200
    with translation.override("zh-hans"):
        hint = translation.gettext(
            "No store is assigned to your account yet. Ask HQ to add you as the store's owner "
            "or inspector."
        )
    assert "门店" in hint
    assert hint in response.content.decode()


def test_hq_sees_every_store_on_portal_home(client, hq_user, store, other_store):
    client.force_login(hq_user)
    response = client.get("/portal/")
    assert response.status_code == 200
    html = response.content.decode()
    assert _store_url(store) in html
    assert _store_url(other_store) in html
    assert reverse("admin:index") in html


def test_store_page_masks_member_phones_and_shows_back_link(client, owner, store):
    from decimal import Decimal

    from apps.stores.models import Order
    from tests.factories import MemberFactory

    member = MemberFactory(phone="+8613912345678", name="李阿姨")
    Order.objects.create(
        store=store,
        member=member,
        channel=Order.Channel.GROUP_BUY,
        status=Order.Status.PAID,
        idempotency_key="portal-1",
        total=Decimal("25.00"),
    )
    client.force_login(owner)
    html = client.get(_store_url(store)).content.decode()
    assert "李阿姨" in html
    assert "139****5678" in html
    assert "13912345678" not in html
    assert f'href="{reverse("portal:home")}"' in html


def test_supplier_user_is_sent_from_portal_home_to_supplier_home(client, supplier_user):
    client.force_login(supplier_user)
    response = client.get("/portal/")
    assert response.status_code == 302
    assert response["Location"] == reverse("supplier:home")


def test_language_switch_to_english_and_back(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": LOGIN})
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert client.cookies["django_language"].value == "en"
    assert '<html lang="en">' in client.get(LOGIN).content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": LOGIN})
    assert '<html lang="zh-hans">' in client.get(LOGIN).content.decode()


def test_accept_language_english_is_honoured(client):
    response = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="en">' in response.content.decode()
