"""Segments: every rule kind (and combinations) against a plain Python filter over the same
designed dataset; one query; the services; the admin count, sample and preview."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.customers.models import Member, MemberProfile, MemberTag, Segment, Tag
from apps.customers.selectors.segments import (
    SegmentRule,
    segment_members,
    segment_rule_members,
    segment_rule_of,
    segment_rule_summary,
    segment_summary,
)
from apps.customers.services.segments import segment_create, segment_rule_change
from tests.factories import MemberFactory, RegionFactory, StoreFactory, UserFactory


@pytest.fixture(autouse=True)
def _english(settings: object) -> None:
    """Pages are asserted on their English source strings, whatever translations exist."""
    settings.LANGUAGE_CODE = "en"


@dataclass(frozen=True)
class Row:
    """What the Python reference filter knows about a member."""

    pk: int
    consent: bool
    erased: bool
    store_id: int | None
    region_id: int | None
    tag_ids: frozenset[int]
    profile: dict | None


@pytest.fixture
def world(db: None) -> dict[str, object]:
    """60 members with every combination the rules care about, from a fixed seed."""
    rng = random.Random(20261127)
    regions = [RegionFactory(), RegionFactory()]
    stores = [
        StoreFactory(region=regions[0]),
        StoreFactory(region=regions[0]),
        StoreFactory(region=regions[1]),
    ]
    tags = [Tag.objects.create(name=name) for name in ("有孩家庭", "健身人群", "宠物主人")]
    rows = []
    for index in range(60):
        store = rng.choice([*stores, None])
        member = MemberFactory(
            home_store=store,
            marketing_consent=rng.random() < 0.7,
            is_erased=index % 13 == 5,
        )
        tag_ids = frozenset(tag.pk for tag in tags if rng.random() < 0.4)
        MemberTag.objects.bulk_create(
            [
                MemberTag(member=member, tag_id=tag_id, source=MemberTag.Source.MANUAL)
                for tag_id in tag_ids
            ]
        )
        profile = None
        if index % 10 != 3:  # a few members have no profile yet
            profile = {
                "trust_level": rng.randint(1, 5),
                "recency_days": rng.choice([None, rng.randint(0, 120)]),
                "frequency_90d": rng.randint(0, 12),
                "spend_90d": Decimal(rng.randint(0, 60_000)) / 100,
            }
            MemberProfile.objects.create(member=member, **profile)
        rows.append(
            Row(
                pk=member.pk,
                consent=member.marketing_consent,
                erased=member.is_erased,
                store_id=store.pk if store else None,
                region_id=store.region_id if store else None,
                tag_ids=tag_ids,
                profile=profile,
            )
        )
    return {"rows": rows, "tags": tags, "stores": stores, "regions": regions}


def reference(rows: list[Row], rule: SegmentRule) -> set[int]:
    """The segment semantics written as the plainest possible Python."""
    selected = set()
    for row in rows:
        if row.erased:
            continue
        if rule.marketing_consent_required and not row.consent:
            continue
        if rule.tags_any and not (row.tag_ids & set(rule.tags_any)):
            continue
        if not set(rule.tags_all) <= row.tag_ids:
            continue
        bounds = [
            ("trust_level", rule.min_trust_level, None),
            ("recency_days", None, rule.max_recency_days),
            ("frequency_90d", rule.min_frequency_90d, rule.max_frequency_90d),
            ("spend_90d", rule.min_spend_90d, rule.max_spend_90d),
        ]
        failed = False
        for name, low, high in bounds:
            if low is None and high is None:
                continue
            value = row.profile[name] if row.profile else None
            if (
                value is None
                or (low is not None and value < low)
                or (high is not None and value > high)
            ):
                failed = True
        if failed:
            continue
        if rule.store_ids or rule.region_ids:
            in_store = row.store_id in rule.store_ids
            in_region = row.region_id is not None and row.region_id in rule.region_ids
            if not (in_store or in_region):
                continue
        selected.add(row.pk)
    return selected


def rules_for(world: dict[str, object]) -> dict[str, SegmentRule]:
    kids, fit, pet = (tag.pk for tag in world["tags"])
    store_a, store_b, store_c = (store.pk for store in world["stores"])
    region_a, region_b = (region.pk for region in world["regions"])
    base = SegmentRule(marketing_consent_required=False)
    return {
        "everyone (not erased)": base,
        "consent required": SegmentRule(),
        "tags any": replace(base, tags_any=(kids, pet)),
        "tags all": replace(base, tags_all=(kids, fit)),
        "min trust level": replace(base, min_trust_level=4),
        "bought within 30 days": replace(base, max_recency_days=30),
        "frequency range": replace(base, min_frequency_90d=3, max_frequency_90d=8),
        "spend range": replace(base, min_spend_90d=Decimal("100.00"), max_spend_90d=Decimal("400")),
        "stores": replace(base, store_ids=(store_a, store_c)),
        "regions": replace(base, region_ids=(region_b,)),
        "stores or regions": replace(base, store_ids=(store_b,), region_ids=(region_b,)),
        "combined": SegmentRule(
            tags_any=(kids, fit),
            tags_all=(fit,),
            min_trust_level=2,
            max_recency_days=100,
            min_spend_90d=Decimal("50"),
            region_ids=(region_a,),
        ),
        "combined, all tags and frequency": replace(
            base, tags_all=(kids, pet), min_frequency_90d=2, store_ids=(store_a, store_c)
        ),
    }


RULE_NAMES = [
    "everyone (not erased)",
    "consent required",
    "tags any",
    "tags all",
    "min trust level",
    "bought within 30 days",
    "frequency range",
    "spend range",
    "stores",
    "regions",
    "stores or regions",
    "combined",
    "combined, all tags and frequency",
]


@pytest.mark.parametrize("name", RULE_NAMES)
def test_segment_matches_plain_python_filter(world: dict[str, object], name: str) -> None:
    rule = rules_for(world)[name]
    expected = reference(world["rows"], rule)

    members = segment_rule_members(rule=rule)

    assert set(members.values_list("pk", flat=True)) == expected
    assert members.count() == len(expected)
    # The dataset is designed so every rule selects some but not all members.
    assert 0 < len(expected) < len(world["rows"])


def test_every_rule_kind_narrows_differently(world: dict[str, object]) -> None:
    results = {
        name: frozenset(reference(world["rows"], rule)) for name, rule in rules_for(world).items()
    }

    assert len(set(results.values())) == len(results)


def test_erased_members_are_never_selected(world: dict[str, object]) -> None:
    erased = {row.pk for row in world["rows"] if row.erased}
    rule = SegmentRule(marketing_consent_required=False)

    selected = set(segment_rule_members(rule=rule).values_list("pk", flat=True))

    assert erased
    assert not (selected & erased)


def test_segment_is_one_query(world: dict[str, object], django_assert_num_queries) -> None:
    rule = rules_for(world)["combined"]

    with django_assert_num_queries(1):
        members = list(segment_rule_members(rule=rule))

    assert {member.pk for member in members} == reference(world["rows"], rule)


def test_saved_segment_members_and_summary(world: dict[str, object]) -> None:
    kids, fit, _pet = world["tags"]
    region_a = world["regions"][0]
    segment = segment_create(
        name="夏季水果季·有孩家庭",
        rule=segment_rule_of(tags_any=[kids, fit], regions=[region_a], min_trust_level=2),
        by=UserFactory(),
    )
    expected = reference(
        world["rows"],
        SegmentRule(
            tags_any=tuple(sorted([kids.pk, fit.pk])), region_ids=(region_a.pk,), min_trust_level=2
        ),
    )

    summary = segment_summary(segment=Segment.objects.get(pk=segment.pk), sample_size=5)

    assert set(segment_members(segment=segment).values_list("pk", flat=True)) == expected
    assert summary.count == len(expected)
    sample_numbers = [member.member_no for member in summary.sample]
    assert (
        sample_numbers
        == sorted(Member.objects.filter(pk__in=expected).values_list("member_no", flat=True))[:5]
    )


def test_summary_counts_when_sample_is_not_full(world: dict[str, object]) -> None:
    rule = rules_for(world)["combined"]

    summary = segment_rule_summary(rule=rule, sample_size=1000)

    assert summary.count == len(reference(world["rows"], rule))
    assert len(summary.sample) == summary.count


def test_segment_create_refuses_empty_ranges(db: None) -> None:
    with pytest.raises(ValidationError) as error:
        segment_create(
            name="坏规则",
            rule=SegmentRule(min_frequency_90d=5, max_frequency_90d=2, min_spend_90d=Decimal("-1")),
        )

    assert set(error.value.message_dict) == {"max_frequency_90d", "min_spend_90d"}
    assert not Segment.objects.exists()


def test_segment_rule_change_replaces_relations(world: dict[str, object]) -> None:
    kids, fit, pet = world["tags"]
    segment = segment_create(
        name="测试", rule=segment_rule_of(tags_any=[kids], stores=world["stores"][:1])
    )

    segment_rule_change(segment=segment, rule=segment_rule_of(tags_all=[fit, pet]))

    segment.refresh_from_db()
    assert list(segment.tags_any.all()) == []
    assert set(segment.tags_all.all()) == {fit, pet}
    assert list(segment.stores.all()) == []
    assert segment.marketing_consent_required is True


# --- admin -----------------------------------------------------------------------------------


@pytest.fixture
def segment(world: dict[str, object]) -> Segment:
    return segment_create(
        name="健身人群·高信任",
        rule=segment_rule_of(tags_any=[world["tags"][1]], marketing_consent_required=False),
    )


def test_admin_segment_change_page_shows_live_count_and_masked_sample(
    client: object, hq_user: object, world: dict[str, object], segment: Segment
) -> None:
    client.force_login(hq_user)
    expected = reference(
        world["rows"],
        SegmentRule(tags_any=(world["tags"][1].pk,), marketing_consent_required=False),
    )
    first = Member.objects.filter(pk__in=expected).order_by("member_no").first()

    response = client.get(reverse("admin:customers_segment_change", args=[segment.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"{len(expected)} members match right now." in page
    assert first.member_no in page
    assert first.phone.removeprefix("+86") not in page
    assert first.masked_phone in page
    start = page.index('id="segment-summary"')
    sample_table = page[start : page.index("</table>", start)]
    assert sample_table.count("<tr>") == 1 + min(20, len(expected))


def test_admin_segment_preview_counts_without_saving(
    client: object, hq_user: object, world: dict[str, object]
) -> None:
    client.force_login(hq_user)
    kids, fit, _pet = world["tags"]
    region_b = world["regions"][1]
    expected = reference(
        world["rows"],
        SegmentRule(
            tags_all=(kids.pk, fit.pk), region_ids=(region_b.pk,), marketing_consent_required=False
        ),
    )

    response = client.get(
        reverse("admin:customers_segment_preview"),
        {"tags_all": [kids.pk, fit.pk], "regions": [region_b.pk], "name": "未保存"},
    )

    assert response.status_code == 200
    assert f"{len(expected)} member" in response.content.decode()
    assert not Segment.objects.exists()


def test_admin_segment_preview_reports_bad_ranges(client: object, hq_user: object) -> None:
    client.force_login(hq_user)

    response = client.get(
        reverse("admin:customers_segment_preview"),
        {"min_frequency_90d": "9", "max_frequency_90d": "1"},
    )

    assert response.status_code == 200
    assert "The maximum must not be below the minimum." in response.content.decode()
    assert "match right now" not in response.content.decode()


def test_admin_segment_preview_names_the_field_of_each_bad_range(client, hq_user) -> None:
    """Two empty ranges gave the same sentence twice, naming neither field."""
    client.force_login(hq_user)
    rule = {
        "min_frequency_90d": "9",
        "max_frequency_90d": "1",
        "min_spend_90d": "500",
        "max_spend_90d": "100",
    }
    pages = {}
    for language in ("en", "zh-hans"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        url = reverse("admin:customers_segment_preview")
        pages[language] = client.get(url, rule).content.decode()

    assert "Maximum orders (90 days): The maximum must not be below the minimum." in pages["en"]
    assert "Maximum spend (90 days): The maximum must not be below the minimum." in pages["en"]
    assert "最多订单数（90 天）：最大值不能小于最小值。" in pages["zh-hans"]
    assert "最高消费金额（90 天）：最大值不能小于最小值。" in pages["zh-hans"]


def test_admin_segment_preview_refuses_non_staff_and_staff_without_permission(
    client: object, owner: object, world: dict[str, object]
) -> None:
    url = reverse("admin:customers_segment_preview")

    anonymous = client.get(url)
    client.force_login(owner)
    portal_user = client.get(url)
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    staff_response = client.get(url)

    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]
    assert portal_user.status_code == 302
    assert staff_response.status_code == 403


def test_admin_segment_add_sets_creator_and_validates(
    client: object, hq_user: object, world: dict[str, object]
) -> None:
    client.force_login(hq_user)
    url = reverse("admin:customers_segment_add")
    kids = world["tags"][0]

    bad = client.post(
        url, {"name": "坏", "min_spend_90d": "500", "max_spend_90d": "10", "tags_any": [kids.pk]}
    )
    good = client.post(
        url,
        {
            "name": "有孩家庭·同意营销",
            "tags_any": [kids.pk],
            "min_trust_level": "3",
            "marketing_consent_required": "on",
        },
    )

    assert bad.status_code == 200
    assert "The maximum must not be below the minimum." in bad.content.decode()
    assert good.status_code == 302
    saved = Segment.objects.get()
    assert saved.name == "有孩家庭·同意营销"
    assert saved.created_by == hq_user
    assert list(saved.tags_any.all()) == [kids]
    assert saved.min_trust_level == 3


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:customers_segment_changelist",
        "admin:customers_segment_add",
        "admin:customers_tagkeyword_changelist",
        "admin:customers_tagkeyword_add",
        "admin:customers_tagcategoryrule_changelist",
        "admin:customers_tagcategoryrule_add",
        "admin:customers_memberprofile_changelist",
        "admin:customers_tag_changelist",
        "admin:customers_tag_add",
    ],
)
def test_admin_pages_render(
    client: object, hq_user: object, world: dict[str, object], url_name: str
) -> None:
    client.force_login(hq_user)

    response = client.get(reverse(url_name))

    assert response.status_code == 200


def test_admin_tag_page_edits_keywords_inline(client: object, hq_user: object) -> None:
    from apps.customers.models import TagKeyword

    client.force_login(hq_user)
    tag = Tag.objects.create(name="健身人群")

    response = client.post(
        reverse("admin:customers_tag_change", args=[tag.pk]),
        {
            "name": "健身人群",
            "category": "scene",
            "description": "",
            "keywords-TOTAL_FORMS": "1",
            "keywords-INITIAL_FORMS": "0",
            "keywords-0-keyword": "瑜伽",
            "category_rules-TOTAL_FORMS": "0",
            "category_rules-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    assert list(TagKeyword.objects.values_list("tag__name", "keyword")) == [("健身人群", "瑜伽")]


def test_admin_profile_is_read_only(
    client: object, hq_user: object, world: dict[str, object]
) -> None:
    client.force_login(hq_user)
    profile = MemberProfile.objects.first()

    page = client.get(reverse("admin:customers_memberprofile_change", args=[profile.pk]))
    post = client.post(
        reverse("admin:customers_memberprofile_change", args=[profile.pk]), {"frequency_90d": "99"}
    )

    assert page.status_code == 200
    assert post.status_code == 403
    profile.refresh_from_db()
    assert profile.frequency_90d != 99


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_preview_button_in_a_real_browser(
    live_server: object, hq_user: object, world: dict[str, object]
) -> None:
    """The Preview button sends the unsaved form to the preview view and shows the count."""
    import os
    import shutil

    from playwright.sync_api import sync_playwright

    from tests.factories import PASSWORD

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    expected = reference(
        world["rows"], SegmentRule(min_trust_level=4, marketing_consent_required=False)
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_context(locale="en-US").new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", hq_user.username)
            page.fill("#id_password", PASSWORD)
            with page.expect_navigation():
                page.click("input[type=submit]")
            page.goto(f"{live_server.url}{reverse('admin:customers_segment_add')}")
            page.fill("#id_name", "未保存的分群")
            page.select_option("#id_min_trust_level", "4")
            page.uncheck("#id_marketing_consent_required")
            page.click("#segment-preview-button")
            count_text = page.locator("#segment-summary .segment-count").inner_text()
        finally:
            browser.close()

    assert count_text == f"{len(expected)} members match right now."
    assert not Segment.objects.exists()


def test_admin_profile_shows_its_shares_as_percentages(
    client: object, hq_user: object, world: dict[str, object]
) -> None:
    """Price sensitivity and the monthly repurchase rate are stored as fractions (0.3876) and
    were shown so; the list and the page show percentages. The percentage is a display: the
    page offers no field to edit, and a form posted back with it is refused, the stored
    fraction unchanged (a 38.8 saved into a fraction would break every segment rule)."""
    client.force_login(hq_user)
    profile = MemberProfile.objects.first()
    MemberProfile.objects.filter(pk=profile.pk).update(
        price_sensitivity=Decimal("0.3876"),
        monthly_repurchase_rate=Decimal("0.0500"),
        top_categories=[{"category": "水果", "share": 0.6124}],
    )

    page = client.get(
        reverse("admin:customers_memberprofile_change", args=[profile.pk])
    ).content.decode()
    listed = client.get(
        reverse("admin:customers_memberprofile_changelist"),
        {"member__id__exact": profile.member_id},
    ).content.decode()

    for content in (page, listed):
        assert "38.8%" in content
        assert "5.0%" in content
        assert "0.3876" not in content
    assert "水果 61.2%" in page
    assert "0.6124" not in page
    assert 'name="price_sensitivity"' not in page
    assert 'name="monthly_repurchase_rate"' not in page

    posted = client.post(
        reverse("admin:customers_memberprofile_change", args=[profile.pk]),
        {"price_sensitivity": "38.8", "monthly_repurchase_rate": "5.0"},
    )
    assert posted.status_code == 403
    profile.refresh_from_db()
    assert (profile.price_sensitivity, profile.monthly_repurchase_rate) == (
        Decimal("0.3876"),
        Decimal("0.0500"),
    )
