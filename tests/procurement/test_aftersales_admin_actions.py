"""HQ decides after-sales cases with the admin's bulk actions: a wrong extra field beside the
action menu (a note over 300 characters, the box's limit bypassed; a remedy not on the list)
is named in the message, and no case changes — not Django's "No action selected."."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.procurement.models import AfterSalesCase
from linli.roles import HQ_PROCUREMENT
from tests.factories import UserFactory
from tests.procurement.factories import ReceiptDisputeFactory
from tests.procurement.factories_aftersales import AfterSalesCaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def buyer(roles):
    user = UserFactory(is_staff=True, username="hq_buyer")
    user.groups.add(Group.objects.get(name=HQ_PROCUREMENT))
    client = Client()
    client.force_login(user)
    return client


def _action(client: Client, action: str, cases: list[AfterSalesCase], **extra: str) -> object:
    return client.post(
        reverse("admin:procurement_aftersalescase_changelist"),
        {"action": action, "_selected_action": [case.pk for case in cases], **extra},
        follow=True,
    )


def _messages(response: object) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def _states(cases: list[AfterSalesCase]) -> list[tuple[str, str]]:
    return list(
        AfterSalesCase.objects.filter(pk__in=[case.pk for case in cases])
        .order_by("pk")
        .values_list("status", "decision_note")
    )


def test_a_note_over_300_characters_is_named_and_no_case_is_rejected(buyer):
    cases = AfterSalesCaseFactory.create_batch(2)
    response = _action(buyer, "reject", cases, note="x" * 301)
    assert response.status_code == 200
    assert _messages(response) == [
        "Note: too long, at most 300 characters (it has 301). Nothing was changed."
    ]
    assert _states(cases) == [(AfterSalesCase.Status.OPEN, "")] * 2


def test_a_remedy_not_on_the_list_is_named_and_no_case_is_approved(buyer):
    cases = AfterSalesCaseFactory.create_batch(1)
    response = _action(buyer, "approve_as_proposed", cases, remedy="cash", charged_to="hq")
    assert _messages(response) == [
        "Remedy: Select a valid choice. cash is not one of the available choices. "
        "Nothing was changed."
    ]
    assert _states(cases) == [(AfterSalesCase.Status.OPEN, "")]


def test_a_note_of_300_characters_is_recorded(buyer):
    cases = AfterSalesCaseFactory.create_batch(1)
    response = _action(buyer, "reject", cases, note="x" * 300)
    assert _messages(response) == ["Rejected 1 case."]
    assert _states(cases) == [(AfterSalesCase.Status.REJECTED, "x" * 300)]


def test_no_action_chosen_is_still_djangos_message(buyer):
    cases = AfterSalesCaseFactory.create_batch(1)
    response = _action(buyer, "", cases, note="x" * 301)
    assert _messages(response) == [
        "Note: too long, at most 300 characters (it has 301). Nothing was changed."
    ]
    response = _action(buyer, "", cases)
    assert _messages(response) == ["No action selected."]
    assert _states(cases) == [(AfterSalesCase.Status.OPEN, "")]


def test_a_bulk_action_the_service_refuses_for_every_case_reports_no_success(buyer):
    cases = AfterSalesCaseFactory.create_batch(
        1, status=AfterSalesCase.Status.REJECTED, decided_at=timezone.now()
    )
    response = _action(buyer, "reject", cases)
    messages = list(response.context["messages"])
    assert [message.level_tag for message in messages] == ["warning"]
    assert [str(message) for message in messages] == [
        f"Only a case awaiting approval can be decided; {cases[0].number} is rejected."
    ]
    assert _states(cases) == [(AfterSalesCase.Status.REJECTED, "")]


def test_a_bulk_action_counts_the_cases_done_above_the_refusals(buyer):
    refused = AfterSalesCaseFactory(
        status=AfterSalesCase.Status.REJECTED, decided_at=timezone.now()
    )
    open_case = AfterSalesCaseFactory()
    response = _action(buyer, "reject", [refused, open_case])
    assert _messages(response) == [
        "Rejected 1 case.",
        f"Only a case awaiting approval can be decided; {refused.number} is rejected.",
    ]


@pytest.mark.parametrize(
    ("model", "factory", "labels"),
    [
        ("aftersalescase", AfterSalesCaseFactory, ["Remedy", "Cost charged to", "Note"]),
        ("receiptdispute", ReceiptDisputeFactory, ["Answer for the supplier"]),
    ],
)
def test_the_boxes_beside_the_action_menu_have_capitalised_labels(buyer, model, factory, labels):
    """Like Django's own "Action:" beside them, in the English admin."""
    factory()
    page = buyer.get(reverse(f"admin:procurement_{model}_changelist")).content.decode()
    actions = page.split('<div class="actions">', 1)[1].split("</div>", 1)[0]
    for label in labels:
        assert f"<label>{label} " in actions
        assert f"<label>{label.lower()} " not in actions
