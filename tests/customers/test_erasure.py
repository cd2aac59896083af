from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.models import BroadcastComment, GroupBuyJoin
from apps.campaigns.notifications.models import Notification
from apps.campaigns.notifications.services import notification_enqueue
from apps.catalog.models import MemberSuggestion
from apps.customers.models import (
    CommunityMessage,
    Member,
    MemberErasure,
    MemberIdentity,
    MemberProfile,
    MemberTag,
    NpsAnswer,
)
from apps.customers.services.erasure import ERASED_TEXT, ErasureRefused, member_erase
from apps.customers.services.identity import member_merge
from apps.procurement.models import AfterSalesCase
from apps.procurement.selectors.aftersales import (
    refunds_by_store,
    store_case_counts,
    supplier_quality_scores,
)
from apps.stores.kpis.services import kpi_snapshots_compute
from apps.stores.models import (
    KpiSnapshot,
    Order,
    OrderFulfilment,
    StockMovement,
    StoreKpiSnapshot,
)
from apps.stores.services.kpis import store_kpi_snapshots_compute
from tests.campaigns.factories import (
    BroadcastCommentFactory,
    GroupBuyJoinFactory,
    GroupBuyOfferFactory,
)
from tests.factories import (
    MemberFactory,
    MemberIdentityFactory,
    ProductFactory,
    StoreFactory,
    SupplierFactory,
    TagFactory,
    UserFactory,
)
from tests.procurement.factories_aftersales import AfterSalesCaseFactory, paid_order

pytestmark = pytest.mark.django_db

PHONE = "+8613800138000"


@pytest.fixture
def member():
    store = StoreFactory()
    member = MemberFactory(
        phone=PHONE,
        name="王芳",
        birth_year=1988,
        gender="female",
        marketing_consent=True,
        home_store=store,
    )
    MemberIdentityFactory(member=member, kind="phone", value=PHONE)
    MemberIdentityFactory(member=member, kind="wechat", value="wx-1")
    MemberTag.objects.create(member=member, tag=TagFactory(), source="chat", evidence="宝宝")
    MemberProfile.objects.create(member=member)
    MemberSuggestion.objects.create(
        member_id=member.pk, product=ProductFactory(), day=timezone.localdate(), rank=1, score=0.5
    )
    Order.objects.create(store=store, member=member, channel="pos", idempotency_key="o1")
    NpsAnswer.objects.create(member=member, store=store, score=9, comment="店主人很好，住3号楼")
    CommunityMessage.objects.create(
        store=store,
        group_name="群",
        member=member,
        text="我家宝宝住3号楼",
        sent_at=timezone.now(),
    )
    return member


def test_erasure_anonymises_the_member_and_keeps_orders(member, hq_user):
    other = MemberFactory()
    MemberIdentityFactory(member=other)
    MemberSuggestion.objects.create(
        member_id=other.pk, product=ProductFactory(), day=timezone.localdate(), rank=1, score=0.5
    )
    erasure = member_erase(member=member, by=hq_user, requested_via=" phone call ")
    member.refresh_from_db()
    assert (
        member.name,
        member.phone,
        member.birth_year,
        member.gender,
        member.marketing_consent,
        member.is_erased,
    ) == ("", "", None, "unknown", False, True)
    assert member.home_store_id is not None  # store statistics keep working
    assert MemberIdentity.objects.filter(member=member).count() == 0
    assert MemberTag.objects.filter(member=member).count() == 0
    assert MemberProfile.objects.filter(member=member).count() == 0
    assert not MemberSuggestion.objects.filter(member_id=member.pk).exists()
    order = Order.objects.get(idempotency_key="o1")
    assert order.member_id == member.pk
    message = CommunityMessage.objects.get()
    assert (message.member_id, message.text) == (member.pk, ERASED_TEXT)
    answer = NpsAnswer.objects.get()
    assert (answer.member_id, answer.score, answer.comment) == (member.pk, 9, "")
    assert (erasure.member_id, erasure.erased_by, erasure.requested_via) == (
        member.pk,
        hq_user,
        "phone call",
    )
    # Someone else's data is untouched.
    assert MemberIdentity.objects.filter(member=other).count() == 1
    assert MemberSuggestion.objects.filter(member_id=other.pk).count() == 1


def test_erasure_blanks_chat_names_live_comments_and_delivery_details(member):
    """What the member wrote or gave elsewhere: the name in a group-buy chat (searching it in
    the admin found the join, and with it the member number), live comments, and the address,
    contact, phone and note of a delivery. The rows stay: joins and comments are counted."""
    other = MemberFactory(name="李四")
    offer = GroupBuyOfferFactory()
    GroupBuyJoinFactory(offer=offer, member=member, display_name="王芳", quantity=2)
    GroupBuyJoinFactory(offer=offer, member=other, display_name="李四")
    BroadcastCommentFactory(broadcast=offer.broadcast, member=member, author="王芳", text="3号楼")
    BroadcastCommentFactory(broadcast=offer.broadcast, member=other, author="李四", text="好")
    store = member.home_store
    orders = [
        Order.objects.create(store=store, member=owner, channel="mini_program", idempotency_key=k)
        for owner, k in ((member, "d1"), (other, "d2"))
    ]
    for order, code in zip(orders, ("100001", "100002"), strict=True):
        OrderFulfilment.objects.create(
            order=order,
            store=store,
            pickup_code=code,
            status=OrderFulfilment.Status.DELIVERED,
            completed_at=timezone.now(),
            delivery_address="文一路 3号楼 502",
            delivery_contact=order.member.name,
            delivery_phone="+8613900009999",
            member_note="请敲门",
        )

    member_erase(member=member, by=None, requested_via="letter")

    delivery = ("delivery_address", "delivery_contact", "delivery_phone", "member_note")
    assert list(
        GroupBuyJoin.objects.order_by("pk").values_list("member_id", "display_name", "quantity")
    ) == [(member.pk, "", 2), (other.pk, "李四", 2)]
    assert list(
        BroadcastComment.objects.order_by("pk").values_list("member_id", "author", "text")
    ) == [(member.pk, "", ERASED_TEXT), (other.pk, "李四", "好")]
    assert list(
        OrderFulfilment.objects.order_by("order__idempotency_key").values_list(
            "order__member_id", "pickup_code", *delivery
        )
    ) == [
        (member.pk, "100001", "", "", "", ""),
        (other.pk, "100002", "文一路 3号楼 502", "李四", "+8613900009999", "请敲门"),
    ]


def _figures(*, store, supplier) -> dict[str, object]:
    """What HQ counts of after-sales and sales today: case counts, refunds, the supplier's
    quality record and score, the store's daily KPI row and the month's KPI pack."""
    today = timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    store_kpi_snapshots_compute(day=today, refunds=refunds_by_store)
    kpi_snapshots_compute(month=today)
    return {
        "cases": store_case_counts(store=store),
        "refunds": refunds_by_store(start=start, end=start + dt.timedelta(days=1)),
        "quality": supplier_quality_scores(
            since=today, until=today + dt.timedelta(days=1), supplier_ids=[supplier.pk]
        ),
        "day": list(
            StoreKpiSnapshot.objects.filter(store=store, day=today).values_list(
                "order_count", "revenue", "member_count", "average_basket", "loss_value"
            )
        ),
        "month": sorted(KpiSnapshot.objects.filter(store=store).values_list("code", "value")),
    }


def test_erasure_scrubs_messages_to_the_member_and_what_staff_typed_about_her(member, hq_user):
    """Messages to the member (a pickup code, an after-sales decision) are blanked; an
    after-sales case's description and decision note, the counter's delivery note and a stock
    movement's note lose her name (and 王女士), every phone, the delivery address and the chat
    name, and keep the rest. Another member's rows, and every figure HQ counts, stay."""
    store = member.home_store
    other = MemberFactory(name="李四", phone="+8613900002222", home_store=store)
    supplier = SupplierFactory()
    product = ProductFactory()
    GroupBuyJoinFactory(offer=GroupBuyOfferFactory(), member=member, display_name="芳芳")
    order = paid_order(store=store, lines=[(product, 2, Decimal("10.00"))], member=member)
    other_order = paid_order(store=store, lines=[(product, 1, Decimal("10.00"))], member=other)
    OrderFulfilment.objects.create(
        order=order,
        store=store,
        pickup_code="100001",
        status=OrderFulfilment.Status.DELIVERED,
        completed_at=timezone.now(),
        delivery_address="文一路 3号楼 502",
        delivery_note="芳芳不在家，放文一路 3号楼 502 门卫，电话 139 0013 8001",
    )
    OrderFulfilment.objects.create(
        order=other_order, store=store, pickup_code="100002", delivery_note="李四不在家"
    )
    StockMovement.objects.create(
        store=store, product=product, kind="return", quantity=1, order=order, note="王芳不要了"
    )
    decided = {
        "store": store,
        "supplier": supplier,
        "status": "approved",
        "remedy": "refund",
        "charged_to": "supplier",
        "decided_by": hq_user,
        "decided_at": timezone.now(),
    }
    case = AfterSalesCaseFactory(
        order=order,
        member=member,
        amount=Decimal("8.00"),
        description="王芳（138 0013 8000）说蓝莓发霉了",
        decision_note="已和王女士电话确认，退款",
        **decided,
    )
    other_case = AfterSalesCaseFactory(
        order=other_order,
        member=other,
        amount=Decimal("5.00"),
        description="李四说蓝莓发霉了",
        decision_note="退款",
        **decided,
    )
    sms = Notification.Channel.SMS
    notification_enqueue(
        dedupe_key=f"order-ready:{order.pk}",
        kind="order_ready",
        title="您的订单可以自提了",
        body=f"您的订单 {order.pk} 已到店，请出示取货码 100001。",
        channel=sms,
        store=store,
        member=member,
        payload={"order_id": order.pk},
    )
    notification_enqueue(
        dedupe_key=f"after_sales:{case.pk}:approved:member:{member.pk}",
        kind="after_sales.approved",
        title="王芳，您的售后申请已通过",
        body=case.decision_note,
        channel=sms,
        store=store,
        member=member,
        payload={"case": case.pk},
    )
    notification_enqueue(
        dedupe_key=f"order-ready:{other_order.pk}",
        kind="order_ready",
        title="您的订单可以自提了",
        body="请出示取货码 100002。",
        channel=sms,
        store=store,
        member=other,
        payload={"order_id": other_order.pk},
    )
    before = _figures(store=store, supplier=supplier)
    assert before["refunds"] == {store.pk: Decimal("13.00")}
    assert before["quality"][supplier.pk].charged_amount == Decimal("13.00")

    member_erase(member=member, by=hq_user, requested_via="letter")

    assert _figures(store=store, supplier=supplier) == before
    assert list(
        Notification.objects.order_by("pk").values_list(
            "member_id", "kind", "status", "title", "body", "payload"
        )
    ) == [
        (member.pk, "order_ready", "pending", ERASED_TEXT, ERASED_TEXT, {"order_id": order.pk}),
        (member.pk, "after_sales.approved", "pending", ERASED_TEXT, ERASED_TEXT, {"case": case.pk}),
        (
            other.pk,
            "order_ready",
            "pending",
            "您的订单可以自提了",
            "请出示取货码 100002。",
            {"order_id": other_order.pk},
        ),
    ]
    assert list(
        AfterSalesCase.objects.order_by("pk").values_list(
            "member_id", "kind", "amount", "status", "description", "decision_note"
        )
    ) == [
        (
            member.pk,
            case.kind,
            Decimal("8.00"),
            "approved",
            "[erased]（[erased]）说蓝莓发霉了",
            "已和[erased]电话确认，退款",
        ),
        (other.pk, other_case.kind, Decimal("5.00"), "approved", "李四说蓝莓发霉了", "退款"),
    ]
    assert list(
        OrderFulfilment.objects.order_by("pk").values_list("pickup_code", "delivery_note")
    ) == [
        ("100001", "[erased]不在家，放[erased] 门卫，电话 [erased]"),
        ("100002", "李四不在家"),
    ]
    assert StockMovement.objects.get(order=order).note == "[erased]不要了"


def test_a_scrubbed_note_stays_within_its_field(member):
    """ "[erased]" is longer than a name: a full delivery note is cut to its 200 characters
    (PostgreSQL refused the longer text and with it the whole erasure)."""
    order = Order.objects.get(member=member)
    OrderFulfilment.objects.create(
        order=order, store=order.store, pickup_code="100001", delivery_note="好" * 196 + "王芳"
    )
    member_erase(member=member, by=None, requested_via="letter")
    note = OrderFulfilment.objects.get(order=order).delivery_note
    assert note == "好" * 196 + "[era"


def test_erasure_empties_snapshots_of_members_merged_into_this_one(member):
    absorbed = MemberFactory(phone="+8613900001111", name="王芳 (old card)")
    merge = member_merge(keep=member, absorb=absorbed, by=None)
    assert merge.absorbed_snapshot["phone"] == "+8613900001111"
    member_erase(member=member, by=None, requested_via="letter")
    merge.refresh_from_db()
    assert merge.absorbed_snapshot == {}
    assert merge.absorbed_member_no == absorbed.member_no


@pytest.mark.parametrize("status", ["waiting", "ready", "out_for_delivery", "failed"])
def test_an_open_delivery_holds_the_erasure_back_and_is_named(member, status):
    """A paid same-city delivery still to be made needs the address and phone the member
    gave: the erasure is refused (the orders named) and changes nothing; once it is delivered
    (or cancelled) the member can be erased. A pickup order (no address) does not hold it."""
    store = member.home_store
    delivery, pickup = (
        Order.objects.create(
            store=store, member=member, channel="mini_program", idempotency_key=key, reference=ref
        )
        for key, ref in (("open-1", "MP-0001"), ("open-2", "MP-0002"))
    )
    fulfilment = OrderFulfilment.objects.create(
        order=delivery,
        store=store,
        pickup_code="100001",
        status=status,
        delivery_address="文一路 3号楼 502",
        delivery_phone="+8613900009999",
    )
    OrderFulfilment.objects.create(order=pickup, store=store, pickup_code="100002")

    with pytest.raises(ErasureRefused) as refused:
        member_erase(member=member, by=None, requested_via="letter")

    assert refused.value.code == "open_delivery"
    assert "MP-0001" in str(refused.value)
    assert "MP-0002" not in str(refused.value)
    member.refresh_from_db()
    assert (member.is_erased, member.name) == (False, "王芳")
    assert OrderFulfilment.objects.get(pk=fulfilment.pk).delivery_address == "文一路 3号楼 502"
    assert not MemberErasure.objects.exists()

    OrderFulfilment.objects.filter(pk=fulfilment.pk).update(
        status="delivered", completed_at=timezone.now()
    )
    member_erase(member=member, by=None, requested_via="letter")
    assert OrderFulfilment.objects.get(pk=fulfilment.pk).delivery_address == ""


def test_erasing_twice_is_refused_and_changes_nothing(member):
    first = member_erase(member=member, by=None, requested_via="letter")
    with pytest.raises(ErasureRefused) as refused:
        member_erase(member=member, by=None, requested_via="again")
    assert member.member_no in str(refused.value)
    assert list(MemberErasure.objects.values_list("pk", "requested_via")) == [(first.pk, "letter")]


def test_erased_members_leave_the_phone_free_for_a_new_member(member):
    member_erase(member=member, by=None, requested_via="letter")
    newcomer = MemberFactory(phone=PHONE)
    assert Member.objects.filter(phone=PHONE).get().pk == newcomer.pk


# --- admin action -------------------------------------------------------------------------


def erase_post(client, members, **extra):
    return client.post(
        reverse("admin:customers_member_changelist"),
        {
            "action": "erase_selected_members",
            "_selected_action": [str(m.pk) for m in members],
            **extra,
        },
    )


def test_admin_erase_confirms_then_erases(client, member, hq_user):
    client.force_login(hq_user)
    page = erase_post(client, [member])
    assert page.status_code == 200
    assert "member-erase-confirmation" in page.content.decode()
    member.refresh_from_db()
    assert member.is_erased is False

    done = erase_post(client, [member], confirm="yes", requested_via="phone call 2025-07-01")
    assert done.status_code == 302
    member.refresh_from_db()
    assert member.is_erased is True
    assert MemberErasure.objects.get().requested_via == "phone call 2025-07-01"


def test_admin_erase_needs_requested_via(client, member, hq_user):
    client.force_login(hq_user)
    erase_post(client, [member], confirm="yes", requested_via="  ")
    member.refresh_from_db()
    assert member.is_erased is False
    assert MemberErasure.objects.count() == 0


def test_admin_erase_skips_already_erased_members(client, member, hq_user):
    other = MemberFactory()
    member_erase(member=member, by=None, requested_via="letter")
    client.force_login(hq_user)
    erase_post(client, [member, other], confirm="yes", requested_via="store")
    other.refresh_from_db()
    assert other.is_erased is True
    assert MemberErasure.objects.count() == 2
    assert MemberErasure.objects.get(member=member).requested_via == "letter"


def test_admin_erase_needs_the_erase_permission(client, member, roles):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_member", "change_member", "merge_member", "view_phone"]
        )
    )
    client.force_login(user)
    changelist = client.get(reverse("admin:customers_member_changelist"))
    assert "erase_selected_members" not in changelist.content.decode()
    erase_post(client, [member], confirm="yes", requested_via="store")
    member.refresh_from_db()
    assert member.is_erased is False
    assert MemberErasure.objects.count() == 0


def _erase_messages(client, members, language: str) -> list[str]:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.post(
        reverse("admin:customers_member_changelist"),
        {
            "action": "erase_selected_members",
            "_selected_action": [str(m.pk) for m in members],
            "confirm": "yes",
            "requested_via": "letter",
        },
        follow=True,
    )
    return [str(message) for message in response.context["messages"]]


def test_admin_erase_says_one_member_and_lists_many_with_the_list_separator(client, hq_user):
    one, two, three = (MemberFactory(member_no=f"M-100{n}") for n in (1, 2, 3))
    client.force_login(hq_user)
    assert _erase_messages(client, [one], "en") == ["Erased 1 member: M-1001."]
    assert _erase_messages(client, [three, two], "zh-hans") == [
        "已删除 2 名会员的个人信息：M-1002、M-1003。"
    ]


def _member_form(client, member) -> dict:
    """The member's change form as the admin renders it: every field with its value."""
    import re

    page = client.get(reverse("admin:customers_member_change", args=[member.pk])).content.decode()
    data = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if name is None or 'type="submit"' in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag:
            if "checked" in tag:
                data[name.group(1)] = "on"
            continue
        data[name.group(1)] = value.group(1) if value else ""
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        data[name] = chosen.group(1) if chosen else ""
    return data


def test_the_member_form_cannot_tick_or_untick_erased(client, member, hq_user):
    """Only the erase action erases: a ticked box on the member's page flagged the member erased
    with every personal datum kept and no erasure record."""
    client.force_login(hq_user)
    data = {**_member_form(client, member), "is_erased": "on", "_save": "Save"}
    assert (
        client.post(reverse("admin:customers_member_change", args=[member.pk]), data).status_code
        == 302
    )
    member.refresh_from_db()
    assert (member.is_erased, member.name) == (False, "王芳")
    assert MemberErasure.objects.count() == 0

    member_erase(member=member, by=None, requested_via="letter")
    data = {**_member_form(client, member), "_save": "Save"}
    data.pop("is_erased", None)
    client.post(reverse("admin:customers_member_change", args=[member.pk]), data)
    member.refresh_from_db()
    assert member.is_erased is True


def test_the_erased_members_page_does_not_take_personal_data_again(client, member, hq_user):
    """Typed into an erased member's page, a name and phone came back on a member every page
    treats as anonymous; the personal fields are read-only there now."""
    client.force_login(hq_user)
    member_erase(member=member, by=None, requested_via="letter")
    data = {
        **_member_form(client, member),
        "name": "王芳",
        "phone": PHONE,
        "birth_year": "1988",
        "gender": "female",
        "marketing_consent": "on",
        "_save": "Save",
    }

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(reverse("admin:customers_member_change", args=[member.pk]), data)

    # Refused with a message (the form carries personal fields: sent from a page loaded
    # before the erasure); tests/customers/test_member_admin_erased.py.
    assert response.status_code == 200
    assert "was erased after this page was opened" in response.content.decode()
    member.refresh_from_db()
    assert (
        member.name,
        member.phone,
        member.birth_year,
        member.gender,
        member.marketing_consent,
    ) == ("", "", None, "unknown", False)
