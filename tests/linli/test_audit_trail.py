"""The audit trail of HQ edits (django-auditlog): who changed what, when, before and after.

Each app registers its models in its AppConfig.ready(); `linli.audit.AuditActorMiddleware`
records the signed-in user and address; members' and suppliers' phones are stored masked.
"""

from __future__ import annotations

import json

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.customers.services.erasure import member_erase
from linli.roles import HQ_OPERATIONS
from tests.factories import MemberFactory, StoreFactory, SupplierFactory, UserFactory

pytestmark = pytest.mark.django_db

AUDITED = {
    "stores.Store",
    "catalog.Product",
    "catalog.Category",
    "catalog.DecisionSettings",
    "procurement.Supplier",
    "procurement.SupplierProduct",
    "customers.Member",
    "devices.DeviceKindThreshold",
    "campaigns.Promotion",
    "campaigns.ScenarioTemplate",
    "campaigns.Campaign",
}
PHONE = "+8613812341234"
NEW_PHONE = "+8613955556666"
LOG_CHANGELIST = "/admin/auditlog/logentry/"


def _entry_text(entry: LogEntry) -> str:
    """Every column of a log entry that could hold a value, as one string."""
    return json.dumps(
        [
            entry.object_repr,
            entry.changes,
            entry.changes_text,
            entry.serialized_data,
            entry.additional_data,
        ],
        ensure_ascii=False,
        default=str,
    )


@pytest.fixture
def operations_staff(roles: None) -> object:
    """HQ operations as it is in production: staff, not superuser, permissions from the group."""
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=HQ_OPERATIONS))
    return user


def test_the_hq_master_data_models_are_audited():
    audited = {model._meta.label for model in apps.get_models() if auditlog.contains(model)}
    assert audited == AUDITED


def test_an_admin_edit_of_a_store_records_actor_address_and_before_after(client, operations_staff):
    store = StoreFactory(name="和平里店")
    LogEntry.objects.all().delete()  # the factory's own "create" entry is not under test
    client.force_login(operations_staff)
    url = reverse("admin:stores_store_change", args=[store.pk])
    form = client.get(url)
    assert form.status_code == 200
    data = {
        "code": store.code,
        "name": "和平里旗舰店",
        "region": store.region_id,
        "address": store.address,
        "status": store.status,
        "latitude": "",
        "longitude": "",
        "opened_on": "",
    }
    for inline in form.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data |= {
            f"{prefix}-TOTAL_FORMS": "0",
            f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
        }

    response = client.post(url, data, REMOTE_ADDR="203.0.113.5")

    assert response.status_code == 302, response.context["adminform"].form.errors
    store.refresh_from_db()
    assert store.name == "和平里旗舰店"
    entry = LogEntry.objects.get()
    assert entry.action == LogEntry.Action.UPDATE
    assert entry.actor == operations_staff
    assert entry.remote_addr == "203.0.113.5"
    assert entry.content_type.model_class()._meta.label == "stores.Store"
    assert entry.object_pk == str(store.pk)
    assert entry.changes_dict == {"name": ["和平里店", "和平里旗舰店"]}


def test_a_member_edit_never_stores_an_unmasked_phone():
    member = MemberFactory(phone=PHONE, name="王芳")
    member.phone = NEW_PHONE
    member.save()

    created, updated = LogEntry.objects.get_for_object(member).order_by("pk")
    assert created.action == LogEntry.Action.CREATE
    assert created.changes_dict["phone"] == ["None", "138****1234"]
    assert updated.changes_dict == {"phone": ["138****1234", "139****6666"]}
    for entry in (created, updated):
        text = _entry_text(entry)
        for digits in ("13812341234", "13955556666", "812341234", "955556666"):
            assert digits not in text


def test_a_supplier_contact_phone_is_stored_masked():
    supplier = SupplierFactory(phone=PHONE)
    entry = LogEntry.objects.get_for_object(supplier).get()
    assert entry.changes_dict["phone"] == ["None", "138****1234"]
    assert "13812341234" not in _entry_text(entry)


def test_erasing_a_member_leaves_no_name_or_phone_in_its_audit_trail():
    member = MemberFactory(phone=PHONE, name="王芳")
    member.name = "王芳芳"
    member.save()

    member_erase(member=member, by=None, requested_via="phone call")

    entries = list(LogEntry.objects.get_for_object(member))
    assert len(entries) == 3  # created, renamed, erased: who and when stay
    for entry in entries:
        text = _entry_text(entry)
        assert "王芳" not in text
        assert "1234" not in text
        assert entry.object_repr == member.member_no


def test_hq_operations_read_the_audit_trail_in_the_admin(client, operations_staff):
    store = StoreFactory(name="和平里店")
    client.force_login(operations_staff)

    response = client.get(LOG_CHANGELIST)

    assert response.status_code == 200
    assert "和平里店" in response.content.decode()
    entry = LogEntry.objects.get_for_object(store).get()
    detail = client.get(reverse("admin:auditlog_logentry_change", args=[entry.pk]))
    assert detail.status_code == 200
    assert (
        client.post(
            reverse("admin:auditlog_logentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_a_store_owner_is_refused_the_audit_trail(client, owner):
    store = StoreFactory(name="和平里店")
    assert LogEntry.objects.get_for_object(store).count() == 1  # there is something to refuse
    client.force_login(owner)

    response = client.get(LOG_CHANGELIST)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={LOG_CHANGELIST}"


def test_hq_staff_outside_operations_are_refused_the_audit_trail(client, roles):
    store = StoreFactory(name="和平里店")
    assert LogEntry.objects.get_for_object(store).count() == 1
    inspection_staff = UserFactory(is_staff=True)
    inspection_staff.groups.add(Group.objects.get(name="HQ inspection"))
    client.force_login(inspection_staff)

    response = client.get(LOG_CHANGELIST)

    assert response.status_code == 403
    assert "和平里店" not in response.content.decode()
