"""Reads for scenario templates, campaigns and store campaigns: the owner's list, one store
campaign with its pack, who a store campaign targets, and a matching template for a product.

The target rule (`store_campaign_target_members`) is documented in docs/campaigns.md: the
campaign's segment (else its template's), restricted to the store's members; otherwise the store's
members with any target tag (the campaign's, else its template's); with no tag and no segment,
every member of the store. Erased members and members without marketing consent are never
targeted, whatever the segment says.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.campaigns.models import Campaign, CampaignTarget, ScenarioTemplate, StoreCampaign
from apps.catalog.models import Category, Product
from apps.customers.models import Member, MemberTag, Segment, Tag
from apps.customers.selectors.segments import segment_members
from apps.stores.models import Order, StockLevel, Store
from linli.phones import phone_for_viewer


def store_campaigns_for_store(*, store: Store) -> QuerySet[StoreCampaign]:
    """The store's campaigns for its owner's list: drafts first, then by start day (newest
    first). One query (campaign and template joined)."""
    return (
        StoreCampaign.objects.filter(store=store)
        .select_related("campaign", "campaign__template")
        .annotate(
            draft_first=Case(
                When(status=StoreCampaign.Status.DRAFT, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("draft_first", "-campaign__starts_on", "-pk")
    )


def store_campaign_of_store(*, store: Store, store_campaign_id: int) -> StoreCampaign | None:
    """One store campaign of this store (None for another store's or an unknown id)."""
    return (
        StoreCampaign.objects.filter(store=store, pk=store_campaign_id)
        .select_related("campaign", "campaign__template", "store", "store__region")
        .first()
    )


def store_campaign_targets(*, store_campaign: StoreCampaign) -> QuerySet[CampaignTarget]:
    """The snapshot taken at confirmation, with each member (mask phones when showing them)."""
    return (
        CampaignTarget.objects.filter(store_campaign=store_campaign)
        .select_related("member")
        .order_by("member__member_no", "pk")
    )


def campaign_products(*, campaign: Campaign) -> list:
    """The campaign's products in their order, with product and category (one query)."""
    return list(
        campaign.products.select_related("product", "product__category").order_by("position", "pk")
    )


def campaign_terms_settled(*, campaign: Campaign) -> bool:
    """Whether the campaign's terms (products and their order, prices, days, hour, discount,
    template, targets) are settled: once a store confirmed, its pack, item numbers ("2号"),
    planned promotions and target list were made from them, and an edit would not reach them;
    a cancelled campaign is over. HQ edits them only before (docs/campaigns.md)."""
    if campaign.status == Campaign.Status.CANCELLED:
        return True
    return campaign.stores.filter(status=StoreCampaign.Status.CONFIRMED).exists()


def campaign_item_numbers(*, campaign: Campaign) -> dict[int, int]:
    """{product id: its item number}: 1, 2, 3… in the campaign's product order (the order of
    `campaign_products`). The one numbering of a campaign's items: the 接龙 copy prints it
    (`p.number`, "1️⃣" / "1号") and a pasted 接龙 line may name its product by it ("2号×1")."""
    product_ids = campaign.products.order_by("position", "pk").values_list("product_id", flat=True)
    return item_numbers(product_ids)


def item_numbers(product_ids: Iterable[int]) -> dict[int, int]:
    """{product id: its item number} for product ids in the campaign's order: 1, 2, 3…
    (`campaign_item_numbers` reads that order; the pack passes the products it has read)."""
    return {product_id: number for number, product_id in enumerate(product_ids, start=1)}


# The hour a campaign's group buys close on its last day (the "截单" of its 接龙 copy): the
# daily consolidation's 22:00 cut-off, so the last joins are on that night's purchase orders.
CUTOFF_HOUR = 22
# When the last day's cut-off is not after the broadcast's start (a one-day campaign broadcast
# at 22:00 or later), offers close this long after the start instead.
CUTOFF_AFTER_START = dt.timedelta(hours=4)


def campaign_cutoff(*, campaign: Campaign, start: dt.datetime) -> dt.datetime:
    """When the campaign's group buys close, for a broadcast starting at `start`: its last day
    (`ends_on`) at CUTOFF_HOUR, store local time; CUTOFF_AFTER_START after `start` when that
    is not later than the start. The pack's copy (`cutoff_text`) and the owner's offer form
    (its default deadline) both use this, so what members read is what the offer does."""
    zone = timezone.get_current_timezone()
    cutoff = dt.datetime.combine(campaign.ends_on, dt.time(CUTOFF_HOUR), tzinfo=zone)
    if cutoff <= start:
        cutoff = start + CUTOFF_AFTER_START
    return timezone.localtime(cutoff)


def store_stock(*, store: Store, product_ids: list[int]) -> dict[int, int]:
    """On-hand units at the store per product (missing rows count as 0)."""
    levels = StockLevel.objects.filter(store=store, product_id__in=product_ids).values_list(
        "product_id", "on_hand"
    )
    stock = dict.fromkeys(product_ids, 0)
    stock.update(dict(levels))
    return stock


def store_members(*, store: Store) -> QuerySet[Member]:
    """Members of the store: its home members and everyone who has bought there."""
    bought_here = Order.objects.filter(store=store, member=OuterRef("pk"))
    return Member.objects.filter(Q(home_store=store) | Exists(bought_here))


@dataclass(frozen=True)
class TargetRule:
    """What a store campaign targets: a segment, tags, or (neither) every store member."""

    segment: Segment | None
    tags: tuple[Tag, ...]


def campaign_target_rule(*, campaign: Campaign) -> TargetRule:
    """The campaign's segment (else its template's); else its tags (else its template's)."""
    template = campaign.template
    segment = campaign.segment or (template.target_segment if template else None)
    if segment is not None:
        return TargetRule(segment=segment, tags=())
    tags = tuple(campaign.target_tags.order_by("name"))
    if not tags and template is not None:
        tags = tuple(template.target_tags.order_by("name"))
    return TargetRule(segment=None, tags=tags)


def store_campaign_target_members(
    *, store_campaign: StoreCampaign, rule: TargetRule | None = None
) -> QuerySet[Member]:
    """Who the store campaign targets now (see the module docstring): one query, consent and
    erasure always respected."""
    rule = rule or campaign_target_rule(campaign=store_campaign.campaign)
    members = store_members(store=store_campaign.store)
    if rule.segment is not None:
        members = members.filter(pk__in=segment_members(segment=rule.segment).values("pk"))
    elif rule.tags:
        tagged = MemberTag.objects.filter(
            member=OuterRef("pk"), tag_id__in=[tag.pk for tag in rule.tags]
        )
        members = members.filter(Exists(tagged))
    return members.filter(is_erased=False, marketing_consent=True)


def members_tag_names(*, member_ids: list[int], tag_ids: list[int]) -> dict[int, list[str]]:
    """For each member, the names of those tags it carries (one query)."""
    names: dict[int, list[str]] = {}
    rows = (
        MemberTag.objects.filter(member_id__in=member_ids, tag_id__in=tag_ids)
        .order_by("tag__name")
        .values_list("member_id", "tag__name")
    )
    for member_id, name in rows:
        names.setdefault(member_id, []).append(name)
    return names


def scenario_template_for_product(*, product: Product) -> ScenarioTemplate | None:
    """An active template whose categories include the product's category or one above it
    (the nearest category wins; ties by code). None when no template fits."""
    chain: list[int] = []
    category: Category | None = product.category
    while category is not None and category.pk not in chain and len(chain) < 10:
        chain.append(category.pk)
        category = category.parent
    for category_id in chain:
        template = (
            ScenarioTemplate.objects.filter(is_active=True, categories__pk=category_id)
            .order_by("code")
            .first()
        )
        if template is not None:
            return template
    return None


def scenario_template_products(*, template: ScenarioTemplate) -> list[Product]:
    """The template's active products, by name: what a launch that lists none offers."""
    return list(
        Product.objects.filter(
            pk__in=ScenarioTemplate.products.through.objects.filter(
                scenariotemplate_id=template.pk
            ).values("product_id"),
            is_active=True,
        ).order_by("name", "pk")
    )


def campaign_launch_overlaps(
    *,
    template: ScenarioTemplate,
    store_ids: Iterable[int],
    starts_on: dt.date,
    ends_on: dt.date,
) -> QuerySet[Campaign]:
    """The active campaigns of this template that run on a day of `starts_on` … `ends_on` and
    in which one of the stores still takes part (a draft or a confirmed store campaign; a
    declined or cancelled one does not count), soonest first. Each is annotated with
    `overlapping_stores`, how many of the stores take part in it, and carries its template
    (the refusal's message names it)."""
    taking_part = StoreCampaign.objects.filter(
        store_id__in=list(store_ids),
        status__in=[StoreCampaign.Status.DRAFT, StoreCampaign.Status.CONFIRMED],
    )
    return (
        Campaign.objects.filter(
            template=template,
            status=Campaign.Status.ACTIVE,
            starts_on__lte=ends_on,
            ends_on__gte=starts_on,
            pk__in=taking_part.values("campaign_id"),
        )
        .annotate(overlapping_stores=Count("stores", filter=Q(stores__in=taking_part.values("pk"))))
        .select_related("template")
        .order_by("starts_on", "pk")
    )


def store_campaigns_taking_part(
    *, campaign_ids: Sequence[int], store_id: int
) -> list[StoreCampaign]:
    """The store's draft or confirmed rows in these campaigns, in the order of `campaign_ids`
    (where an owner refused a second campaign of a template is sent: the one already there)."""
    rows = {
        row.campaign_id: row
        for row in StoreCampaign.objects.filter(
            campaign_id__in=list(campaign_ids),
            store_id=store_id,
            status__in=[StoreCampaign.Status.DRAFT, StoreCampaign.Status.CONFIRMED],
        ).select_related("campaign")
    }
    return [rows[campaign_id] for campaign_id in campaign_ids if campaign_id in rows]


def campaign_for_insight_card(*, card_id: int) -> Campaign | None:
    """The campaign drafted from this insight card, if any."""
    return (
        Campaign.objects.filter(insight_card_id=card_id, origin=Campaign.Origin.INSIGHT)
        .order_by("pk")
        .first()
    )


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def store_campaign_targets_csv(*, store_campaign: StoreCampaign, viewer: object) -> bytes:
    """The target list as CSV (UTF-8 with a BOM, for Excel): member number, name, phone as
    this viewer may see it (masked without `customers.view_phone`), why targeted. Cells are
    formula-escaped. The caller checks MEMBER_DATA."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Member number"), pgettext("person", "Name"), _("Phone"), _("Why targeted")])
    for target in store_campaign_targets(store_campaign=store_campaign):
        member = target.member
        writer.writerow(
            [
                _cell(member.member_no),
                _cell(member.name),
                _cell(phone_for_viewer(member.phone, user=viewer)),
                _cell(target.reason),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def tag_targeting_users(*, tag_ids: Iterable[int]) -> list[Campaign | ScenarioTemplate]:
    """The campaigns (not cancelled) and scenario templates that target any of `tag_ids`.

    Deleting such a tag removes it from their target tags without a word, and a draft with no
    tag left targets every member of the store: the Tag admin refuses the delete and names these.
    """
    ids = list(tag_ids)
    campaigns = (
        Campaign.objects.filter(target_tags__in=ids)
        .exclude(status=Campaign.Status.CANCELLED)
        .distinct()
        .order_by("-starts_on", "pk")
    )
    templates = ScenarioTemplate.objects.filter(target_tags__in=ids).distinct().order_by("name")
    return [*campaigns, *templates]
