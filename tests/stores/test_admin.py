"""The HQ admin: every registered model's pages open, changelists do not grow their query count
with rows, portal users cannot get in, and phone numbers are masked for staff without
`customers.view_phone`.

The smoke tests iterate `admin.site._registry`, so models registered later are covered without
editing this file. A row for a model is built, in this order, by: a builder below, a factory in
`tests/factories.py` or `tests/<app>/factories.py` (found automatically), or a generic builder
that fills required fields from the model's field types. Add a factory in your app's
`tests/<app>/factories.py` if the generic builder cannot satisfy your model's constraints.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import inspect
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import factory
import pytest
from django.apps import apps as django_apps
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import FieldDoesNotExist, FieldError
from django.db import DatabaseError, connection, models, transaction
from django.test.client import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.html import escape

from apps.campaigns.notifications.models import Notification
from apps.customers.models import CommunityMessage, Member, MemberIdentity
from apps.devices.models import DeviceReading
from apps.procurement.models import SupplierProduct
from apps.stores.models import (
    Order,
    OrderLine,
    StockLevel,
    StockMovement,
    Store,
    StoreKpiSnapshot,
    StoreStaff,
)
from apps.stores.services.orders import LineInput, order_create
from apps.stores.services.stock import stock_move
from linli.roles import HQ_OPERATIONS, HQ_PROCUREMENT
from tests.factories import (
    PASSWORD,
    MemberFactory,
    ProductFactory,
    StockLevelFactory,
    StoreFactory,
    SupplierFactory,
    SupplierProductFactory,
    UserFactory,
    owner_of,
)

pytestmark = pytest.mark.django_db

REGISTERED: list[tuple[type[models.Model], admin.ModelAdmin]] = sorted(
    admin.site._registry.items(), key=lambda item: item[0]._meta.label
)
MODEL_IDS = [model._meta.label for model, _model_admin in REGISTERED]


def _url(model: type[models.Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# --- building one row of any registered model -------------------------------------------------


def _factories_by_model() -> dict[type[models.Model], type[factory.django.DjangoModelFactory]]:
    modules = ["tests.factories"]
    for config in django_apps.get_app_configs():
        candidate = f"tests.{config.label}.factories"
        if importlib.util.find_spec(f"tests.{config.label}") and importlib.util.find_spec(
            candidate
        ):
            modules.append(candidate)
    found: dict[type[models.Model], type[factory.django.DjangoModelFactory]] = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, factory.django.DjangoModelFactory) and value._meta.model:
                model = value._meta.model
                if isinstance(model, str):
                    model = django_apps.get_model(model)
                found.setdefault(model, value)
    return found


def _order_with_line() -> Order:
    level = StockLevelFactory(on_hand=10)
    order, _created = order_create(
        store=level.store,
        channel=Order.Channel.POS,
        idempotency_key=f"admin-smoke-{uuid.uuid4().hex[:12]}",
        lines=[LineInput(product=level.product, quantity=1, unit_price=Decimal("9.90"))],
        member=MemberFactory(),
    )
    return order


def _stock_movement() -> StockMovement:
    return stock_move(
        store=StoreFactory(),
        product=ProductFactory(),
        kind=StockMovement.Kind.RECEIPT,
        quantity=5,
        note="smoke",
    )


def _periodic_task() -> models.Model:
    from django_celery_beat.models import PeriodicTask

    from linli.schedules import schedules_sync

    schedules_sync()
    return PeriodicTask.objects.order_by("pk").first()


def _phone_identity() -> MemberIdentity:
    member = MemberFactory()
    return MemberIdentity.objects.create(
        member=member, kind=MemberIdentity.Kind.PHONE, value=member.phone
    )


def _notification() -> models.Model:
    from apps.campaigns.notifications.models import Notification

    return Notification.objects.create(
        recipient=UserFactory(),
        channel=Notification.Channel.PORTAL,
        kind="smoke",
        title="smoke",
        dedupe_key=f"smoke:{uuid.uuid4().hex}",
    )


def _inspection_photo() -> models.Model:
    from apps.stores.models import Inspection, InspectionPhoto

    return InspectionPhoto.objects.create(
        inspection=_row_build(Inspection),
        image=f"smoke/{uuid.uuid4().hex[:8]}.jpg",
        width=4,
        height=3,
        content_type="image/jpeg",
        size_bytes=100,
        source_format="JPEG",
        uploaded_by=UserFactory(),
    )


def _decision_settings() -> models.Model:
    # A singleton (pk 1): its data migration's row is gone after a flushing test.
    from apps.catalog.services.config import decision_settings_get

    return decision_settings_get()


BUILDERS: dict[str, Callable[[], models.Model]] = {
    "catalog.DecisionSettings": _decision_settings,
    "campaigns.Notification": _notification,
    "stores.InspectionPhoto": _inspection_photo,
    "stores.Order": _order_with_line,
    "stores.OrderLine": lambda: _order_with_line().lines.get(),
    "stores.StockMovement": _stock_movement,
    "django_celery_beat.PeriodicTask": _periodic_task,
    "customers.MemberIdentity": _phone_identity,
}


def _generic_value(field: models.Field, depth: int) -> Any:
    token = uuid.uuid4().hex
    if field.choices:
        return next(iter(field.flatchoices))[0]
    if isinstance(field, models.ForeignKey):  # also OneToOneField
        if not isinstance(field, models.OneToOneField):
            existing = field.related_model._default_manager.order_by("pk").first()
            if existing is not None:
                return existing
        return _row_build(field.related_model, depth + 1)
    if isinstance(field, models.EmailField):
        return f"{token[:12]}@example.com"
    if isinstance(field, models.GenericIPAddressField):
        return "127.0.0.1"
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.FileField):
        return f"smoke/{token[:8]}.txt"
    if isinstance(field, models.CharField | models.TextField | models.SlugField):
        limit = field.max_length or 32
        return token[: min(limit, 32)]
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DecimalField):
        return Decimal("1")
    if isinstance(field, models.FloatField):
        return 1.0
    if isinstance(field, models.IntegerField):  # all integer kinds
        return 1
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return timezone.localdate()
    if isinstance(field, models.TimeField):
        return dt.time(8, 0)
    if isinstance(field, models.DurationField):
        return dt.timedelta(minutes=5)
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.BinaryField):
        return b"x"
    raise LookupError(f"no generic value for {field.__class__.__name__} {field.name}")


def _row_build(model: type[models.Model], depth: int = 0) -> models.Model:
    label = model._meta.concrete_model._meta.label
    if label in BUILDERS:
        return BUILDERS[label]()
    factories = _factories_by_model()
    for candidate in (model, model._meta.concrete_model):
        if candidate in factories:
            return factories[candidate]()
    if depth > 4:
        raise LookupError(f"foreign keys nest too deep at {label}")
    values: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if isinstance(field, models.AutoField) or field.has_default() or field.null:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            continue
        if field.blank and not isinstance(field, models.ForeignKey):
            continue
        values[field.name] = _generic_value(field, depth)
    return model.objects.create(**values)


def _row_or_fail(model: type[models.Model]) -> models.Model:
    seeded = model._default_manager.order_by("pk").first()  # e.g. rows a data migration wrote
    if seeded is not None:
        return seeded
    try:
        with transaction.atomic():
            return _row_build(model)
    except (DatabaseError, LookupError, ValueError, TypeError) as exc:
        pytest.fail(
            f"cannot build a {model._meta.label} row generically ({exc!r}); add a factory in "
            f"tests/{model._meta.app_label}/factories.py"
        )


def _admin_request(user: object) -> Any:
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


# --- every registered model -------------------------------------------------------------------


def test_admin_registry_covers_the_core_domain():
    labels = set(MODEL_IDS)
    assert {
        "customers.Member",
        "customers.MemberIdentity",
        "customers.Tag",
        "customers.MemberTag",
        "catalog.Category",
        "catalog.Product",
        "stores.Region",
        "stores.Store",
        "stores.StoreStaff",
        "stores.StockLevel",
        "stores.StockMovement",
        "stores.Order",
        "stores.OrderLine",
        "procurement.Supplier",
        "procurement.SupplierProduct",
        "procurement.SupplierUser",
    } <= labels


def test_every_project_model_is_registered_in_the_admin():
    # Registered, or edited inline in a registered admin (a quiz's choices, a path's courses).
    # Per-lesson progress rows are shown through the enrolment report, not edited by HQ.
    registered = (
        {model for model, _model_admin in REGISTERED}
        | {inline.model for _model, model_admin in REGISTERED for inline in model_admin.inlines}
        | {django_apps.get_model("training", "LessonCompletion")}
    )
    missing = sorted(
        model._meta.label
        for config in django_apps.get_app_configs()
        if config.name.startswith("apps.")
        for model in config.get_models()
        if model not in registered
    )
    assert missing == []


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=MODEL_IDS)
def test_admin_changelist_and_add_form_open_for_hq(client, hq_user, model, model_admin):
    client.force_login(hq_user)
    response = client.get(_url(model, "changelist"))
    assert response.status_code == 200
    add_response = client.get(_url(model, "add"))
    if model_admin.has_add_permission(_admin_request(hq_user)):
        assert add_response.status_code == 200
        assert b"<form" in add_response.content
    else:
        assert add_response.status_code == 403


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=MODEL_IDS)
def test_admin_changelist_search_and_change_form_open_with_a_row(
    client, hq_user, model, model_admin
):
    row = _row_or_fail(model)
    client.force_login(hq_user)
    response = client.get(_url(model, "changelist"))
    assert response.status_code == 200
    change_url = _url(model, "change", row.pk)
    if model_admin.get_list_display_links(_admin_request(hq_user), model_admin.list_display):
        assert change_url in response.content.decode()
    if model_admin.get_search_fields(_admin_request(hq_user)):
        assert client.get(_url(model, "changelist"), {"q": "1"}).status_code == 200
    assert client.get(change_url).status_code == 200


# --- changelist query counts stay flat as rows grow -------------------------------------------


def _members(count: int) -> None:
    for _ in range(count):
        MemberFactory(home_store=StoreFactory())


def _orders(count: int) -> None:
    for _ in range(count):
        Order.objects.create(
            store=StoreFactory(),
            member=MemberFactory(),
            channel=Order.Channel.POS,
            status=Order.Status.PAID,
            idempotency_key=uuid.uuid4().hex,
            total=Decimal("12.50"),
        )


def _order_lines(count: int) -> None:
    for _ in range(count):
        order = Order.objects.create(
            store=StoreFactory(),
            channel=Order.Channel.POS,
            idempotency_key=uuid.uuid4().hex,
        )
        OrderLine.objects.create(
            order=order,
            product=ProductFactory(),
            quantity=2,
            unit_price=Decimal("3.00"),
            line_total=Decimal("6.00"),
        )


def _stock_levels(count: int) -> None:
    for _ in range(count):
        StockLevelFactory()


def _store_staff(count: int) -> None:
    for _ in range(count):
        owner_of(StoreFactory())


def _supplier_products(count: int) -> None:
    for _ in range(count):
        SupplierProductFactory()


def _stores_with_figures(count: int) -> None:
    """Stores with KPI snapshots and an open device alert each: the store list's figures."""
    from apps.devices.models import DeviceAlert
    from tests.devices.factories import DeviceFactory

    for _ in range(count):
        store = StoreFactory()
        StoreKpiSnapshot.objects.create(
            store=store, day=timezone.localdate(), order_count=3, revenue=Decimal("30.00")
        )
        device = DeviceFactory(store=store)
        DeviceAlert.objects.create(
            device=device, store=store, kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE
        )


def _stock_movements(count: int) -> None:
    for _ in range(count):
        _stock_movement()


def _kpi_snapshots(count: int) -> None:
    for _ in range(count):
        StoreKpiSnapshot.objects.create(store=StoreFactory(), day=timezone.localdate())


def _identities(count: int) -> None:
    for _ in range(count):
        _phone_identity()


def _community_messages(count: int) -> None:
    for number in range(count):
        CommunityMessage.objects.create(
            store=StoreFactory(),
            member=MemberFactory(),
            group_name="邻里群",
            text="今天的蓝莓很新鲜" * (number % 5 + 1),
            sent_at=timezone.now() - dt.timedelta(days=number * 7),
        )


def _notifications(count: int) -> None:
    for _ in range(count):
        _notification()


def _device_readings(count: int) -> None:
    from apps.devices.models import DeviceReading
    from tests.devices.factories import DeviceFactory

    for number in range(count):
        DeviceReading.objects.create(
            device=DeviceFactory(),
            recorded_at=timezone.now() - dt.timedelta(days=number * 3),
            temperature_c=4.0,
        )


GROWERS: dict[type[models.Model], Callable[[int], None]] = {
    Member: _members,
    Order: _orders,
    StockLevel: _stock_levels,
    StoreStaff: _store_staff,
    OrderLine: _order_lines,
    SupplierProduct: _supplier_products,
    # The big tables' changelists (linli.admin_utils) and the store list's figures.
    Store: _stores_with_figures,
    StockMovement: _stock_movements,
    StoreKpiSnapshot: _kpi_snapshots,
    MemberIdentity: _identities,
    CommunityMessage: _community_messages,
    Notification: _notifications,
    DeviceReading: _device_readings,
}


@pytest.fixture
def hq_operations_staff(roles: None) -> object:
    """A realistic HQ user: staff, not superuser, in HQ operations and HQ procurement."""
    user = UserFactory(is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=[HQ_OPERATIONS, HQ_PROCUREMENT]))
    return user


@pytest.mark.parametrize("who", ["superuser", "operations_staff"])
@pytest.mark.parametrize("model", list(GROWERS), ids=lambda model: model._meta.label)
def test_admin_changelist_query_count_is_the_same_for_3_and_30_rows(
    client, hq_user, hq_operations_staff, who, model
):
    client.force_login(hq_user if who == "superuser" else hq_operations_staff)
    url = _url(model, "changelist")
    GROWERS[model](3)
    assert client.get(url).status_code == 200  # warm per-process caches (content types)
    with CaptureQueriesContext(connection) as few:
        response = client.get(url)
    assert response.status_code == 200
    GROWERS[model](27)
    assert model.objects.count() == 30
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries), "\n".join(
        query["sql"] for query in many.captured_queries
    )
    assert len(many.captured_queries) <= 30


ORDER_PAGES = [
    {"q": "M-FLAT"},  # a member number
    {"q": "HZ-FLAT"},  # a store code
    {"store__region__id__exact": "REGION"},
    {"status__exact": "paid"},
    {"placed_at__year": "YEAR", "placed_at__month": "MONTH"},
]


@pytest.mark.parametrize("params", ORDER_PAGES, ids=lambda p: "&".join(p))
def test_order_searches_filters_and_months_keep_their_query_count_as_orders_grow(
    client, hq_user, params
):
    store = StoreFactory(code="HZ-FLAT")
    member = MemberFactory(member_no="M-FLAT")
    now = timezone.localtime()
    values = {"REGION": str(store.region_id), "YEAR": str(now.year), "MONTH": str(now.month)}
    params = {key: values.get(value, value) for key, value in params.items()}

    def grow(count: int) -> None:
        for _ in range(count):
            Order.objects.create(
                store=store,
                member=member,
                channel=Order.Channel.POS,
                status=Order.Status.PAID,
                idempotency_key=uuid.uuid4().hex,
                reference=uuid.uuid4().hex[:12],
                total=Decimal("8.00"),
            )

    client.force_login(hq_user)
    url = _url(Order, "changelist")
    grow(3)
    assert client.get(url, params).status_code == 200
    with CaptureQueriesContext(connection) as few:
        first = client.get(url, params)
    grow(27)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url, params)
    assert first.context["cl"].result_count == 3
    assert response.context["cl"].result_count == 30
    assert len(many.captured_queries) == len(few.captured_queries) <= 30


# --- the store list: key figures and the way to the store's portal page ------------------------


def test_store_list_shows_30_day_figures_open_alerts_and_links_to_the_portal(client, hq_user):
    from apps.devices.models import DeviceAlert
    from tests.devices.factories import DeviceFactory

    store = StoreFactory(code="HZ-FIG")
    today = timezone.localdate()
    for days_ago, orders, revenue in [(1, 10, "100.50"), (29, 5, "50.25"), (45, 99, "999.00")]:
        StoreKpiSnapshot.objects.create(
            store=store,
            day=today - dt.timedelta(days=days_ago),
            order_count=orders,
            revenue=Decimal(revenue),
        )
    chiller, freezer, door = DeviceFactory.create_batch(3, store=store)
    DeviceAlert.objects.create(
        device=chiller, store=store, kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE
    )
    DeviceAlert.objects.create(
        device=freezer,
        store=store,
        kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE,
        status=DeviceAlert.Status.ACKNOWLEDGED,
        acknowledged_at=timezone.now(),
    )
    DeviceAlert.objects.create(
        device=door,
        store=store,
        kind=DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE,
        status=DeviceAlert.Status.RESOLVED,
        resolved_at=timezone.now(),
    )
    quiet = StoreFactory(code="HZ-QUIET")
    client.force_login(hq_user)

    response = client.get(_url(Store, "changelist"))

    rows = {row.code: row for row in response.context["cl"].result_list}
    assert rows["HZ-FIG"].revenue_30d_total == Decimal("150.75")  # the 45-day-old day is out
    assert rows["HZ-FIG"].orders_30d_total == 15
    assert rows["HZ-FIG"].open_alert_total == 2  # open and acknowledged, not resolved
    assert (rows["HZ-QUIET"].revenue_30d_total, rows["HZ-QUIET"].orders_30d_total) == (0, 0)
    assert rows["HZ-QUIET"].open_alert_total == 0
    columns = admin.site._registry[Store]
    revenues = [str(columns.revenue_30d(rows[code])) for code in ("HZ-FIG", "HZ-QUIET")]
    assert revenues == ["150.75", "0.00"]  # in cents, whatever the database hands back
    page = response.content.decode()
    assert f'href="{reverse("portal:store", args=[store.pk])}"' in page
    assert f'href="{reverse("portal:store", args=[quiet.pk])}"' in page
    alerts = reverse("admin:devices_devicealert_changelist")
    assert f"{alerts}?store__id__exact={store.pk}&amp;active=yes" in page
    listed = client.get(f"{alerts}?store__id__exact={store.pk}&active=yes")
    assert listed.context["cl"].result_count == 2


# --- wide text, column and field names ------------------------------------------------------

WIDE_TEXT_LENGTH = 200


def _project_admins() -> list[tuple[type[models.Model], admin.ModelAdmin]]:
    return [
        (model, model_admin)
        for model, model_admin in REGISTERED
        if type(model_admin).__module__.startswith("apps.")
    ]


def test_no_changelist_shows_a_wide_text_field_whole():
    """TextFields and CharFields of 200+ characters are listed through linli's `truncated`."""
    wide = []
    for model, model_admin in _project_admins():
        for name in model_admin.list_display:
            if not isinstance(name, str):
                continue
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if isinstance(field, models.TextField) or (
                isinstance(field, models.CharField)
                and (field.max_length or 0) >= WIDE_TEXT_LENGTH
                and not field.choices
            ):
                wide.append(f"{model._meta.label}.{name}")
    assert wide == []


def test_long_text_is_cut_in_the_list_and_whole_on_the_change_page(client, hq_user):
    text = "今天的蓝莓特别新鲜,大家记得来店里自提,晚上七点前都可以," * 4
    message = CommunityMessage.objects.create(
        store=StoreFactory(), group_name="邻里群", text=text, sent_at=timezone.now()
    )
    client.force_login(hq_user)
    listing = client.get(_url(CommunityMessage, "changelist")).content.decode()
    assert f'<span class="truncated" title="{text}">' in listing
    assert f">{text}<" not in listing
    detail = client.get(_url(CommunityMessage, "change", message.pk)).content.decode()
    assert text in detail


def test_every_column_and_form_label_of_the_project_admin_is_translatable(hq_user):
    """No English left in the Chinese admin: every label comes from gettext (a lazy
    translation), not from a field name Django turned into words ("Created by")."""
    untranslated = []
    request = _admin_request(hq_user)
    for model, model_admin in _project_admins():
        for name in model_admin.get_list_display(request):
            if name in ("__str__", "id", "pk"):
                continue
            label = label_for_field(name, model, model_admin)
            if not isinstance(label, Promise):
                untranslated.append(f"{model._meta.label} list {name}: {label!r}")
        try:
            form = model_admin.get_form(request)()
        except (TypeError, FieldError):  # forms built per object (merge previews)
            continue
        for name, field in form.fields.items():
            if field.label is not None and not isinstance(field.label, Promise):
                untranslated.append(f"{model._meta.label} form {name}: {field.label!r}")
    for config in django_apps.get_app_configs():
        if not config.name.startswith("apps."):
            continue
        for model in config.get_models():
            for field in model._meta.get_fields():
                label = getattr(field, "verbose_name", None)
                if field.concrete and label is not None and not isinstance(label, Promise):
                    if field.name != "id":
                        untranslated.append(f"{model._meta.label}.{field.name}: {label!r}")
    assert untranslated == []


def test_segment_and_member_forms_show_no_english_record_labels(client, hq_user):
    from apps.customers.models import Segment

    client.force_login(hq_user)
    member = MemberFactory()
    segment = Segment.objects.create(name="水果达人")
    pages = [
        client.get(_url(Member, "change", member.pk)).content.decode(),
        client.get(_url(Segment, "change", segment.pk)).content.decode(),
    ]
    for page in pages:
        for english in ("Created by", "Created at", "Updated at"):
            assert english not in page


# --- messages name things -------------------------------------------------------------------


def test_tag_purchase_rule_message_names_the_category_and_tag(client, hq_user):
    from apps.customers.models import Tag, TagCategoryRule
    from tests.factories import CategoryFactory

    category = CategoryFactory(name="婴儿辅食")
    tag = Tag.objects.create(name="有孩家庭")
    client.force_login(hq_user)
    response = client.post(
        _url(TagCategoryRule, "add"),
        {"tag": tag.pk, "category": category.pk, "min_purchases": 2},
        follow=True,
    )
    rule = TagCategoryRule.objects.get()
    shown = [str(message) for message in response.context["messages"]]
    assert any("婴儿辅食 → 有孩家庭" in message for message in shown), shown
    assert not any(f"{category.pk} →" in message for message in shown)
    assert str(rule) == "婴儿辅食 → 有孩家庭"


# --- import errors are shown next to their row ------------------------------------------------


def test_import_preview_shows_each_bad_rows_reason_in_the_row(client, hq_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv_text = "store_code,sku,on_hand\nNO-SUCH-STORE,NO-SUCH-SKU,5\n"
    client.force_login(hq_user)
    response = client.post(
        reverse("admin:stores_stocklevel_import"),
        {"import_file": SimpleUploadedFile("stock.csv", csv_text.encode()), "format": "0"},
    )
    assert response.status_code == 200
    result = response.context["result"]
    assert result.has_validation_errors()
    reasons = [
        str(error)
        for row in result.invalid_rows
        for errors in row.field_specific_errors.values()
        for error in errors
    ] + [str(error) for row in result.invalid_rows for error in row.non_field_specific_errors]
    assert reasons
    page = response.content.decode()
    cell = page.split('<td class="row-reasons">', 1)[1].split("</td>", 1)[0]
    assert any(escape(reason) in cell for reason in reasons)
    assert "validation-error-count" not in page  # not only a red badge with a count


# --- portal users are not let into the admin --------------------------------------------------


@pytest.fixture(params=["owner", "inspector", "supplier_user"])
def portal_user(request: pytest.FixtureRequest, roles: None) -> object:
    return request.getfixturevalue(request.param)


def _assert_sent_to_admin_login(response: Any, path: str) -> None:
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={path}"


def test_portal_users_are_sent_to_admin_login_for_index_and_changelists(client, portal_user):
    client.force_login(portal_user)
    for path in ("/admin/", _url(Store, "changelist"), _url(Member, "changelist")):
        _assert_sent_to_admin_login(client.get(path), path)


def test_portal_users_stay_out_even_in_a_group_with_every_hq_permission(client, portal_user, store):
    portal_user.groups.add(*Group.objects.filter(name__startswith="HQ "))
    portal_user.user_permissions.add(Permission.objects.get(codename="view_phone"))
    assert portal_user.has_perm("stores.view_store") is True
    client.force_login(portal_user)
    for path in (
        "/admin/",
        _url(Store, "changelist"),
        _url(Store, "change", store.pk),
        _url(Member, "add"),
    ):
        _assert_sent_to_admin_login(client.get(path), path)
    response = client.post(_url(Store, "change", store.pk), {"name": "hijacked"})
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.name != "hijacked"


def test_admin_login_form_refuses_portal_users_credentials(client, portal_user):
    response = client.post(
        reverse("admin:login"),
        {"username": portal_user.username, "password": PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_anonymous_is_sent_to_admin_login(client):
    _assert_sent_to_admin_login(client.get("/admin/"), "/admin/")


# --- phone masking ----------------------------------------------------------------------------

FULL_PHONE = "+8613812341234"
FULL_DIGITS = "13812341234"
MASKED = "138****1234"


@pytest.fixture
def phone_member(store: Store) -> Member:
    member = MemberFactory(phone=FULL_PHONE, home_store=store, name="王小明")
    MemberIdentity.objects.create(member=member, kind=MemberIdentity.Kind.PHONE, value=FULL_PHONE)
    return member


def _staff_with(*codenames: str) -> object:
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="customers", codename__in=codenames)
    )
    return user


@pytest.mark.parametrize("base_permission", ["view_member", "change_member"])
def test_member_changelist_and_form_mask_phone_without_view_phone(
    client, phone_member, base_permission
):
    client.force_login(_staff_with(base_permission))
    listing = client.get(_url(Member, "changelist")).content.decode()
    assert MASKED in listing
    assert FULL_DIGITS not in listing
    form = client.get(_url(Member, "change", phone_member.pk))
    assert form.status_code == 200
    assert MASKED in form.content.decode()
    assert FULL_DIGITS not in form.content.decode()


def test_member_changelist_and_form_show_phone_with_view_phone(client, phone_member):
    client.force_login(_staff_with("view_member", "change_member", "view_phone"))
    listing = client.get(_url(Member, "changelist")).content.decode()
    assert FULL_DIGITS in listing
    assert MASKED not in listing
    form = client.get(_url(Member, "change", phone_member.pk)).content.decode()
    assert FULL_PHONE in form
    assert MASKED not in form


def test_hq_superuser_sees_full_phone(client, hq_user, phone_member):
    client.force_login(hq_user)
    listing = client.get(_url(Member, "changelist")).content.decode()
    assert FULL_DIGITS in listing


def test_member_save_without_view_phone_keeps_the_phone(client, phone_member):
    client.force_login(_staff_with("view_member", "change_member"))
    response = client.post(
        _url(Member, "change", phone_member.pk),
        {
            "member_no": phone_member.member_no,
            "name": "王大明",
            "gender": Member.Gender.MALE,
            "joined_at_0": "2026-01-05",
            "joined_at_1": "10:00:00",
            "identities-TOTAL_FORMS": "1",
            "identities-INITIAL_FORMS": "1",
            "identities-MIN_NUM_FORMS": "0",
            "identities-MAX_NUM_FORMS": "1000",
            "identities-0-id": str(phone_member.identities.get().pk),
            "identities-0-member": str(phone_member.pk),
            "member_tags-TOTAL_FORMS": "0",
            "member_tags-INITIAL_FORMS": "0",
            "member_tags-MIN_NUM_FORMS": "0",
            "member_tags-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    phone_member.refresh_from_db()
    assert (phone_member.name, phone_member.phone) == ("王大明", FULL_PHONE)


def test_member_identity_changelist_and_form_mask_phone_values_without_view_phone(
    client, phone_member
):
    identity = phone_member.identities.get()
    client.force_login(_staff_with("view_memberidentity", "change_memberidentity"))
    listing = client.get(_url(MemberIdentity, "changelist")).content.decode()
    assert MASKED in listing
    assert FULL_DIGITS not in listing
    form = client.get(_url(MemberIdentity, "change", identity.pk))
    assert form.status_code == 200
    assert MASKED in form.content.decode()
    assert FULL_DIGITS not in form.content.decode()


def test_member_identity_form_shows_phone_value_with_view_phone(client, phone_member):
    identity = phone_member.identities.get()
    client.force_login(_staff_with("view_memberidentity", "change_memberidentity", "view_phone"))
    form = client.get(_url(MemberIdentity, "change", identity.pk)).content.decode()
    assert FULL_PHONE in form


def test_supplier_contact_phone_is_whole_for_staff_who_may_view_suppliers(client, phone_member):
    """Masking is for members' privacy; buyers call their own suppliers (docs/access.md). The
    same user, without `customers.view_phone`, still sees members' phones masked."""
    supplier = SupplierFactory(phone=FULL_PHONE)
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_supplier", "view_supplier_phone", "view_memberidentity"]
        )
    )
    client.force_login(user)
    listing = client.get(_url(type(supplier), "changelist")).content.decode()
    assert FULL_DIGITS in listing
    assert MASKED not in listing
    form = client.get(_url(type(supplier), "change", supplier.pk)).content.decode()
    assert FULL_PHONE in form
    assert MASKED not in form
    identities = client.get(_url(MemberIdentity, "changelist")).content.decode()
    assert MASKED in identities
    assert FULL_DIGITS not in identities


def test_supplier_contact_phone_is_masked_without_the_explicit_permission(client):
    supplier = SupplierFactory(phone=FULL_PHONE)
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_supplier"))
    client.force_login(user)
    listing = client.get(_url(type(supplier), "changelist")).content.decode()
    assert MASKED in listing
    assert FULL_DIGITS not in listing


def test_hq_procurement_without_view_phone_sees_supplier_phones_whole(client, roles):
    supplier = SupplierFactory(phone="+8613988760001")
    buyer = UserFactory(is_staff=True)
    buyer.groups.add(Group.objects.get(name=HQ_PROCUREMENT))
    assert not buyer.has_perm("customers.view_phone")
    client.force_login(buyer)
    listing = client.get(_url(type(supplier), "changelist")).content.decode()
    assert "13988760001" in listing
    assert "139****0001" not in listing


# --- the stock ledger is written by services only ---------------------------------------------


def test_stock_movement_cannot_be_added_or_edited_in_the_admin(client, hq_user):
    movement = _stock_movement()
    client.force_login(hq_user)
    assert client.get(_url(StockMovement, "add")).status_code == 403
    response = client.post(
        _url(StockMovement, "add"),
        {
            "store": movement.store_id,
            "product": movement.product_id,
            "kind": StockMovement.Kind.RECEIPT,
            "quantity": 50,
        },
    )
    assert response.status_code == 403
    edit = client.post(
        _url(StockMovement, "change", movement.pk),
        {
            "store": movement.store_id,
            "product": movement.product_id,
            "kind": "receipt",
            "quantity": 500,
        },
    )
    assert edit.status_code == 403
    assert list(StockMovement.objects.values_list("quantity", flat=True)) == [5]
    assert StockLevel.objects.get(store=movement.store, product=movement.product).on_hand == 5


def _search(client, model, term: str) -> str:
    return client.get(_url(model, "changelist"), {"q": term}).content.decode()


def test_member_search_by_phone_needs_view_phone(client, phone_member):
    """A search that finds the member would tell staff whose number it is."""
    WechatIdentity = MemberIdentity.Kind.WECHAT  # noqa: N806
    MemberIdentity.objects.create(member=phone_member, kind=WechatIdentity, value="wx_wang_xm")
    client.force_login(_staff_with("view_member"))
    assert phone_member.member_no not in _search(client, Member, FULL_DIGITS)
    assert phone_member.member_no not in _search(client, Member, "1234")
    assert phone_member.member_no in _search(client, Member, "wx_wang")
    assert phone_member.member_no in _search(client, Member, "王小明")
    client.force_login(_staff_with("view_member", "view_phone"))
    assert phone_member.member_no in _search(client, Member, FULL_DIGITS)


def test_member_identity_search_by_phone_needs_view_phone(client, phone_member):
    card = MemberIdentity.objects.create(
        member=phone_member, kind=MemberIdentity.Kind.MEMBER_CARD, value="CARD778899"
    )
    # view_member too: without it no search reaches a member's identities at all.
    client.force_login(_staff_with("view_memberidentity", "view_member"))
    assert MASKED not in _search(client, MemberIdentity, FULL_DIGITS)
    assert card.value in _search(client, MemberIdentity, "778899")
    client.force_login(_staff_with("view_memberidentity", "view_member", "view_phone"))
    assert FULL_DIGITS in _search(client, MemberIdentity, FULL_DIGITS)


def test_the_order_search_hint_names_only_what_this_viewer_may_search_by(client):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="stores", codename="view_order")
    )
    client.force_login(staff)
    with translation.override("en"):
        without = client.get(_url(Order, "changelist"), HTTP_ACCEPT_LANGUAGE="en")
        hint = str(without.context["cl"].search_help_text)
    assert hint == "Exact order number, reference or store code."
    staff.user_permissions.add(
        Permission.objects.get(content_type__app_label="customers", codename="view_member")
    )
    staff = type(staff).objects.get(pk=staff.pk)
    client.force_login(staff)
    with translation.override("en"):
        full = client.get(_url(Order, "changelist"), HTTP_ACCEPT_LANGUAGE="en")
        hint = str(full.context["cl"].search_help_text)
    assert "member number" in hint


def test_hq_cannot_change_an_orders_status_by_hand_in_the_admin(client, roles):
    """An order changes state only through its services (pickup, cancellation, settlement),
    which also adjust its purchase order, stock and pickup code. Every field is read-only, so
    the order's page is view-only: no Save buttons (they saved nothing and redirected as if
    they had), and a posted form is refused."""
    staff = UserFactory(is_staff=True, username="hq-ops-orders")
    staff.groups.add(Group.objects.get(name=HQ_OPERATIONS))
    order = _order_with_line()
    order.status = Order.Status.PAID
    order.save(update_fields=["status"])
    client.force_login(staff)
    url = _url(Order, "change", order.pk)

    page = client.get(url)
    response = client.post(
        url,
        {
            "status": Order.Status.CANCELLED,
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
            "_save": "1",
        },
    )

    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="status"' not in html
    assert 'name="_save"' not in html
    assert 'name="_continue"' not in html
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
