from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.customers.models import NpsAnswer
from apps.customers.selectors.nps import (
    nps_by_region,
    nps_by_store,
    nps_for_region,
    nps_for_store,
)
from apps.customers.services.erasure import member_erase
from apps.customers.services.nps import nps_answer_record
from tests.factories import MemberFactory, RegionFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored():
    """Hand-computed case.

    Region R1: store A scores 10 10 9 8 6 → 3 promoters, 1 detractor of 5 → +40.0
               store B scores 0 5 9      → 1 promoter, 2 detractors of 3 → −33.3
               pooled: 4 promoters, 3 detractors of 8 → +12.5
    Region R2: store C scores 7 8        → passives only → 0.0
               store D has no answers    → no NPS
    """
    r1, r2 = RegionFactory(code="R1"), RegionFactory(code="R2")
    a = StoreFactory(code="A01", region=r1)
    b = StoreFactory(code="B01", region=r1)
    c = StoreFactory(code="C01", region=r2)
    d = StoreFactory(code="D01", region=r2)
    member = MemberFactory()
    for store, scores in ((a, [10, 10, 9, 8, 6]), (b, [0, 5, 9]), (c, [7, 8])):
        for score in scores:
            nps_answer_record(member=member, store=store, score=score)
    return {"r1": r1, "r2": r2, "a": a, "b": b, "c": c, "d": d, "member": member}


def test_nps_per_store_matches_the_hand_computation(scored):
    figures = {figure.code: figure for figure in nps_by_store()}
    assert sorted(figures) == ["A01", "B01", "C01"]
    a, b, c = figures["A01"], figures["B01"], figures["C01"]
    assert (a.answers, a.promoters, a.passives, a.detractors, a.nps) == (
        5,
        3,
        1,
        1,
        Decimal("40.0"),
    )
    assert (b.answers, b.promoters, b.passives, b.detractors, b.nps) == (
        3,
        1,
        0,
        2,
        Decimal("-33.3"),
    )
    assert (c.answers, c.promoters, c.passives, c.detractors, c.nps) == (
        2,
        0,
        2,
        0,
        Decimal("0.0"),
    )


def test_nps_per_region_pools_its_stores(scored):
    figures = {figure.code: figure for figure in nps_by_region()}
    assert (figures["R1"].answers, figures["R1"].nps) == (8, Decimal("12.5"))
    assert (figures["R2"].answers, figures["R2"].nps) == (2, Decimal("0.0"))
    assert nps_for_region(region=scored["r1"]).nps == Decimal("12.5")


def test_a_store_without_answers_has_no_nps_rather_than_zero(scored):
    figure = nps_for_store(store=scored["d"])
    assert (figure.answers, figure.nps) == (0, None)
    assert nps_for_store(store=scored["a"]).nps == Decimal("40.0")


def test_nps_is_computed_in_one_query_per_breakdown(scored, django_assert_num_queries):
    with django_assert_num_queries(1):
        nps_by_store()
    with django_assert_num_queries(1):
        nps_by_region()


def test_nps_window_counts_only_answers_inside_it(scored):
    old = timezone.now() - dt.timedelta(days=200)
    nps_answer_record(member=scored["member"], store=scored["d"], score=0, answered_at=old)
    since = timezone.now() - dt.timedelta(days=90)
    assert "D01" not in {figure.code for figure in nps_by_store(since=since)}
    assert nps_for_store(store=scored["d"]).nps == Decimal("-100.0")
    assert nps_for_store(store=scored["d"], since=since).nps is None


def test_record_keeps_score_and_stripped_comment():
    store, member = StoreFactory(), MemberFactory()
    answer = nps_answer_record(member=member, store=store, score=0, comment="  太贵了 ")
    assert (answer.score, answer.comment, answer.store_id, answer.member_id) == (
        0,
        "太贵了",
        store.pk,
        member.pk,
    )


@pytest.mark.parametrize("score", [-1, 11, 7.5, "9", None, True])
def test_record_refuses_scores_outside_0_to_10_and_writes_nothing(score):
    with pytest.raises(ValidationError) as error:
        nps_answer_record(member=MemberFactory(), store=StoreFactory(), score=score)
    assert "score" in error.value.message_dict
    assert NpsAnswer.objects.count() == 0


def test_record_refuses_an_erased_member():
    member = MemberFactory()
    member_erase(member=member, by=None, requested_via="store")
    with pytest.raises(ValidationError):
        nps_answer_record(member=member, store=StoreFactory(), score=9)
    assert NpsAnswer.objects.count() == 0


def test_admin_nps_list_shows_nps_per_region_and_store(client, hq_user, scored):
    client.force_login(hq_user)
    response = client.get(reverse("admin:customers_npsanswer_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="nps-summary"' in html
    assert "12.5" in html
    assert "40.0" in html
    assert "-33.3" in html
    filtered = client.get(
        reverse("admin:customers_npsanswer_changelist"),
        {"store__region__id__exact": scored["r2"].pk},
    )
    assert [figure.code for figure in filtered.context["nps_regions"]] == ["R2"]


def test_owner_sees_their_store_nps_on_the_members_page(client, scored):
    from tests.factories import owner_of

    owner = owner_of(scored["a"])
    client.force_login(owner)
    response = client.get(reverse("members:list", args=[scored["a"].pk]))
    assert response.status_code == 200
    assert response.context["store_nps"].nps == Decimal("40.0")
    assert response.context["region_nps"].nps == Decimal("12.5")
    assert "40.0" in response.content.decode()


def _answer(member, store, score, answered_at):
    answer = nps_answer_record(member=member, store=store, score=score)
    NpsAnswer.objects.filter(pk=answer.pk).update(answered_at=answered_at)
    return answer


def test_admin_nps_list_is_newest_first_by_when_answered_not_by_id(client, hq_user):
    """Imported or late-synced answers arrive out of order: the list sorts by answered_at."""
    store, member = StoreFactory(), MemberFactory()
    noon = dt.datetime(2026, 7, 10, 12, tzinfo=dt.UTC)
    newest = _answer(member, store, 9, noon)
    oldest = _answer(member, store, 3, noon - dt.timedelta(days=30))
    middle = _answer(member, store, 7, noon - dt.timedelta(days=1))
    same_time = _answer(member, store, 10, noon)  # ties: the later row first
    client.force_login(hq_user)
    response = client.get(reverse("admin:customers_npsanswer_changelist"))
    assert response.status_code == 200
    assert [answer.pk for answer in response.context["cl"].result_list] == [
        same_time.pk,
        newest.pk,
        middle.pk,
        oldest.pk,
    ]


@pytest.mark.postgres
def test_the_admin_nps_list_order_reads_an_index_without_sorting(client, hq_user):
    """The list's query (ORDER BY answered_at DESC, id DESC LIMIT …) walks `nps_answered_idx`
    backwards: no sort of every answer in the network (seq scans off, so the tiny test table
    does not hide the plan the big one gets)."""
    from django.db import connection

    store, member = StoreFactory(), MemberFactory()
    for day in range(3):
        _answer(member, store, 8, dt.datetime(2026, 7, 1 + day, tzinfo=dt.UTC))
    client.force_login(hq_user)
    response = client.get(reverse("admin:customers_npsanswer_changelist"))
    changelist = response.context["cl"]
    # One page here, so unsliced; the network's list has many pages: its first is sliced.
    first_page = changelist.result_list.all()[: changelist.list_per_page]
    sql, params = first_page.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)  # noqa: S608 (the ORM's own SQL)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "nps_answered_idx" in plan, plan
    assert "Sort" not in plan, plan
