"""Records whose state only services change cannot be deleted in the admin, by anyone: no
delete page (403), no "delete selected" bulk action. Configuration stays deletable
(docs/admin.md, "What the admin never deletes")."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.models import ScenarioTemplate
from apps.procurement.models import (
    AfterSalesCase,
    CompensationPolicy,
    PurchaseOrder,
    PurchaseOrderLine,
)
from apps.stores.models import Order
from linli.roles import HQ_PROCUREMENT
from tests.campaigns.factories import ScenarioTemplateFactory
from tests.factories import UserFactory
from tests.procurement.factories import PurchaseOrderLineFactory
from tests.procurement.factories_aftersales import AfterSalesCaseFactory, CompensationPolicyFactory

pytestmark = pytest.mark.django_db

# Every admin whose records are a ledger or have a state that services manage.
UNDELETABLE = (
    "procurement.PurchaseOrder",
    "procurement.PurchaseOrderLine",
    "procurement.PurchaseOrderAllocation",
    "procurement.PurchaseOrderSource",
    "procurement.PurchaseOrderException",
    "procurement.ConsolidationRun",
    "procurement.AfterSalesCase",
    "procurement.AfterSalesPhoto",
    "procurement.Receipt",
    "procurement.ReceiptLine",
    "procurement.ReceiptDispute",
    "procurement.DeliveryPlan",
    "procurement.DeliveryStop",
    "stores.Order",
    "stores.OrderLine",
    "stores.OrderFulfilment",
    "stores.StockLevel",
    "stores.StockMovement",
    "stores.LossBatch",
    "stores.Inspection",
    "stores.InspectionItemResult",
    "stores.InspectionPhoto",
    "stores.RectificationItem",
    "campaigns.Campaign",
    "campaigns.StoreCampaign",
    "campaigns.CampaignTarget",
    "campaigns.Promotion",
    "campaigns.Notification",
    "campaigns.Broadcast",
    "campaigns.GroupBuyOffer",
    "campaigns.GroupBuyJoin",
    "campaigns.BroadcastComment",
    "campaigns.TrackingEvent",
    "customers.Member",
    "customers.MemberIdentity",
    "customers.MemberMerge",
    "customers.MemberErasure",
    "customers.MemberProfile",
    "customers.NpsAnswer",
    "devices.DeviceAlert",
    "devices.DeviceReading",
    "devices.DeviceReadingHourly",
    "training.Enrolment",
    "training.QuizAttempt",
    "catalog.RuleRun",
    "catalog.CoPurchaseRule",
    "catalog.DecisionRun",
    "catalog.DemandForecast",
    "catalog.DailyListEntry",
    "catalog.InsightCard",
    "catalog.MemberSuggestion",
)

# Configuration HQ keeps deleting (when nothing refers to it).
DELETABLE = (
    "campaigns.ScenarioTemplate",
    "campaigns.CampaignProduct",
    "procurement.CompensationPolicy",
    "procurement.Supplier",
    "procurement.SupplierProduct",
    "stores.ChecklistTemplate",
    "stores.ChecklistItem",
    "devices.DeviceKindThreshold",
    "customers.Tag",
    "customers.Segment",
    "training.Course",
)


@pytest.fixture
def superuser() -> object:
    return UserFactory(is_staff=True, is_superuser=True, username="hq-root")


@pytest.fixture
def procurement_user(roles: None) -> object:
    user = UserFactory(is_staff=True, username="hq-buyer")
    user.groups.add(Group.objects.get(name=HQ_PROCUREMENT))
    return user


def _model_admin(label: str) -> admin.ModelAdmin:
    from django.apps import apps

    return admin.site._registry[apps.get_model(label)]


def _request_of(user: object) -> object:
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.parametrize("label", UNDELETABLE)
def test_superuser_may_not_delete_service_managed_records(superuser: object, label: str) -> None:
    model_admin = _model_admin(label)
    request = _request_of(superuser)

    assert model_admin.has_delete_permission(request) is False
    assert "delete_selected" not in model_admin.get_actions(request)


@pytest.mark.parametrize("label", DELETABLE)
def test_superuser_may_still_delete_configuration(superuser: object, label: str) -> None:
    model_admin = _model_admin(label)
    request = _request_of(superuser)

    assert model_admin.has_delete_permission(request) is True
    assert "delete_selected" in model_admin.get_actions(request)


@pytest.mark.parametrize("who", ["superuser", "procurement_user"])
def test_confirmed_purchase_order_has_no_delete_page(
    who: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    line = PurchaseOrderLineFactory(
        purchase_order__status=PurchaseOrder.Status.CONFIRMED,
        purchase_order__ship_date=timezone.localdate(),
        purchase_order__confirmed_at=timezone.now(),
    )
    po = line.purchase_order
    client = Client()
    client.force_login(user)

    page = client.get(reverse("admin:procurement_purchaseorder_delete", args=[po.pk]))
    posted = client.post(
        reverse("admin:procurement_purchaseorder_delete", args=[po.pk]), {"post": "yes"}
    )
    line_page = client.get(reverse("admin:procurement_purchaseorderline_delete", args=[line.pk]))

    assert (page.status_code, posted.status_code, line_page.status_code) == (403, 403, 403)
    assert PurchaseOrder.objects.filter(pk=po.pk, status=PurchaseOrder.Status.CONFIRMED).exists()
    assert PurchaseOrderLine.objects.filter(pk=line.pk).exists()


@pytest.mark.parametrize("who", ["superuser", "procurement_user"])
def test_purchase_order_list_offers_no_bulk_delete(
    who: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    po = PurchaseOrderLineFactory(purchase_order__status=PurchaseOrder.Status.DRAFT).purchase_order
    client = Client()
    client.force_login(user)
    changelist = reverse("admin:procurement_purchaseorder_changelist")

    page = client.get(changelist)
    choices = [value for value, _label in page.context["action_form"].fields["action"].choices]
    client.post(
        changelist,
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [po.pk], "post": "yes"},
    )

    assert page.status_code == 200
    assert "delete_selected" not in choices
    assert {"send", "cancel"} <= set(choices)
    assert PurchaseOrder.objects.filter(pk=po.pk).exists()


@pytest.mark.parametrize("who", ["superuser", "procurement_user"])
def test_after_sales_case_has_no_delete_page(who: str, request: pytest.FixtureRequest) -> None:
    user = request.getfixturevalue(who)
    case = AfterSalesCaseFactory()
    client = Client()
    client.force_login(user)
    url = reverse("admin:procurement_aftersalescase_delete", args=[case.pk])
    changelist = reverse("admin:procurement_aftersalescase_changelist")

    page = client.get(url)
    client.post(changelist, {"action": "delete_selected", ACTION_CHECKBOX_NAME: [case.pk]})

    assert page.status_code == 403
    assert AfterSalesCase.objects.filter(pk=case.pk).exists()
    assert Order.objects.filter(pk=case.order_id).exists()


def test_superuser_deletes_an_unused_scenario_template(superuser: object) -> None:
    template = ScenarioTemplateFactory()
    client = Client()
    client.force_login(superuser)
    url = reverse("admin:campaigns_scenariotemplate_delete", args=[template.pk])

    page = client.get(url)
    client.post(url, {"post": "yes"})

    assert page.status_code == 200
    assert not ScenarioTemplate.objects.filter(pk=template.pk).exists()


def test_procurement_deletes_a_compensation_policy(procurement_user: object) -> None:
    # The default policies come with a data migration; make sure there is one.
    policy = CompensationPolicy.objects.first() or CompensationPolicyFactory()
    client = Client()
    client.force_login(procurement_user)
    url = reverse("admin:procurement_compensationpolicy_delete", args=[policy.pk])

    page = client.get(url)
    client.post(url, {"post": "yes"})

    assert page.status_code == 200
    assert not CompensationPolicy.objects.filter(pk=policy.pk).exists()
