"""The access matrix: every URL, API operation and websocket route, for every role, read and
write, checked against one declared expectation (docs/access.md is the policy; `ROUTES` and
`POLICY_TABLE` below are its executable form).

How the routes are found, so that nothing ships unclassified:

- the URL resolver is walked recursively (namespaced includes too); every route is keyed by its
  name (`portal:store`, `api-stores`) or, when unnamed, by `/` + its pattern;
- the OpenAPI schema (drf-spectacular's generator) is walked: every documented path and method
  must resolve to a route with a row, and a documented write method is the one the matrix uses;
- the websocket routes (`linli.routing.websocket_urlpatterns`) are walked the same way;
- the admin is one family (`admin:*`): its ~400 routes are not listed one by one; instead every
  model in `admin.site._registry` has its changelist (read) and add form (write) checked: for
  each HQ group and the superuser against the model's permissions (one test per model, role and
  mode), for everyone else against one rule (sent to the admin login; one test per role and mode
  walks every model).

A route without a row fails (`<route>|missing-row`), and so does a row whose route is gone.

Roles are users built once per module (store A and B, their owners, a clerk of A, inspectors of
A and of B, a user of supplier A and of supplier B, one user per HQ group from `roles_sync()`,
a superuser). Path parameters come from real rows of store A (a member, a device, an alert, an
inspection with a photo and a rectification item, an insight card), so an owner of B asking for
them must be refused. Each test runs in a savepoint that is rolled back, so writes (accepting a
card, acknowledging an alert, submitting an inspection) leave the shared rows untouched.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import importlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import Client, RequestFactory, override_settings
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone, translation

from apps.campaigns.models import Broadcast, BroadcastComment, StoreCampaign
from apps.campaigns.notifications.models import Notification
from apps.campaigns.services.campaigns import campaign_launch, store_campaign_confirm
from apps.customers.models import CommunityMessage, MemberTag, NpsAnswer, Tag
from apps.customers.resources import MemberResource
from apps.devices.models import DeviceAlert
from apps.devices.services import alert_open
from apps.procurement.models import PurchaseOrder, PurchaseOrderAllocation
from apps.procurement.selectors.shelf import shelf_quantities_attach
from apps.procurement.services.aftersales import case_open
from apps.procurement.services.pickup import fulfilments_ready
from apps.procurement.services.receiving import receipt_record
from apps.stores.inspections import services as inspections
from apps.stores.inspections.services import RectificationRequest
from apps.stores.models import (
    ChecklistTemplate,
    InspectionPhoto,
    Order,
    OrderFulfilment,
    StockLevel,
    StockMovement,
    StoreStaff,
    StoreTerminal,
)
from apps.stores.services.fulfilment import fulfilments_open
from apps.stores.services.stock import stock_move
from apps.stores.services.terminals import terminal_issue
from apps.training.models import Choice
from linli import roles as hq_roles
from linli.admin_helpers import MEMBER_TEXT_HIDDEN
from linli.phones import phone_mask
from linli.routing import websocket_urlpatterns
from tests.campaigns.factories import (
    CampaignTargetFactory,
    GroupBuyJoinFactory,
    GroupBuyOfferFactory,
    ScenarioTemplateFactory,
)
from tests.catalog.factories import InsightCardFactory
from tests.devices.factories import DeviceFactory
from tests.factories import (
    MemberFactory,
    ProductFactory,
    RegionFactory,
    StoreFactory,
    SupplierFactory,
    SupplierUserFactory,
    UserFactory,
    owner_of,
)
from tests.procurement.factories import consolidated_purchase_order
from tests.procurement.factories_aftersales import paid_order
from tests.procurement.factories_supply import purchase_order_move
from tests.stores.test_inspections_support import (
    active_checklist,
    jpeg_bytes,
    results_of,
    upload,
)
from tests.training.factories import (
    ArticleFactory,
    PathCourseFactory,
    QuizAttemptFactory,
    course_with_quiz,
)

# --- the declared table -----------------------------------------------------------------------


class Outcome(enum.Enum):
    ALLOW = "allow"  # 2xx, or 3xx to anything but a login page; websocket accepted
    LOGIN = "login"  # pages: 302 to a login page; API: 401; websocket: closed 4403 (anonymous)
    # (websocket refusals are accept-then-close: the first frame after the handshake)
    DENY = "deny"  # 403 or 404; websocket: closed 4403 (signed-in user)
    NOT_APPLICABLE = "n/a"  # 405: the route does not offer this mode


ROLES = (
    "anonymous",
    "owner_a",
    "owner_b",
    "clerk_a",
    "inspector_a",
    "inspector_b",
    "supplier_a",
    "supplier_b",
    "hq_operations",
    "hq_procurement",
    "hq_inspection",
    "superuser",
)
HQ_GROUPS = {
    "hq_operations": hq_roles.HQ_OPERATIONS,
    "hq_procurement": hq_roles.HQ_PROCUREMENT,
    "hq_inspection": hq_roles.HQ_INSPECTION,
}
# Never staff (docs/access.md): the admin sends them to its login page.
NOT_STAFF = [role for role in ROLES if role not in (*HQ_GROUPS, "superuser")]

_CELLS = {
    "A": Outcome.ALLOW,
    "L": Outcome.LOGIN,
    "D": Outcome.DENY,
    "-": Outcome.NOT_APPLICABLE,
}
# The action is not HQ's in the portal (docs/access.md: "HQ reviews in the admin").
NOT_FOR_HQ = "(not-for-HQ)"


@dataclasses.dataclass(frozen=True)
class Policy:
    """One role → outcome row. `hq_permission` is the HQ permission docs/access.md names for
    the action (checked against the groups `roles_sync()` writes), NOT_FOR_HQ, or None when the
    row is not a store or supplier action (public pages, token endpoints)."""

    outcomes: dict[str, Outcome]
    hq_permission: str | None = None


# One row per policy, one column per role (in ROLES order), then the HQ permission that
# docs/access.md names for the action. A = allow (2xx/3xx), L = login (302 to the login page,
# 401 for the API, 4403 for a websocket), D = deny (403/404), - = not offered (405).
# Every object in a path belongs to store A (or supplier A): owner B must be refused.
POLICY_TABLE = """
#                          an oA oB cA iA iB sA sB Op Pr In su   HQ permission
PUBLIC                      A  A  A  A  A  A  A  A  A  A  A  A
SIGNED_IN                   L  A  A  A  A  A  A  A  A  A  A  A
# a scoped list: 200 for everyone signed in, holding only the rows they may see
SCOPED_LIST                 L  A  A  A  A  A  A  A  A  A  A  A
# the method is not offered (405); the sign-in check comes first
NOT_OFFERED                 L  -  -  -  -  -  -  -  -  -  -  -
NOT_OFFERED_TO_ANYONE       -  -  -  -  -  -  -  -  -  -  -  -
# logging out ends on the login page, whoever asks
ENDS_ON_LOGIN               L  L  L  L  L  L  L  L  L  L  L  L
# POS terminals and devices: a person's session is no credential there (401)
TOKEN_ONLY                  L  L  L  L  L  L  L  L  L  L  L  L
#                          an oA oB cA iA iB sA sB Op Pr In su   HQ permission
VIEW_STORE                  L  A  D  A  A  D  D  D  A  A  A  A   stores.view_store
MEMBER_DATA                 L  A  D  D  D  D  D  D  A  D  D  A   customers.view_member
VIEW_DECISIONS              L  A  D  A  A  D  D  D  A  A  D  A   catalog.view_insightcard
ACCEPT_INSIGHT              L  A  D  D  D  D  D  D  A  D  D  A   campaigns.add_campaign
VIEW_DEVICES                L  A  D  A  A  D  D  D  A  D  A  A   devices.view_device
# docs/access.md writes devices.change_alert; the model is DeviceAlert
ACT_ON_ALERTS               L  A  D  A  D  D  D  D  A  D  D  A   devices.change_devicealert
# a store's stock and one product's ledger there (the store page's low-stock list, too)
VIEW_STOCK                  L  A  D  A  A  D  D  D  A  A  A  A   stores.view_stocklevel
VIEW_INSPECTIONS            L  A  D  D  A  D  D  D  A  A  A  A   stores.view_inspection
# the inspections home lists every store where the user may view inspections (B's people: B)
VIEW_INSPECTIONS_ANYWHERE   L  A  A  D  A  A  D  D  A  A  A  A   stores.view_inspection
INSPECT                     L  D  D  D  A  D  D  D  D  D  D  D   (not-for-HQ)
RECTIFY                     L  A  D  D  D  D  D  D  D  D  D  D   (not-for-HQ)
# the supplier home shows each supplier user their own supplier (A and B both get a page)
VIEW_SUPPLIER               L  D  D  D  D  D  A  A  A  A  D  A   procurement.view_supplier
VIEW_CAMPAIGNS              L  A  D  A  D  D  D  D  A  D  D  A   campaigns.view_storecampaign
RUN_CAMPAIGNS               L  A  D  D  D  D  D  D  A  D  D  A   campaigns.change_storecampaign
# HQ's portal pages over every store: the live overview and a whole campaign's review
HQ_LIVE_OVERVIEW            L  D  D  D  D  D  D  D  A  D  D  A   campaigns.view_storecampaign
HQ_CAMPAIGN_REVIEW          L  D  D  D  D  D  D  D  A  D  D  A   campaigns.view_campaign
# the purchase-order list shows each supplier user their own orders (A and B both get a page)
PURCHASE_ORDER_LIST         L  D  D  D  D  D  A  A  A  A  D  A   procurement.view_purchaseorder
VIEW_PURCHASE_ORDERS        L  D  D  D  D  D  A  D  A  A  D  A   procurement.view_purchaseorder
ACT_ON_PURCHASE_ORDERS      L  D  D  D  D  D  A  D  D  A  D  A   procurement.change_purchaseorder
# store acts (docs/access.md): HQ reads receipts, movements and cases in the admin instead
RECEIVE_GOODS               L  A  D  A  D  D  D  D  D  D  D  D   (not-for-HQ)
HAND_OVER                   L  A  D  A  D  D  D  D  D  D  D  D   (not-for-HQ)
RECORD_LOSS                 L  A  D  A  D  D  D  D  D  D  D  D   (not-for-HQ)
AFTER_SALES                 L  A  D  D  D  D  D  D  D  D  D  D   (not-for-HQ)
# the knowledge base is network-wide: every store's staff reads it (B's people too)
KNOWLEDGE                   L  A  A  A  A  A  D  D  A  D  D  A   training.view_article
# a store's training page; enrolling, lessons and quizzes are the store staff's own (not HQ's)
VIEW_TRAINING               L  A  D  A  D  D  D  D  A  D  D  A   training.view_enrolment
TRAIN                       L  A  D  A  D  D  D  D  D  D  D  D   (not-for-HQ)
# a quiz attempt is its taker's own (owner A's here): the store's other staff get a 404
OWN_QUIZ_ATTEMPT            L  A  D  D  D  D  D  D  D  D  D  D   (not-for-HQ)
"""


def _policies(table: str) -> dict[str, Policy]:
    policies = {}
    for line in table.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, *cells = line.split()
        outcomes = dict(zip(ROLES, (_CELLS[cell] for cell in cells[: len(ROLES)]), strict=True))
        hq_permission = cells[len(ROLES)] if len(cells) > len(ROLES) else None
        policies[name] = Policy(outcomes, hq_permission)
    return policies


POLICIES = _policies(POLICY_TABLE)

ADMIN_FAMILY = "ADMIN_FAMILY"
# Websockets take no writes: a frame from the client is ignored (no reply, no effect).
IGNORES_CLIENT_FRAMES = "NOT_OFFERED_TO_ANYONE"

# Every route: (read policy, write policy). Read = GET or websocket connect; write = POST, or the
# API operation's documented write method.
ROUTES: dict[str, tuple[str, str]] = {
    "/": ("PUBLIC", "PUBLIC"),  # RedirectView to the portal, for every method
    "healthz": ("PUBLIC", "NOT_OFFERED_TO_ANYONE"),
    "set_language": ("PUBLIC", "PUBLIC"),
    "admin:*": (ADMIN_FAMILY, ADMIN_FAMILY),
    "portal:login": ("PUBLIC", "PUBLIC"),
    "portal:logout": ("NOT_OFFERED_TO_ANYONE", "ENDS_ON_LOGIN"),
    "portal:home": ("SIGNED_IN", "NOT_OFFERED"),
    "portal:store": ("VIEW_STORE", "NOT_OFFERED"),
    "portal:store_kpis": ("VIEW_STORE", "NOT_OFFERED"),
    "portal:store_stock": ("VIEW_STOCK", "NOT_OFFERED"),
    "portal:store_stock_product": ("VIEW_STOCK", "NOT_OFFERED"),
    "members:list": ("MEMBER_DATA", "NOT_OFFERED"),
    "members:detail": ("MEMBER_DATA", "NOT_OFFERED"),
    "inspections:index": ("VIEW_INSPECTIONS_ANYWHERE", "NOT_OFFERED"),
    "inspections:store": ("VIEW_INSPECTIONS", "NOT_OFFERED"),
    "inspections:start": ("NOT_OFFERED", "INSPECT"),
    "inspections:detail": ("VIEW_INSPECTIONS", "NOT_OFFERED"),
    "inspections:save": ("NOT_OFFERED", "INSPECT"),
    "inspections:rectification_done": ("NOT_OFFERED", "RECTIFY"),
    "inspections:photo": ("VIEW_INSPECTIONS", "NOT_OFFERED"),
    "devices:store": ("VIEW_DEVICES", "NOT_OFFERED"),
    "devices:device": ("VIEW_DEVICES", "NOT_OFFERED"),
    "devices:alert-acknowledge": ("NOT_OFFERED", "ACT_ON_ALERTS"),
    "devices:alert-resolve": ("NOT_OFFERED", "ACT_ON_ALERTS"),
    # The alert lines the store page's socket sent since the page's cursor: the socket joins
    # with VIEW_STORE but forwards alert lines only to readers who may VIEW_DEVICES.
    "devices:store-live-lines": ("VIEW_DEVICES", "NOT_OFFERED"),
    "notifications:read": ("NOT_OFFERED", "VIEW_STORE"),  # the user's own inbox at A
    "decisions:store": ("VIEW_DECISIONS", "NOT_OFFERED"),
    "campaigns:insight-accept": ("NOT_OFFERED", "ACCEPT_INSIGHT"),
    "campaigns:store": ("VIEW_CAMPAIGNS", "NOT_OFFERED"),
    "campaigns:detail": ("VIEW_CAMPAIGNS", "NOT_OFFERED"),
    "campaigns:confirm": ("NOT_OFFERED", "RUN_CAMPAIGNS"),
    "campaigns:decline": ("NOT_OFFERED", "RUN_CAMPAIGNS"),
    "campaigns:pack": ("NOT_OFFERED", "RUN_CAMPAIGNS"),
    "campaigns:preview": ("NOT_OFFERED", "RUN_CAMPAIGNS"),
    "campaigns:poster-png": ("VIEW_CAMPAIGNS", "NOT_OFFERED"),
    "campaigns:poster-pdf": ("VIEW_CAMPAIGNS", "NOT_OFFERED"),
    "campaigns:targets-csv": ("MEMBER_DATA", "NOT_OFFERED"),
    "campaigns:broadcast-list": ("VIEW_CAMPAIGNS", "NOT_OFFERED"),
    "campaigns:broadcast": ("VIEW_CAMPAIGNS", "NOT_OFFERED"),
    "campaigns:broadcast-start": ("NOT_OFFERED", "RUN_CAMPAIGNS"),
    "campaigns:broadcast-end": ("NOT_OFFERED", "RUN_CAMPAIGNS"),
    "campaigns:broadcast-offer-create": ("NOT_OFFERED", "RUN_CAMPAIGNS"),
    "campaigns:broadcast-offer-withdraw": ("NOT_OFFERED", "RUN_CAMPAIGNS"),
    "campaigns:broadcast-jielong": ("NOT_OFFERED", "RUN_CAMPAIGNS"),
    "campaigns:live": ("VIEW_CAMPAIGNS", "NOT_OFFERED"),
    "campaigns:live-overview": ("HQ_LIVE_OVERVIEW", "NOT_OFFERED"),
    "campaigns:review": ("VIEW_CAMPAIGNS", "NOT_OFFERED"),
    "campaigns:review-xlsx": ("VIEW_CAMPAIGNS", "NOT_OFFERED"),
    "campaigns:review-pdf": ("VIEW_CAMPAIGNS", "NOT_OFFERED"),
    "campaigns:campaign-review": ("HQ_CAMPAIGN_REVIEW", "NOT_OFFERED"),
    "campaigns:campaign-review-xlsx": ("HQ_CAMPAIGN_REVIEW", "NOT_OFFERED"),
    "campaigns:campaign-review-pdf": ("HQ_CAMPAIGN_REVIEW", "NOT_OFFERED"),
    "supplier:home": ("VIEW_SUPPLIER", "NOT_OFFERED"),
    "supplier:notifications_read": ("NOT_OFFERED", "VIEW_SUPPLIER"),
    "supplier:orders": ("PURCHASE_ORDER_LIST", "NOT_OFFERED"),
    "supplier:order": ("VIEW_PURCHASE_ORDERS", "NOT_OFFERED"),
    "supplier:order_confirm": ("NOT_OFFERED", "ACT_ON_PURCHASE_ORDERS"),
    "supplier:order_ship": ("NOT_OFFERED", "ACT_ON_PURCHASE_ORDERS"),
    "supplier:order_shortage": ("NOT_OFFERED", "ACT_ON_PURCHASE_ORDERS"),
    "supplier:receipt_dispute": ("NOT_OFFERED", "ACT_ON_PURCHASE_ORDERS"),
    "supplier:order_csv": ("VIEW_PURCHASE_ORDERS", "NOT_OFFERED"),
    "supplier:order_xlsx": ("VIEW_PURCHASE_ORDERS", "NOT_OFFERED"),
    "supplier:order_pdf": ("VIEW_PURCHASE_ORDERS", "NOT_OFFERED"),
    "supplier:pick_lists_csv": ("VIEW_PURCHASE_ORDERS", "NOT_OFFERED"),
    "supplier:pick_lists_pdf": ("VIEW_PURCHASE_ORDERS", "NOT_OFFERED"),
    "supply:receiving": ("RECEIVE_GOODS", "NOT_OFFERED"),
    "supply:receive": ("RECEIVE_GOODS", "RECEIVE_GOODS"),
    "supply:delivery_plan": ("RECEIVE_GOODS", "NOT_OFFERED"),
    "supply:pickup": ("HAND_OVER", "HAND_OVER"),
    "supply:pickup_ready": ("NOT_OFFERED", "HAND_OVER"),
    "supply:delivery_status": ("NOT_OFFERED", "HAND_OVER"),
    "supply:pickup_cancel": ("NOT_OFFERED", "HAND_OVER"),
    "supply:pickup_guest_hand_over": ("NOT_OFFERED", "HAND_OVER"),
    "supply:loss": ("RECORD_LOSS", "RECORD_LOSS"),
    "supply:loss_batch": ("RECORD_LOSS", "RECORD_LOSS"),
    "supply:cases": ("AFTER_SALES", "NOT_OFFERED"),
    "supply:case_new": ("AFTER_SALES", "AFTER_SALES"),
    "supply:case": ("AFTER_SALES", "NOT_OFFERED"),
    "supply:case_photo": ("AFTER_SALES", "NOT_OFFERED"),
    "training:knowledge": ("KNOWLEDGE", "NOT_OFFERED"),
    "training:article": ("KNOWLEDGE", "NOT_OFFERED"),
    "training:store": ("VIEW_TRAINING", "NOT_OFFERED"),
    "training:enrol": ("NOT_OFFERED", "TRAIN"),
    "training:course": ("TRAIN", "NOT_OFFERED"),
    "training:lesson": ("TRAIN", "TRAIN"),
    "training:quiz": ("TRAIN", "TRAIN"),
    "training:attempt": ("OWN_QUIZ_ATTEMPT", "NOT_OFFERED"),
    "api-stores": ("SCOPED_LIST", "NOT_OFFERED"),
    "api-store": ("VIEW_STORE", "NOT_OFFERED"),
    "api-pos-orders": ("TOKEN_ONLY", "TOKEN_ONLY"),
    "api-device-readings": ("TOKEN_ONLY", "TOKEN_ONLY"),
    "api-device-me": ("TOKEN_ONLY", "TOKEN_ONLY"),
    "api-decisions-list": ("VIEW_DECISIONS", "NOT_OFFERED"),
    "api-decisions-insights": ("VIEW_DECISIONS", "NOT_OFFERED"),
    "api-decisions-insight-accept": ("NOT_OFFERED", "ACCEPT_INSIGHT"),
    "api-decisions-rules": ("VIEW_DECISIONS", "NOT_OFFERED"),
    "api-member-next-products": ("MEMBER_DATA", "NOT_OFFERED"),
    "api-mini-program-orders": ("TOKEN_ONLY", "TOKEN_ONLY"),
    "api-mini-program-order": ("TOKEN_ONLY", "TOKEN_ONLY"),
    "api-mini-program-order-cancel": ("TOKEN_ONLY", "TOKEN_ONLY"),
    "api-group-buy-offer": ("TOKEN_ONLY", "TOKEN_ONLY"),
    "api-group-buy-join": ("TOKEN_ONLY", "TOKEN_ONLY"),
    "api-broadcast-comments": ("TOKEN_ONLY", "TOKEN_ONLY"),
    "api-broadcast-viewers": ("TOKEN_ONLY", "TOKEN_ONLY"),
    "api-campaign-events": ("TOKEN_ONLY", "TOKEN_ONLY"),
    "api-schema": ("SIGNED_IN", "NOT_OFFERED"),
    "ws-store-notifications": ("VIEW_STORE", IGNORES_CLIENT_FRAMES),
    "ws-broadcast-live": ("VIEW_CAMPAIGNS", IGNORES_CLIENT_FRAMES),
    "ws-broadcasts-live-overview": ("HQ_LIVE_OVERVIEW", IGNORES_CLIENT_FRAMES),
}

# Write-mode routes that act on the inspector's open draft (not on the submitted inspection).
ON_THE_DRAFT = {"inspections:save"}


def _photo() -> Any:
    return upload(jpeg_bytes())


# The smallest valid body for each write, so an allowed role gets 2xx/3xx (not a 400 form error).
WRITE_BODIES: dict[str, Callable[[], dict[str, Any]]] = {
    "set_language": lambda: {"language": "en", "next": "/"},
    "portal:login": lambda: {"username": "nobody", "password": "wrong"},
    # The scoring form's key (a save without one is a 400 that keeps what was typed).
    "inspections:save": lambda: {"key": str(uuid.uuid4())},
    "inspections:rectification_done": lambda: {"note": "Shelf refilled", "photo": _photo()},
    "devices:alert-resolve": lambda: {"note": "Door closed"},
    "campaigns:broadcast-jielong": lambda: {"text": "#接龙"},
    "campaigns:broadcast-offer-withdraw": lambda: {"confirm": "yes"},
    "supplier:order_confirm": lambda: {"ship_date": timezone.localdate().isoformat()},
    "supplier:order_ship": lambda: {"shipped": "on"},
    "supply:pickup": lambda: {"codes": "000000"},
    "supply:delivery_status": lambda: {"status": "out_for_delivery"},
    "supply:pickup_cancel": lambda: {"reason": "Member changed their mind"},
}


def _offer_body(world: World) -> dict[str, Any]:
    deadline = timezone.localtime() + dt.timedelta(days=2)
    return {
        # Not product_a: `offer_a` is its open offer in this broadcast (one open offer per product).
        "product": world.offer_product_a.pk,
        "price": "9.90",
        "threshold_kind": "units",
        "threshold": "1",
        "cap": "5",
        "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
    }


def _receive_body(world: World) -> dict[str, Any]:
    """Everything allocated to store A arrived, its shelf units of the rounding surplus
    included."""
    body: dict[str, Any] = {}
    for allocation in shelf_quantities_attach(
        PurchaseOrderAllocation.objects.filter(
            line__purchase_order=world.shipped_order_a, store=world.store_a
        )
    ):
        body |= {
            f"received_{allocation.pk}": allocation.receipt_quantity,
            f"short_{allocation.pk}": 0,
            f"damaged_{allocation.pk}": 0,
        }
    return body


def _loss_body(world: World) -> dict[str, Any]:
    """The single loss form (a fresh key, so no submit is a repeat of another)."""
    return {
        "product": world.product_a.pk,
        "quantity": "1",
        "reason": "expired",
        "note": "",
        "key": str(uuid.uuid4()),
    }


def _loss_batch_body(world: World) -> dict[str, Any]:
    """One row of the batch form (a fresh key, so no submit is a repeat of another)."""
    return {
        "key": str(uuid.uuid4()),
        "rows-TOTAL_FORMS": "1",
        "rows-INITIAL_FORMS": "0",
        "rows-0-product": world.product_a.sku,
        "rows-0-quantity": "1",
        "rows-0-reason": "expired",
        "rows-0-note": "",
    }


def _case_body(world: World) -> dict[str, Any]:
    """The case form (a fresh key, as the page gives it: a post without one opens nothing)."""
    return {
        "order": world.member_order_a.pk,
        "kind": "quality",
        "quantity": "1",
        "amount": "1.00",
        "key": str(uuid.uuid4()),
    }


# Write bodies that need the shared rows (ids).
def _quiz_body(world: World) -> dict[str, Any]:
    """Every question of the quiz answered (an incomplete quiz is a 400 form error)."""
    return {
        f"q{question_id}": choice_id
        for question_id, choice_id in Choice.objects.filter(
            question__course_id=world.training["course_id"]
        ).values_list("question_id", "pk")
    }


def _dispute_body(world: World) -> dict[str, Any]:
    """One unit more than store A recorded as arrived (it recorded one short): a valid
    dispute."""
    line = world.receipt_line_a
    return {"claimed_quantity": line.arrived_quantity + 1, "note": "We loaded one more"}


WORLD_BODIES: dict[str, Callable[[World], dict[str, Any]]] = {
    "supplier:receipt_dispute": _dispute_body,
    "campaigns:broadcast-offer-create": _offer_body,
    "supply:receive": _receive_body,
    "supply:case_new": _case_body,
    "supply:loss": _loss_body,
    "supply:loss_batch": _loss_batch_body,
    "training:quiz": _quiz_body,
}


# --- walking the routes -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Route:
    key: str  # the row's key in ROUTES
    pattern: str  # the full pattern, for messages
    name: str | None  # for reverse(); None for unnamed routes
    parameters: tuple[str, ...]
    kind: str  # "page", "api", "admin" or "websocket"
    write_method: str

    def __str__(self) -> str:
        return self.key


def _write_method(callback: Any) -> str:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    for method in ("post", "put", "patch", "delete"):
        if view_class is not None and hasattr(view_class, method):
            return method
    return "post"


def _walk_urls(
    resolver: URLResolver | None = None, prefix: str = "", namespaces: tuple[str, ...] = ()
) -> Iterator[Route]:
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespaces + ((entry.namespace,) if entry.namespace else ())
            yield from _walk_urls(entry, pattern, inner)
            continue
        assert isinstance(entry, URLPattern)
        name = ":".join((*namespaces, entry.name)) if entry.name else None
        if namespaces[:1] == ("admin",):
            key, kind = "admin:*", "admin"
        else:
            key = name or "/" + pattern
            kind = "api" if pattern.startswith("api/") else "page"
        parameters = tuple(re.findall(r"<(?:\w+:)?(\w+)>", pattern))
        yield Route(key, pattern, name, parameters, kind, _write_method(entry.callback))


def _walk_websockets(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[Route]:
    for entry in websocket_urlpatterns if patterns is None else patterns:
        pattern = prefix + str(entry.pattern)
        nested = getattr(entry.callback, "routes", None)  # a URLRouter inside a path()
        if nested is not None:
            yield from _walk_websockets(nested, pattern)
            continue
        parameters = tuple(re.findall(r"<(?:\w+:)?(\w+)>", pattern))
        yield Route(entry.name or "/" + pattern, pattern, entry.name, parameters, "websocket", "-")


def _routes() -> list[Route]:
    routes = [*_walk_urls(), *_walk_websockets()]
    admin_routes = [route for route in routes if route.kind == "admin"]
    return [route for route in routes if route.kind != "admin"] + admin_routes[:1]


ALL_ROUTES = _routes()
MATRIX_ROUTES = [route for route in ALL_ROUTES if route.kind in ("page", "api")]
WEBSOCKET_ROUTES = [route for route in ALL_ROUTES if route.kind == "websocket"]


def _matrix_cases(routes: list[Route]) -> list[Any]:
    cases = []
    for route in routes:
        if route.key not in ROUTES:
            cases.append(pytest.param(route, None, None, id=f"{route.key}|missing-row"))
            continue
        cases.extend(
            pytest.param(route, role, mode, id=f"{route.key}|{role}|{mode}")
            for role in ROLES
            for mode in ("read", "write")
        )
    return cases


def _admin_models() -> list[tuple[str, str]]:
    return sorted((model._meta.app_label, model._meta.model_name) for model in admin.site._registry)


# --- the shared rows ----------------------------------------------------------------------------


@dataclasses.dataclass
class World:
    users: dict[str, Any]
    store_a: Any
    store_b: Any
    member_a: Any
    member_b: Any
    device_a: Any
    alert_a: Any
    card_a: Any
    inspection_a: Any  # submitted, rectification requested, with a photo
    photo_a: Any
    rectification_a: Any
    draft_a: Any  # inspector A's open draft at A
    supplier_a: Any
    supplier_b: Any
    campaign_a: Any  # an HQ campaign with store A's confirmed part (pack made)
    store_campaign_a: Any
    broadcast_a: Any
    offer_a: Any
    purchase_order_a: Any  # supplier A's, sent
    product_a: Any  # stocked at A, on offer in `offer_a`
    offer_product_a: Any  # stocked at A, in the campaign, not on offer: for a new offer
    shipped_order_a: Any  # supplier A's, shipped, with an allocation to store A (to receive)
    receipt_line_a: Any  # a line of store A's receipt of another of supplier A's orders
    member_order_a: Any  # member A's paid pickup order at A, ready, with a pickup code
    case_a: Any  # an after-sales case on it, with a photo
    case_photo_a: Any
    case_b: Any  # store B's case (never on A's pages)
    media_root: Path
    sessions: dict[str, str] = dataclasses.field(default_factory=dict)  # role -> session cookie
    # training path values: a published article, a path, a course with a lesson and a quiz
    training: dict[str, int] = dataclasses.field(default_factory=dict)

    def path_values(self, route_key: str) -> dict[str, Any]:
        on_draft = route_key in ON_THE_DRAFT
        return {
            **self.training,
            "store_id": self.store_a.pk,
            "pk": self.store_a.pk,
            "member_no": self.member_a.member_no,
            "member_id": self.member_a.pk,
            "device_id": self.device_a.pk,
            "alert_id": self.alert_a.pk,
            "card_id": self.card_a.pk,
            "kind": "hot",
            "inspection_id": (self.draft_a if on_draft else self.inspection_a).pk,
            "photo_id": self.photo_a.pk,
            "rectification_id": self.rectification_a.pk,
            "campaign_id": self.campaign_a.pk,
            "store_campaign_id": self.store_campaign_a.pk,
            "broadcast_id": self.broadcast_a.pk,
            "offer_id": self.offer_a.pk,
            "po_id": (
                self.shipped_order_a if route_key.startswith("supply:") else self.purchase_order_a
            ).pk,
            "day": timezone.localdate().isoformat(),
            "order_id": self.member_order_a.pk,
            # A mini-program order's reference: the routes answer terminal tokens only (a
            # session is a 401 before any lookup); tests/stores/test_mini_program_api.py
            # shows another store's terminal a 404.
            "reference": "MP2026070100000001",
            "product_id": self.product_a.pk,
            "case_id": self.case_a.pk,
            "receipt_line_id": self.receipt_line_a.pk,
        } | ({"photo_id": self.case_photo_a.pk} if route_key == "supply:case_photo" else {})


def _staff_at(store: Any, role: str, username: str) -> Any:
    user = UserFactory(username=username)
    StoreStaff.objects.create(user=user, store=store, role=role)
    return user


def _build_world(media_root: Path) -> World:
    hq_roles.roles_sync()
    # Rows data migrations write; an earlier transactional test in the session may have flushed.
    device_thresholds = importlib.import_module("apps.devices.migrations.0002_default_thresholds")
    device_thresholds.create_defaults(django_apps, None)
    region = RegionFactory()
    store_a = StoreFactory(code="MTX-A", name="Alpha market", region=region)
    store_b = StoreFactory(code="MTX-B", name="Bravo market", region=region)
    supplier_a = SupplierFactory(name="Alpha orchard")
    supplier_b = SupplierFactory(name="Bravo dairy")
    users: dict[str, Any] = {
        "anonymous": None,
        "owner_a": owner_of(store_a, username="owner_a"),
        "owner_b": owner_of(store_b, username="owner_b"),
        "clerk_a": _staff_at(store_a, StoreStaff.Role.CLERK, "clerk_a"),
        "inspector_a": _staff_at(store_a, StoreStaff.Role.INSPECTOR, "inspector_a"),
        "inspector_b": _staff_at(store_b, StoreStaff.Role.INSPECTOR, "inspector_b"),
        "supplier_a": SupplierUserFactory(supplier=supplier_a, user__username="supplier_a").user,
        "supplier_b": SupplierUserFactory(supplier=supplier_b, user__username="supplier_b").user,
        "superuser": UserFactory(username="superuser", is_staff=True, is_superuser=True),
    }
    for role, group in HQ_GROUPS.items():
        users[role] = UserFactory(username=role, is_staff=True)
        users[role].groups.add(Group.objects.get(name=group))

    member_a = MemberFactory(name="Alice Matrixa", home_store=store_a)
    member_b = MemberFactory(name="Bruno Matrixb", home_store=store_b)
    Order.objects.create(
        store=store_a,
        member=member_a,
        channel=Order.Channel.POS,
        idempotency_key="matrix-a-1",
        total=Decimal("12.50"),
    )
    device_a = DeviceFactory(store=store_a)
    alert_a, _created = alert_open(
        device=device_a, kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE, value=12
    )
    card_a = InsightCardFactory(store=store_a)

    inspector_a = users["inspector_a"]
    if not ChecklistTemplate.objects.filter(active=True).exists():
        active_checklist()
    inspection_a, _created = inspections.inspection_start(store=store_a, inspector=inspector_a)
    results = results_of(inspection_a)
    photo_a = inspections.inspection_result_save(
        result=results[0], by=inspector_a, score=10, upload=_photo()
    )
    for result in results[1:]:
        inspections.inspection_result_save(result=result, by=inspector_a, score=9)
    inspection_a = inspections.inspection_submit(inspection=inspection_a, by=inspector_a)
    [rectification_a] = inspections.inspection_request_rectification(
        inspection=inspection_a,
        by=users["superuser"],
        items=[
            RectificationRequest(
                description="Refill the fruit shelf",
                due_date=timezone.localdate() + dt.timedelta(days=7),
            )
        ],
    )
    draft_a, _created = inspections.inspection_start(store=store_a, inspector=inspector_a)
    assert InspectionPhoto.objects.filter(pk=photo_a.pk).exists()
    product_a = ProductFactory(name="云南蓝莓 125g")
    StockLevel.objects.create(store=store_a, product=product_a, on_hand=100)
    offer_product_a = ProductFactory(name="麒麟西瓜")
    StockLevel.objects.create(store=store_a, product=offer_product_a, on_hand=100)
    campaign_a = campaign_launch(
        template=ScenarioTemplateFactory(),
        starts_on=timezone.localdate() + dt.timedelta(days=1),
        products=[product_a, offer_product_a],
        stores=[store_a, store_b],
        by=users["superuser"],
    )
    store_campaign_a = StoreCampaign.objects.get(campaign=campaign_a, store=store_a)
    store_campaign_confirm(store_campaign=store_campaign_a, by=users["owner_a"])
    store_campaign_a.refresh_from_db()
    broadcast_a = Broadcast.objects.get(store_campaign=store_campaign_a)
    offer_a = GroupBuyOfferFactory(broadcast=broadcast_a, product=product_a)
    purchase_order_a = consolidated_purchase_order(supplier=supplier_a, stores=[store_a])
    shipped_order_a = purchase_order_move(
        consolidated_purchase_order(
            supplier=supplier_a,
            stores=[store_a],
            names=("赣南脐橙", "烟台苹果"),
            lead_time_days=3,  # another delivery date: a purchase order of its own
        ),
        status=PurchaseOrder.Status.SHIPPED,
    )
    # Received at A, one unit short on the first line: a receipt line supplier A may dispute
    # (a dispute claims more than the store recorded).
    received_order_a = purchase_order_move(
        consolidated_purchase_order(
            supplier=supplier_a,
            stores=[store_a],
            names=("舟山带鱼", "五常大米"),
            lead_time_days=4,
        ),
        status=PurchaseOrder.Status.SHIPPED,
    )
    receipt_a = receipt_record(
        purchase_order=received_order_a,
        store=store_a,
        lines={
            allocation.pk: (allocation.receipt_quantity - short, short, 0)
            for index, allocation in enumerate(
                shelf_quantities_attach(
                    PurchaseOrderAllocation.objects.filter(
                        line__purchase_order=received_order_a
                    ).order_by("pk")
                )
            )
            for short in [1 if index == 0 else 0]
        },
        by=users["owner_a"],
    )
    receipt_line_a = receipt_a.lines.select_related("allocation").order_by("pk").first()
    member_order_a = paid_order(
        store=store_a, member=member_a, lines=[(product_a, 2, Decimal("9.90"))]
    )
    fulfilments_open(order_ids=[member_order_a.pk])
    fulfilments_ready(store_id=store_a.pk, order_ids=[member_order_a.pk], by=None)
    case_a = case_open(
        store=store_a,
        order=member_order_a,
        kind="quality",
        quantity=1,
        amount=Decimal("5.00"),
        description="Soft berries",
        photos=[_photo()],
        by=users["owner_a"],
    )
    member_order_b = paid_order(
        store=store_b, member=member_b, lines=[(product_a, 1, Decimal("9.90"))]
    )
    case_b = case_open(
        store=store_b,
        order=member_order_b,
        kind="late",
        quantity=1,
        amount=Decimal("2.00"),
        description="Two hours late",
        photos=[],
        by=users["owner_b"],
    )
    return World(
        users=users,
        store_a=store_a,
        store_b=store_b,
        member_a=member_a,
        member_b=member_b,
        device_a=device_a,
        alert_a=alert_a,
        card_a=card_a,
        inspection_a=inspection_a,
        photo_a=photo_a,
        rectification_a=rectification_a,
        draft_a=draft_a,
        supplier_a=supplier_a,
        supplier_b=supplier_b,
        campaign_a=campaign_a,
        store_campaign_a=store_campaign_a,
        broadcast_a=broadcast_a,
        offer_a=offer_a,
        purchase_order_a=purchase_order_a,
        product_a=product_a,
        offer_product_a=offer_product_a,
        shipped_order_a=shipped_order_a,
        receipt_line_a=receipt_line_a,
        member_order_a=member_order_a,
        case_a=case_a,
        case_photo_a=case_a.photos.get(),
        case_b=case_b,
        media_root=media_root,
        training=_training_rows(store=store_a, taker=users["owner_a"]),
    )


def _training_rows(*, store: Any, taker: Any) -> dict[str, int]:
    article = ArticleFactory(title="Blueberry storage")
    course, lessons, _questions = course_with_quiz(lessons=1, questions=1)
    path = PathCourseFactory(course=course).path
    attempt = QuizAttemptFactory(user=taker, store=store, course=course)
    return {
        "article_id": article.pk,
        "path_id": path.pk,
        "course_id": course.pk,
        "lesson_id": lessons[0].pk,
        "attempt_id": attempt.pk,
    }


@pytest.fixture(scope="module")
def world(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The rows every test reads, built once and rolled back after the module, with one signed-in
    session per role. Each test runs in a savepoint inside this transaction (`db`)."""
    media_root = tmp_path_factory.mktemp("access-matrix-media")
    with (
        django_db_blocker.unblock(),
        override_settings(
            MEDIA_ROOT=str(media_root),
            LANGUAGE_CODE="en",
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            # One query less per request, ~2,400 times; who may do what does not depend on it.
            SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        ),
        transaction.atomic(),
    ):
        built = _build_world(media_root)
        for role, user in built.users.items():
            if user is not None:
                client = Client()
                client.force_login(user)
                built.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
        yield built
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def db(world: World) -> Iterator[None]:
    """Replaces pytest-django's `db` in this module: a plain savepoint inside the module's
    transaction, undone after each test (even a logout). pytest-django's version builds a
    `TestCase` per test, which costs more than the request itself at ~2,400 tests. Being named
    `db` also tells pytest-django to create the test database for these tests."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _media_root() -> None:
    """Replaces the suite's per-test media root, which would hide the module's photos: the
    `world` fixture sets one for the whole module."""


def _client_for(world: World, role: str) -> Client:
    client = Client(raise_request_exception=False)
    if role in world.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


# --- asking and classifying -----------------------------------------------------------------------

LOGIN_PATHS = {resolve_url("portal:login"), reverse("admin:login")}


def _classify(kind: str, response: HttpResponse) -> Outcome | str:
    status = response.status_code
    if kind == "api" and status == 401:
        return Outcome.LOGIN
    if 300 <= status < 400:
        location = urlsplit(response.headers.get("Location", "")).path
        if location in LOGIN_PATHS:
            return Outcome.LOGIN if kind != "api" else f"{status} to {location}"
        return Outcome.ALLOW
    if 200 <= status < 300:
        return Outcome.ALLOW
    if status in (403, 404):
        return Outcome.DENY
    if status == 405:
        return Outcome.NOT_APPLICABLE
    return f"status {status}"


def _describe(response: HttpResponse) -> str:
    text = f"{response.status_code}"
    if "Location" in response.headers:
        text += f" → {response.headers['Location']}"
    exc_info = getattr(response, "exc_info", None)
    if exc_info:
        text += f" raising {exc_info[1]!r}"
    return text


def _url(route: Route, world: World) -> str:
    values = world.path_values(route.key)
    missing = [name for name in route.parameters if name not in values]
    if missing:
        pytest.fail(
            f"{route.key}: no fixture value for path parameter(s) {missing}; "
            "add them to World.path_values"
        )
    if route.name is None:
        return "/" + route.pattern
    return reverse(route.name, kwargs={name: values[name] for name in route.parameters})


# The query string a read needs to be a valid request (without it an allowed role gets a 400).
READ_QUERIES: dict[str, Callable[[], dict[str, str]]] = {
    "devices:store-live-lines": lambda: {
        "since": (timezone.now() - dt.timedelta(hours=1)).isoformat()
    },
}


def _ask(route: Route, role: str, mode: str, world: World) -> HttpResponse:
    client = _client_for(world, role)
    url = _url(route, world)
    if mode == "read":
        return client.get(url, READ_QUERIES.get(route.key, dict)())
    body = (
        WORLD_BODIES[route.key](world)
        if route.key in WORLD_BODIES
        else WRITE_BODIES.get(route.key, dict)()
    )
    method = getattr(client, route.write_method)
    if route.kind == "api":
        return method(url, data=json.dumps(body), content_type="application/json")
    if route.write_method == "post":
        return client.post(url, data=body)
    return method(url, data=body)


def _expected(route: Route, role: str, mode: str) -> Outcome:
    read, write = ROUTES[route.key]
    return POLICIES[read if mode == "read" else write].outcomes[role]


@pytest.mark.parametrize(("route", "role", "mode"), _matrix_cases(MATRIX_ROUTES))
def test_route_answers_each_role_as_declared(
    route: Route, role: str | None, mode: str | None, world: World
) -> None:
    if role is None or mode is None:
        pytest.fail(
            f"route {route.key!r} ({route.pattern}) has no row in ROUTES of "
            f"tests/linli/test_access_matrix.py: add one (see docs/testing.md, 'Adding a route')"
        )
    expected = _expected(route, role, mode)
    response = _ask(route, role, mode, world)
    actual = _classify(route.kind, response)
    assert actual == expected, (
        f"{route.key} as {role}, {mode}: declared {expected.name}, got "
        f"{getattr(actual, 'name', actual)} ({_describe(response)})"
    )


# --- the table itself ---------------------------------------------------------------------------


def test_every_row_names_a_route_that_exists() -> None:
    walked = {route.key for route in ALL_ROUTES}
    stale = sorted(set(ROUTES) - walked)
    assert stale == [], f"rows without a route (remove them from ROUTES): {stale}"


def test_every_route_has_its_own_key() -> None:
    """Two routes with one name would share a row (and only one would be asked): name them."""
    keys = [route.key for route in ALL_ROUTES]
    assert sorted({key for key in keys if keys.count(key) > 1}) == []


def test_every_row_uses_declared_policies() -> None:
    unknown = {
        policy
        for read, write in ROUTES.values()
        for policy in (read, write)
        if policy != ADMIN_FAMILY and policy not in POLICIES
    }
    assert unknown == set()
    assert all(len(policy.outcomes) == len(ROLES) for policy in POLICIES.values())


def test_hq_columns_follow_the_groups_permissions(world: World) -> None:
    """docs/access.md: HQ gets an action exactly when its group holds the action's admin
    permission; superusers hold all; an action without one (INSPECT, RECTIFY) is not HQ's."""
    wrong = []
    for name, policy in POLICIES.items():
        if policy.hq_permission is None:
            continue
        outcomes = policy.outcomes
        for role in (*HQ_GROUPS, "superuser"):
            user = world.users[role]
            if policy.hq_permission == NOT_FOR_HQ:
                allowed = False
            else:
                allowed = user.has_perm(policy.hq_permission)
            if (outcomes[role] == Outcome.ALLOW) != allowed:
                wrong.append(f"{name}/{role}: {outcomes[role].name}, permission: {allowed}")
    assert wrong == []


# --- the OpenAPI schema -------------------------------------------------------------------------


def _schema_operations() -> list[tuple[str, str]]:
    from drf_spectacular.generators import SchemaGenerator

    try:
        schema = SchemaGenerator().get_schema(request=None, public=True)
    except Exception as error:  # noqa: BLE001 — any failure is the finding
        pytest.fail(f"drf-spectacular cannot build the schema (/api/schema/ is broken): {error!r}")
    return [
        (path, method)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete", "head")
    ]


def test_every_api_operation_has_a_row_with_its_method() -> None:
    """Each documented (path, method) resolves to a route with a row; a documented write is the
    method the matrix sends; an operation the schema documents is not declared n/a for all."""
    operations = _schema_operations()
    routes = {route.key: route for route in MATRIX_ROUTES}
    problems = []
    documented = set()
    for path, method in operations:
        try:
            key = resolve(re.sub(r"\{[^}]+\}", "1", path)).view_name
        except Resolver404:
            problems.append(f"{method.upper()} {path}: documented but no URL route answers it")
            continue
        documented.add(key)
        if key not in ROUTES:
            problems.append(f"{method.upper()} {path}: route {key!r} has no row")
            continue
        mode = "read" if method in ("get", "head") else "write"
        if mode == "write" and routes[key].write_method != method:
            problems.append(f"{method.upper()} {path}: the matrix sends {routes[key].write_method}")
        policy = ROUTES[key][0 if mode == "read" else 1]
        if policy in ("NOT_OFFERED", "NOT_OFFERED_TO_ANYONE"):
            problems.append(f"{method.upper()} {path}: documented but declared {policy}")
    undocumented = sorted(
        route.key for route in MATRIX_ROUTES if route.kind == "api" and route.key != "api-schema"
    )
    undocumented = [key for key in undocumented if key not in documented]
    assert problems == []
    assert undocumented == [], "API routes missing from /api/schema/"


# --- websockets ---------------------------------------------------------------------------------

CLOSE_FORBIDDEN = 4403
IN_MEMORY_LAYER = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
ORIGIN = b"http://testserver"


def _websocket_cases() -> list[Any]:
    return _matrix_cases(WEBSOCKET_ROUTES)


def _websocket_outcome(path: str, cookie: bytes | None, mode: str, role: str) -> Outcome | str:
    headers = [(b"host", b"testserver"), (b"origin", ORIGIN)]
    if cookie is not None:
        headers.append((b"cookie", cookie))

    async def run() -> Outcome | str:
        from linli.asgi import application

        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=10)
        # Refusal is accept-then-close (README, "Health and realtime"): a close as the first
        # frame after the handshake counts as not connected, with its code.
        if connected and not await communicator.receive_nothing(timeout=0.1):
            first = await communicator.receive_output()
            if first["type"] == "websocket.close":
                connected, code = False, first.get("code")
        try:
            if not connected:
                if code != CLOSE_FORBIDDEN:
                    return f"closed {code}"
                if mode == "write":
                    return Outcome.NOT_APPLICABLE  # nothing can be written on a refused socket
                return Outcome.LOGIN if role == "anonymous" else Outcome.DENY
            if mode == "read":
                return Outcome.ALLOW
            await communicator.send_to(text_data=json.dumps({"type": "write", "text": "x"}))
            ignored = await communicator.receive_nothing(timeout=0.2)
            return Outcome.NOT_APPLICABLE if ignored else Outcome.ALLOW
        finally:
            await communicator.disconnect()

    return async_to_sync(run)()


@pytest.mark.parametrize(("route", "role", "mode"), _websocket_cases())
def test_websocket_answers_each_role_as_declared(
    route: Route, role: str | None, mode: str | None, world: World, monkeypatch: Any
) -> None:
    """Run through `async_to_sync` from this (sync) test so the consumer's database calls run on
    this thread and see the module's uncommitted rows; channels would otherwise close this
    connection between calls (it is inside a transaction), so that is switched off here. The
    in-memory channel layer is used: each `async_to_sync` call runs a new event loop, which
    channels-redis connections do not survive, and the layer is not what this test checks."""
    if role is None or mode is None:
        pytest.fail(f"websocket route {route.key!r} ({route.pattern}) has no row in ROUTES")
    monkeypatch.setattr("channels.db.close_old_connections", lambda: None)
    cookie = None
    if role in world.sessions:
        cookie = f"{settings.SESSION_COOKIE_NAME}={world.sessions[role]}".encode()
    values = world.path_values(route.key)
    path = "/" + re.sub(
        r"<(?:\w+:)?(\w+)>", lambda match: str(values[match.group(1)]), route.pattern
    )
    expected = _expected(route, role, mode)
    with override_settings(CHANNEL_LAYERS=IN_MEMORY_LAYER):
        actual = _websocket_outcome(path, cookie, mode, role)
    assert actual == expected, (
        f"{route.key} as {role}, {mode}: declared {expected.name}, got "
        f"{getattr(actual, 'name', actual)}"
    )


# --- the admin family ---------------------------------------------------------------------------


STAFF = [role for role in ROLES if role not in NOT_STAFF]


def _admin_ask(client: Client, app_label: str, model_name: str, mode: str) -> HttpResponse:
    """Read: the changelist. Write: an empty POST to the add form (a form with errors when
    allowed, so nothing is saved)."""
    if mode == "read":
        return client.get(reverse(f"admin:{app_label}_{model_name}_changelist"))
    return client.post(reverse(f"admin:{app_label}_{model_name}_add"), data={})


@pytest.mark.parametrize("mode", ["read", "write"])
@pytest.mark.parametrize("role", NOT_STAFF)
def test_admin_sends_everyone_but_staff_to_its_login(role: str, mode: str, world: World) -> None:
    """One rule for the whole family, so one test per role and mode walks every model."""
    client = _client_for(world, role)
    wrong = []
    for app_label, model_name in _admin_models():
        response = _admin_ask(client, app_label, model_name, mode)
        if _classify("admin", response) != Outcome.LOGIN:
            wrong.append(f"admin {app_label}.{model_name}: {_describe(response)}")
    assert wrong == []


def _admin_expected(app_label: str, model_name: str, role: str, mode: str, world: World) -> Outcome:
    """The changelist is 200 iff the user holds the model's view or change permission; the add
    form iff the user holds the add permission and the admin offers adding at all."""
    user = world.users[role]
    if mode == "read":
        allowed = user.has_perm(f"{app_label}.view_{model_name}") or user.has_perm(
            f"{app_label}.change_{model_name}"
        )
        return Outcome.ALLOW if allowed else Outcome.DENY
    model_admin = next(
        model_admin
        for model, model_admin in admin.site._registry.items()
        if (model._meta.app_label, model._meta.model_name) == (app_label, model_name)
    )
    request = RequestFactory().get("/admin/")
    request.user = world.users["superuser"]
    offered = model_admin.has_add_permission(request)
    allowed = offered and user.has_perm(f"{app_label}.add_{model_name}")
    return Outcome.ALLOW if allowed else Outcome.DENY


@pytest.mark.parametrize(
    ("app_label", "model_name", "role", "mode"),
    [
        pytest.param(
            app_label, model_name, role, mode, id=f"admin:{app_label}.{model_name}|{role}|{mode}"
        )
        for app_label, model_name in _admin_models()
        for role in STAFF
        for mode in ("read", "write")
    ],
)
def test_admin_answers_staff_by_their_permissions(
    app_label: str, model_name: str, role: str, mode: str, world: World
) -> None:
    response = _admin_ask(_client_for(world, role), app_label, model_name, mode)
    expected = _admin_expected(app_label, model_name, role, mode, world)
    actual = _classify("admin", response)
    assert actual == expected, (
        f"admin {app_label}.{model_name} as {role}, {mode}: declared {expected.name}, got "
        f"{getattr(actual, 'name', actual)} ({_describe(response)})"
    )


# The admin's own report pages are in the family too, but their permission is not a model's
# changelist: each gets its row here. HQ's loss report (docs/loss.md) asks
# `stores.view_stockmovement`, which every HQ group holds; the page and its CSV alike.
LOSS_REPORT_POLICY = "L  L  L  L  L  L  L  L  A  A  A  A"
LOSS_REPORT_PERMISSION = "stores.view_stockmovement"


@pytest.mark.parametrize("download", [False, True], ids=["page", "csv"])
@pytest.mark.parametrize("role", ROLES)
def test_admin_loss_report_answers_each_role_as_declared(
    role: str, download: bool, world: World
) -> None:
    expected = dict(zip(ROLES, (_CELLS[cell] for cell in LOSS_REPORT_POLICY.split()), strict=True))
    query = {"download": "csv"} if download else {}
    response = _client_for(world, role).get(
        reverse("admin:stores_stockmovement_loss_report"), query
    )
    actual = _classify("admin", response)
    assert actual == expected[role], (
        f"loss report as {role}: declared {expected[role].name}, got "
        f"{getattr(actual, 'name', actual)} ({_describe(response)})"
    )
    if role in STAFF:
        assert world.users[role].has_perm(LOSS_REPORT_PERMISSION) == (
            expected[role] == Outcome.ALLOW
        )
    if expected[role] == Outcome.ALLOW:
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv" if download else "text/html")


# --- what HQ inspection may change, and who issues till tokens (docs/access.md) ---------------


def _terminal_action(client: Client, action: str, terminal: Any) -> HttpResponse:
    return client.post(
        reverse("admin:stores_storeterminal_changelist"),
        data={"action": action, ACTION_CHECKBOX_NAME: [terminal.pk], "index": 0},
    )


@pytest.mark.parametrize("action", ["reissue_tokens", "revoke_tokens"])
@pytest.mark.parametrize("role", ["hq_inspection", "hq_procurement", "change_terminals_only"])
def test_only_token_issuers_may_reissue_or_revoke_terminal_tokens(
    role: str, action: str, world: World
) -> None:
    """`change_storeterminal` (renaming a till) is not enough: re-issuing and revoking ask
    `stores.issue_terminal_token`, which only HQ operations holds."""
    if role == "change_terminals_only":
        user = UserFactory(username="change_terminals_only", is_staff=True)
        user.user_permissions.set(
            Permission.objects.filter(
                content_type__app_label="stores",
                codename__in=["view_storeterminal", "change_storeterminal", "add_storeterminal"],
            )
        )
        client = Client()
        client.force_login(user)
    else:
        client = _client_for(world, role)
    terminal, _token = terminal_issue(store=world.store_a, name="Till 9")
    response = _terminal_action(client, action, terminal)
    # 403 without view permission; the changelist again (or back to it) without the action.
    assert response.status_code in (200, 302, 403)
    assert b"copy them now" not in response.content
    terminal.refresh_from_db()
    assert terminal.revoked_at is None
    assert StoreTerminal.objects.filter(store=world.store_a).count() == 1
    # Adding a terminal issues a token: refused as well, and nothing is written.
    added = client.post(
        reverse("admin:stores_storeterminal_add"), data={"store": world.store_a.pk, "name": "X"}
    )
    assert added.status_code == 403
    assert StoreTerminal.objects.filter(store=world.store_a).count() == 1


def test_hq_operations_reissue_terminal_tokens(world: World) -> None:
    assert world.users["hq_operations"].has_perm("stores.issue_terminal_token")
    terminal, _token = terminal_issue(store=world.store_a, name="Till 9")
    response = _terminal_action(_client_for(world, "hq_operations"), "reissue_tokens", terminal)
    assert response.status_code == 200
    assert b"copy them now" in response.content
    terminal.refresh_from_db()
    assert terminal.revoked_at is not None
    assert StoreTerminal.objects.filter(store=world.store_a, revoked_at=None).count() == 1


def _hq_inspection_read_only_objects(world: World) -> list[tuple[str, Any, dict[str, Any]]]:
    staff = StoreStaff.objects.filter(store=world.store_a).order_by("pk").first()
    return [
        ("store", world.store_a, {"name": "Renamed by HQ inspection"}),
        ("order", world.member_order_a, {"status": Order.Status.CANCELLED}),
        ("storestaff", staff, {"role": "owner"}),
    ]


def test_hq_inspection_reads_but_cannot_change_stores_orders_or_staff(world: World) -> None:
    client = _client_for(world, "hq_inspection")
    for model_name, obj, changes in _hq_inspection_read_only_objects(world):
        url = reverse(f"admin:stores_{model_name}_change", args=[obj.pk])
        page = client.get(url)
        assert page.status_code == 200, model_name
        assert b'name="_save"' not in page.content, model_name
        before = {field: getattr(type(obj).objects.get(pk=obj.pk), field) for field in changes}
        assert client.post(url, data=changes).status_code == 403, model_name
        after = {field: getattr(type(obj).objects.get(pk=obj.pk), field) for field in changes}
        assert after == before, model_name


def test_hq_inspection_still_reviews_inspections_and_edits_checklists(world: World) -> None:
    client = _client_for(world, "hq_inspection")
    review = reverse("admin:stores_inspection_review", args=[world.inspection_a.pk])
    assert client.get(review).status_code == 200
    template = ChecklistTemplate.objects.order_by("pk").first()
    page = client.get(reverse("admin:stores_checklisttemplate_changelist"))
    assert page.status_code == 200
    assert template is not None
    user = world.users["hq_inspection"]
    assert user.has_perms(
        [
            "stores.change_inspection",
            "stores.change_checklisttemplate",
            "stores.add_rectificationitem",
            "stores.view_store",
            "stores.view_order",
        ]
    )
    assert not any(
        user.has_perm(f"stores.{codename}")
        for codename in (
            "change_store",
            "change_order",
            "change_storestaff",
            "change_stocklevel",
            "change_region",
            "view_storeterminal",
            "change_storeterminal",
            "issue_terminal_token",
        )
    )


def test_hq_inspection_reads_devices_and_alerts_but_changes_none(world: World) -> None:
    """A cold-chain check reads the devices and their alerts; registering a device, its token
    and acting on an alert are not the inspection's (docs/access.md)."""
    client = _client_for(world, "hq_inspection")
    user = world.users["hq_inspection"]
    device, alert = world.device_a, world.alert_a
    for name in ("device", "devicealert", "devicereading", "devicekindthreshold"):
        assert client.get(reverse(f"admin:devices_{name}_changelist")).status_code == 200, name
    assert client.get(reverse("admin:devices_device_change", args=[device.pk])).status_code == 200
    assert not [
        perm
        for perm in user.get_all_permissions()
        if perm.startswith("devices.") and not perm.startswith("devices.view_")
    ]
    token_before = type(device).objects.values_list("token_hash", "revoked_at").get(pk=device.pk)
    for action in ("issue_token", "revoke_token"):
        client.post(
            reverse("admin:devices_device_changelist"),
            data={"action": action, ACTION_CHECKBOX_NAME: [device.pk], "index": 0},
        )
    assert (
        type(device).objects.values_list("token_hash", "revoked_at").get(pk=device.pk)
        == token_before
    )
    devices_before = type(device).objects.count()
    added = client.post(
        reverse("admin:devices_device_add"), data={"store": world.store_a.pk, "name": "X"}
    )
    assert added.status_code == 403
    assert type(device).objects.count() == devices_before
    client.post(
        reverse("admin:devices_devicealert_changelist"),
        data={"action": "acknowledge", ACTION_CHECKBOX_NAME: [alert.pk], "index": 0},
    )
    alert.refresh_from_db()
    assert alert.status == DeviceAlert.Status.OPEN


# --- what lists, exports and downloads contain --------------------------------------------------


def _markers(world: World) -> dict[str, tuple[str, str]]:
    """Per (route, role): what must be there, what must not (the other store's or supplier's)."""
    store_a, store_b = world.store_a, world.store_b
    return {
        "members:list|owner_a": (world.member_a.name, world.member_b.name),
        "members:list|owner_b": (world.member_b.name, world.member_a.name),
        "api-stores|owner_a": (store_a.code, store_b.code),
        "api-stores|owner_b": (store_b.code, store_a.code),
        "api-stores|inspector_b": (store_b.code, store_a.code),
        "api-stores|clerk_a": (store_a.code, store_b.code),
        "inspections:index|owner_a": (store_a.name, store_b.name),
        "inspections:index|inspector_b": (store_b.name, store_a.name),
        "supplier:home|supplier_a": (world.supplier_a.name, world.supplier_b.name),
        "supplier:home|supplier_b": (world.supplier_b.name, world.supplier_a.name),
        "supply:cases|owner_a": (world.case_a.number, world.case_b.number),
    }


LIST_CASES = [
    "members:list|owner_a",
    "members:list|owner_b",
    "api-stores|owner_a",
    "api-stores|owner_b",
    "api-stores|inspector_b",
    "api-stores|clerk_a",
    "inspections:index|owner_a",
    "inspections:index|inspector_b",
    "supplier:home|supplier_a",
    "supplier:home|supplier_b",
    "supply:cases|owner_a",
]


@pytest.mark.parametrize("case", LIST_CASES)
def test_lists_hold_only_the_users_own_rows(case: str, world: World) -> None:
    route_key, role = case.split("|")
    present, absent = _markers(world)[case]
    store = world.store_b if role.endswith("_b") else world.store_a
    route = next(route for route in MATRIX_ROUTES if route.key == route_key)
    kwargs = {"store_id": store.pk} if "store_id" in route.parameters else {}
    response = _client_for(world, role).get(reverse(route.name, kwargs=kwargs))
    assert response.status_code == 200, _describe(response)
    text = response.content.decode()
    assert present in text
    assert absent not in text


def test_the_list_table_covers_every_scoped_list() -> None:
    listed = {case.split("|")[0] for case in LIST_CASES}
    scoped = {key for key, (read, _write) in ROUTES.items() if read == "SCOPED_LIST"}
    assert scoped <= listed


STORE_PAGE_READERS = [
    role for role in ROLES if POLICIES["VIEW_STORE"].outcomes[role] == Outcome.ALLOW
]
STORE_PAGE_LINKS = ("members:list", "decisions:store", "devices:store", "inspections:store")
STORE_PAGE_LINKS += ("training:store",)


@pytest.mark.parametrize("role", STORE_PAGE_READERS)
def test_store_page_shows_member_names_and_links_only_to_those_allowed(
    role: str, world: World
) -> None:
    """docs/access.md: member names on the store page are MEMBER_DATA, and a page links only to
    pages the user may open."""
    response = _client_for(world, role).get(reverse("portal:store", args=[world.store_a.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    may_see_members = POLICIES["MEMBER_DATA"].outcomes[role] == Outcome.ALLOW
    assert (world.member_a.name in text) is may_see_members
    for name in STORE_PAGE_LINKS:
        href = f'href="{reverse(name, args=[world.store_a.pk])}"'
        may_open = _expected(_route(name), role, "read") == Outcome.ALLOW
        if href in text:
            assert may_open, f"{role} is shown a link to {name}, which refuses them"


def _route(key: str) -> Route:
    return next(route for route in ALL_ROUTES if route.key == key)


STORE_SCOPED = [
    route for route in MATRIX_ROUTES if "store_id" in route.parameters and route.key in ROUTES
]


@pytest.mark.parametrize("route", STORE_SCOPED, ids=str)
def test_an_unknown_store_answers_like_a_foreign_one(route: Route, world: World) -> None:
    """docs/access.md: an unknown store id and a store the user may not see give the same
    answer, so ids cannot be probed (owner B asks for store A and for a store that is not)."""
    read, write = ROUTES[route.key]
    mode = "write" if read == "NOT_OFFERED" else "read"
    answers = []
    for store_id in (world.store_a.pk, world.store_a.pk + world.store_b.pk + 10_000):
        client = _client_for(world, "owner_b")
        values = {**world.path_values(route.key), "store_id": store_id}
        url = reverse(route.name, kwargs={name: values[name] for name in route.parameters})
        if mode == "read":
            answers.append(client.get(url).status_code)
        else:
            answers.append(getattr(client, route.write_method)(url).status_code)
    assert answers[0] == answers[1]
    assert answers[0] == 403


# --- member data and pickup codes in the admin ----------------------------------------------------
# docs/access.md: member data is refused "in the admin and the portal alike". Staff without
# customers.view_member see a member as the portal shows it ("Member 3704", no name, number or
# link) on every admin page and export; the whole pickup code is shown to nobody.

PICKUP_CODE = "918273"  # set on member A's open order: six digits no other page text holds
CHAT_NAME = "Matrixa Chatname"  # member A's name in a 接龙 chat (member data, like the name)
# What member A wrote, or what was written to or about them: hidden without member data.
MEMBER_TEXTS = {
    "NPS comment": "Quietplum comment on the plums",
    "chat message": "Quietplum chat: any berries left?",
    "live comment": "Quietplum live: two boxes please",
    "live comment author": "Quietplum Viewername",
    "message to the member": "Quietplum note: your plums wait at the counter",
    # Typed by the store's staff: a same-city delivery note, a stock movement's note.
    "delivery note": "Quietplum delivery: gate 3, ask for the member",
    "stock note": "Quietplum stock: returned, the member changed their mind",
    # A member tag's evidence: the quote of a chat message the recompute found, a staff note.
    "tag chat evidence": "Quietplum tag: call me on the new number",
    "tag note": "Quietplum tagnote: twins",
}
# The after-sales complaint: its substance stays for the deciders, the member in it does not.
CASE_COMPLAINT = "Berries went soft overnight"
# Staff refused member data: the declared groups without customers.view_member, and a user with
# every permission but the member ones (every admin that can show a member, campaigns and
# customers included, opens to it).
WITHOUT_MEMBERS = ["hq_procurement", "hq_inspection", "all_but_members"]
ROWS_PER_MODEL = 10


def _member_rows(world: World) -> None:
    """Rows on member A in every admin the world does not reach yet (inside the test's
    savepoint), and the known pickup code."""
    fulfilment = OrderFulfilment.objects.get(order=world.member_order_a)
    # The "ready for pickup" message carries the code too.
    for message in Notification.objects.filter(body__contains=fulfilment.pickup_code):
        message.body = message.body.replace(fulfilment.pickup_code, PICKUP_CODE)
        message.save(update_fields=["body"])
    OrderFulfilment.objects.filter(order=world.member_order_a).update(
        pickup_code=PICKUP_CODE, delivery_note=MEMBER_TEXTS["delivery note"]
    )
    assert Notification.objects.filter(body__contains=PICKUP_CODE).exists()
    member = world.member_a
    NpsAnswer.objects.create(
        member=member, store=world.store_a, score=9, comment=MEMBER_TEXTS["NPS comment"]
    )
    MemberTag.objects.create(
        member=member,
        tag=Tag.objects.create(name="Berry fan"),
        source=MemberTag.Source.CHAT,
        evidence_facts=[
            {"code": "chat", "text": MEMBER_TEXTS["tag chat evidence"], "day": "2026-11-20"}
        ],
        evidence=MEMBER_TEXTS["tag note"],
    )
    CommunityMessage.objects.create(
        store=world.store_a,
        group_name="Alpha group",
        member=member,
        text=MEMBER_TEXTS["chat message"],
        sent_at=timezone.now(),
    )
    BroadcastComment.objects.create(
        broadcast=world.broadcast_a,
        member=member,
        author=MEMBER_TEXTS["live comment author"],
        text=MEMBER_TEXTS["live comment"],
    )
    Notification.objects.create(
        member=member,
        store=world.store_a,
        channel=Notification.Channel.SMS,
        kind="after_sales.rejected",
        title="After-sales request",
        body=MEMBER_TEXTS["message to the member"],
        dedupe_key="matrix:member-text",
    )
    # As an owner types a complaint: the member's name and phone in it.
    world.case_a.description = (
        f"{member.name} ({member.phone.removeprefix('+86')}): {CASE_COMPLAINT}"
    )
    world.case_a.save(update_fields=["description"])
    GroupBuyJoinFactory(offer=world.offer_a, member=member, display_name=CHAT_NAME)
    CampaignTargetFactory(store_campaign=world.store_campaign_a, member=member)
    line = world.member_order_a.lines.select_related("product").first()
    assert line is not None
    stock_move(
        store=world.store_a,
        product=line.product,
        kind=StockMovement.Kind.RETURN,
        quantity=1,
        order=world.member_order_a,
        note=MEMBER_TEXTS["stock note"],
        by=world.users["owner_a"],
    )


def _staff_user(world: World, role: str) -> Any:
    if role != "all_but_members":
        return world.users[role]
    user = UserFactory(username="all_but_members", is_staff=True)
    user.user_permissions.set(
        Permission.objects.exclude(
            content_type__app_label="customers", codename__endswith="_member"
        )
    )
    return user


def _member_leaks(text: str, world: World) -> list[str]:
    member = world.member_a
    forbidden = {
        "member name": member.name,
        "member number": member.member_no,
        "member phone": member.phone.removeprefix("+86"),
        "chat name": CHAT_NAME,
        "member link": reverse("admin:customers_member_change", args=[member.pk]),
        "pickup code": PICKUP_CODE,
        **MEMBER_TEXTS,
    }
    return [label for label, value in forbidden.items() if value in text]


def _admin_pages(client: Client, user: Any) -> Iterator[tuple[str, HttpResponse]]:
    """Every changelist the user may open and the change pages of its first rows."""
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        request = RequestFactory().get("/admin/")
        request.user = user
        if not model_admin.has_view_or_change_permission(request):
            continue
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        yield changelist, client.get(changelist)
        for pk in model._default_manager.order_by("-pk").values_list("pk", flat=True)[
            :ROWS_PER_MODEL
        ]:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
            yield change, client.get(change)


@pytest.mark.parametrize("role", WITHOUT_MEMBERS)
def test_admin_pages_show_no_member_and_no_pickup_code_without_member_data(
    role: str, world: World
) -> None:
    _member_rows(world)
    user = _staff_user(world, role)
    assert not user.has_perm("customers.view_member")
    client = Client()
    client.force_login(user)
    leaks, opened = [], 0
    for url, response in _admin_pages(client, user):
        assert response.status_code in (200, 302), f"{url}: {_describe(response)}"
        opened += 1
        leaks += [f"{url}: {leak}" for leak in _member_leaks(response.content.decode(), world)]
    assert leaks == []
    assert opened > 10
    # The member shows as the portal shows it.
    order = client.get(reverse("admin:stores_order_change", args=[world.member_order_a.pk]))
    assert f"Member {world.member_a.member_no[-4:]}" in order.content.decode()


@pytest.mark.parametrize("role", WITHOUT_MEMBERS)
def test_admin_finds_no_row_by_member_or_pickup_code_without_member_data(
    role: str, world: World
) -> None:
    _member_rows(world)
    user = _staff_user(world, role)
    client = Client()
    client.force_login(user)
    member = world.member_a
    searches = [
        ("stores_order", member.member_no),
        ("procurement_aftersalescase", member.name),
        ("stores_orderfulfilment", PICKUP_CODE),
    ]
    if role == "all_but_members":
        searches += [
            ("campaigns_groupbuyjoin", CHAT_NAME),
            ("campaigns_groupbuyjoin", member.member_no),
            ("campaigns_campaigntarget", member.name),
            ("customers_npsanswer", member.member_no),
            ("customers_membertag", member.name),
            ("customers_communitymessage", member.member_no),
            ("customers_npsanswer", MEMBER_TEXTS["NPS comment"]),
            ("customers_communitymessage", MEMBER_TEXTS["chat message"]),
            ("customers_membertag", MEMBER_TEXTS["tag chat evidence"]),
            ("customers_membertag", MEMBER_TEXTS["tag note"]),
            ("campaigns_broadcastcomment", MEMBER_TEXTS["live comment"]),
            ("campaigns_broadcastcomment", MEMBER_TEXTS["live comment author"]),
        ]
    searched = 0
    for model, term in searches:
        if not user.has_perm(model.replace("_", ".view_", 1)):
            continue
        url = reverse(f"admin:{model}_changelist")
        found = client.get(url, {"q": term}).context["cl"]
        nothing = client.get(url, {"q": "no-such-thing"}).context["cl"]
        # The term finds what a term that matches nothing finds (no rows, or every row where
        # nothing is left to search in).
        assert list(found.result_list) == list(nothing.result_list), (model, term)
        searched += 1
    assert searched >= 2
    # No member lookups behind the form: the member list and its autocomplete refuse.
    assert client.get(reverse("admin:customers_member_changelist")).status_code == 403
    autocomplete = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "stores", "model_name": "order", "field_name": "member", "term": "M"},
    )
    assert autocomplete.status_code == 403


def test_admin_shows_the_member_to_staff_with_member_data(world: World) -> None:
    _member_rows(world)
    client = _client_for(world, "hq_operations")
    member = world.member_a
    member_link = reverse("admin:customers_member_change", args=[member.pk])
    pages = [
        reverse("admin:stores_order_changelist"),
        reverse("admin:stores_order_change", args=[world.member_order_a.pk]),
        reverse("admin:procurement_aftersalescase_change", args=[world.case_a.pk]),
    ]
    for url in pages:
        text = client.get(url).content.decode()
        assert member.name in text, url
    order = client.get(pages[1]).content.decode()
    assert member.member_no in order
    assert member_link in order
    found = client.get(reverse("admin:stores_order_changelist"), {"q": member.member_no})
    assert found.context["cl"].result_count == 2  # the POS order and the pickup order


def _member_text_pages() -> list[tuple[str, str, str]]:
    """(admin model, planted text, page kind) for every admin page showing member text."""
    return [
        ("customers_npsanswer", MEMBER_TEXTS["NPS comment"], "list"),
        ("customers_npsanswer", MEMBER_TEXTS["NPS comment"], "change"),
        ("customers_communitymessage", MEMBER_TEXTS["chat message"], "list"),
        ("customers_communitymessage", MEMBER_TEXTS["chat message"], "change"),
        ("campaigns_broadcastcomment", MEMBER_TEXTS["live comment"], "list"),
        ("campaigns_broadcastcomment", MEMBER_TEXTS["live comment"], "change"),
        ("campaigns_broadcastcomment", MEMBER_TEXTS["live comment author"], "list"),
        ("campaigns_broadcastcomment", MEMBER_TEXTS["live comment author"], "change"),
        ("campaigns_notification", MEMBER_TEXTS["message to the member"], "change"),
        ("stores_orderfulfilment", MEMBER_TEXTS["delivery note"], "change"),
        ("stores_stockmovement", MEMBER_TEXTS["stock note"], "list"),
        ("stores_stockmovement", MEMBER_TEXTS["stock note"], "change"),
        ("customers_membertag", MEMBER_TEXTS["tag chat evidence"], "list"),
        ("customers_membertag", MEMBER_TEXTS["tag chat evidence"], "change"),
        ("customers_membertag", MEMBER_TEXTS["tag note"], "list"),
        ("customers_membertag", MEMBER_TEXTS["tag note"], "change"),
    ]


# The row holding the planted text, where it is not the model's newest.
PLANTED_IN = {"stores_orderfulfilment": "delivery_note"}


def _member_text_url(model: str, kind: str) -> str:
    if kind == "list":
        return reverse(f"admin:{model}_changelist")
    rows = django_apps.get_model(model.replace("_", ".", 1))._default_manager.all()
    if model in PLANTED_IN:
        rows = rows.filter(**{f"{PLANTED_IN[model]}__startswith": "Quietplum"})
    return reverse(f"admin:{model}_change", args=[rows.latest("pk").pk])


def test_admin_shows_member_texts_to_staff_with_member_data(world: World) -> None:
    """HQ operations (customers.view_member) read what members wrote, whole, and find it."""
    _member_rows(world)
    client = _client_for(world, "hq_operations")
    for model, planted, kind in _member_text_pages():
        url = _member_text_url(model, kind)
        assert planted in client.get(url).content.decode(), url
    case = client.get(reverse("admin:procurement_aftersalescase_change", args=[world.case_a.pk]))
    assert world.case_a.description in case.content.decode()
    for model, planted in [
        ("customers_npsanswer", MEMBER_TEXTS["NPS comment"]),
        ("customers_communitymessage", MEMBER_TEXTS["chat message"]),
        ("customers_membertag", MEMBER_TEXTS["tag chat evidence"]),
        ("customers_membertag", MEMBER_TEXTS["tag note"]),
        ("campaigns_broadcastcomment", MEMBER_TEXTS["live comment author"]),
    ]:
        found = client.get(reverse(f"admin:{model}_changelist"), {"q": planted}).context["cl"]
        assert found.result_count == 1, model


def test_admin_hides_member_texts_without_member_data(world: World) -> None:
    """Where a member's text was, staff without member data read the placeholder; a message
    to staff (not to a member) stays readable."""
    _member_rows(world)
    user = _staff_user(world, "all_but_members")
    client = Client()
    client.force_login(user)
    for model, planted, kind in _member_text_pages():
        url = _member_text_url(model, kind)
        response = client.get(url)
        with translation.override(response.wsgi_request.LANGUAGE_CODE):
            placeholder = str(MEMBER_TEXT_HIDDEN)
        text = response.content.decode()
        assert planted not in text, url
        if "author" not in planted:  # the chat name is left out, not replaced
            assert placeholder in text, url
    staff_message = Notification.objects.create(
        recipient=world.users["owner_a"],
        store=world.store_a,
        kind="device_alert",
        title="Fridge alert",
        body="Quietplum fridge 3 is warm",
        dedupe_key="matrix:staff-text",
    )
    staff_page = client.get(reverse("admin:campaigns_notification_change", args=[staff_message.pk]))
    assert staff_message.body in staff_page.content.decode()
    # Read-only: the change form of an NPS answer has no comment input to read it from.
    answer = NpsAnswer.objects.latest("pk")
    form = client.get(reverse("admin:customers_npsanswer_change", args=[answer.pk]))
    assert 'name="comment"' not in form.content.decode()


def test_after_sales_deciders_see_the_complaint_without_the_member(world: World) -> None:
    """HQ procurement decides after-sales cases without customers.view_member: the case's
    description is kept for them, the member's name and phone in it masked."""
    _member_rows(world)
    buyer = world.users["hq_procurement"]
    assert buyer.has_perm("procurement.decide_aftersalescase")
    assert not buyer.has_perm("customers.view_member")
    client = _client_for(world, "hq_procurement")
    text = client.get(
        reverse("admin:procurement_aftersalescase_change", args=[world.case_a.pk])
    ).content.decode()
    member = world.member_a
    assert f"{member.masked_label} ({phone_mask(member.phone)}): {CASE_COMPLAINT}" in text
    assert member.name not in text
    assert member.phone.removeprefix("+86") not in text
    assert 'name="description"' not in text


@pytest.mark.parametrize("role", ["hq_operations", "superuser"])
def test_admin_shows_only_the_pickup_code_hint_to_everyone(role: str, world: World) -> None:
    _member_rows(world)
    client = _client_for(world, role)
    pages = [
        reverse("admin:stores_orderfulfilment_changelist"),
        reverse("admin:stores_orderfulfilment_change", args=[world.member_order_a.pk]),
        reverse("admin:stores_orderfulfilment_history", args=[world.member_order_a.pk]),
        reverse(
            "admin:campaigns_notification_change",
            args=[Notification.objects.get(body__contains=PICKUP_CODE).pk],
        ),
    ]
    for url in pages:
        text = client.get(url).content.decode()
        assert PICKUP_CODE not in text, url
        assert "••••73" in text, url
    found = client.get(reverse("admin:stores_orderfulfilment_changelist"), {"q": PICKUP_CODE})
    assert found.context["cl"].result_count == 0


def _exports(client: Client, user: Any) -> Iterator[tuple[str, HttpResponse]]:
    """Every admin CSV export the user may run, with every column."""
    for model, model_admin in admin.site._registry.items():
        if not hasattr(model_admin, "has_export_permission"):
            continue
        request = RequestFactory().get("/admin/")
        request.user = user
        if not model_admin.has_export_permission(request):
            continue
        opts = model._meta
        data = {"format": "0", "resource": "0"}
        for resource in model_admin.get_export_resource_classes(request)[:1]:
            prefix = resource.__name__.lower()
            data.update({f"{prefix}_{name}": "on" for name in resource().get_export_order()})
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_export")
        yield url, client.post(url, data)


@pytest.mark.parametrize("role", WITHOUT_MEMBERS)
def test_admin_exports_hold_no_member_without_member_data(role: str, world: World) -> None:
    _member_rows(world)
    user = _staff_user(world, role)
    client = Client()
    client.force_login(user)
    leaks, exported = [], 0
    for url, response in _exports(client, user):
        assert response.status_code == 200, f"{url}: {_describe(response)}"
        assert response["Content-Type"].startswith("text/csv"), url
        exported += 1
        leaks += [f"{url}: {leak}" for leak in _member_leaks(response.content.decode(), world)]
    assert leaks == []
    assert exported >= (0 if role == "hq_inspection" else 2)
    # The member export is the member list: refused even with customers.export_member.
    user.user_permissions.add(Permission.objects.get(codename="export_member"))
    user = type(user).objects.get(pk=user.pk)  # fresh permission cache
    client.force_login(user)
    assert client.get(reverse("admin:customers_member_export")).status_code == 403


def test_member_export_holds_the_member_for_staff_with_member_data(world: World) -> None:
    client = _client_for(world, "hq_operations")
    data = {"format": "0", "resource": "0"}
    data.update({f"memberresource_{name}": "on" for name in MemberResource().get_export_order()})
    response = client.post(reverse("admin:customers_member_export"), data)
    assert response.status_code == 200
    assert world.member_a.name in response.content.decode()
