"""Writes for campaigns: HQ's launch, an owner's draft from an insight card, the owner's
one-click confirmation (target snapshot, planned promotions, the broadcast, the pack), declining,
and HQ's cancellation. The rules in prose: docs/campaigns.md.

Concurrency: every status change is a conditional UPDATE (`filter(status=...).update(...)`), so a
double click or two owners clicking at once change a row once; the work that follows a change runs
only in the call whose UPDATE changed the row, inside the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.campaigns.models import (
    Broadcast,
    Campaign,
    CampaignProduct,
    CampaignTarget,
    Promotion,
    ScenarioTemplate,
    StoreCampaign,
)
from apps.campaigns.selectors import campaigns as selectors
from apps.campaigns.services.packs import (
    NO_PACK_SOURCES,
    PackResult,
    PackSources,
    campaign_price,
    store_campaign_pack_generate,
)
from apps.catalog.models import InsightCard, Product
from apps.catalog.services.insights import insight_card_accept
from apps.customers.models import Segment, Tag
from apps.stores.models import Region, Store

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


@dataclass(frozen=True)
class CampaignProductSpec:
    """A product to offer, with an optional campaign price (else the campaign's discount
    applies to the list price) and the stock each store should hold."""

    product: Product
    price: Decimal | None = None
    suggested_stock: int = 0


class CampaignOverlapError(ValidationError):
    """A launch refused because active campaigns of the same template already run at some of
    the chosen stores on overlapping days: `campaigns` are those not confirmed by the caller,
    each annotated with `overlapping_stores`. The messages name them (non-field errors)."""

    def __init__(self, campaigns: Sequence[Campaign]) -> None:
        self.campaigns = list(campaigns)
        super().__init__(
            {NON_FIELD_ERRORS: [self.message_for(campaign) for campaign in self.campaigns]},
            code="overlap",
        )

    @staticmethod
    def message_for(campaign: Campaign) -> str:
        return _(
            "“%(name)s” (%(starts_on)s – %(ends_on)s) already offers this template "
            "at %(count)d of the chosen stores on overlapping days."
        ) % {
            "name": campaign.name,
            "starts_on": campaign.starts_on.isoformat(),
            "ends_on": campaign.ends_on.isoformat(),
            "count": campaign.overlapping_stores,
        }


class InsightOverlapError(CampaignOverlapError):
    """An insight card not accepted (nothing written, the card stays open) because its store
    already takes part in an active campaign of the template the card's campaign would have,
    on overlapping days: the same rule, checked under the same lock, as HQ's launch.
    `store_campaigns` are the store's rows in `campaigns`, in the same order (where the owner
    is sent instead), read by the raiser: the error itself runs no query. The messages speak
    to the owner of the one store."""

    def __init__(
        self, campaigns: Sequence[Campaign], *, store_campaigns: Sequence[StoreCampaign]
    ) -> None:
        self.store_campaigns = list(store_campaigns)
        super().__init__(campaigns)

    @staticmethod
    def message_for(campaign: Campaign) -> str:
        return _(
            "Not accepted: this store already takes part in “%(name)s” (%(starts_on)s – "
            "%(ends_on)s), a campaign of the same template (%(template)s) on overlapping days, "
            "and only one runs at a time. A declined draft does not count."
        ) % {
            "name": campaign.name,
            "starts_on": campaign.starts_on.isoformat(),
            "ends_on": campaign.ends_on.isoformat(),
            "template": campaign.template.name if campaign.template else "",
        }


class InsightStoreClosedError(ValidationError):
    """An insight card not accepted (nothing written, the card stays open) because its store is
    not open for trade (`Store.is_trading`: preparing, suspended or closed): such a store runs
    no campaign, as HQ's launch takes open stores only. `store` is the card's store; the code
    is `store_closed`, the one a store terminal's write is refused with."""

    code_name = "store_closed"

    def __init__(self, store: Store) -> None:
        self.store = store
        super().__init__(
            _(
                "Not accepted: store %(store)s is not open for trade (%(status)s), so no "
                "campaign can be drafted for it."
            )
            % {"store": store.code, "status": store.get_status_display()},
            code=self.code_name,
        )


def _specs(products: Iterable[Product | CampaignProductSpec]) -> list[CampaignProductSpec]:
    return [
        item if isinstance(item, CampaignProductSpec) else CampaignProductSpec(product=item)
        for item in products
    ]


def campaign_stores_resolve(
    *, stores: Iterable[Store] = (), regions: Iterable[Region] = ()
) -> list[Store]:
    """The open stores listed, and the open stores of the regions (the union, by id)."""
    store_ids = {store.pk for store in stores}
    region_ids = {region.pk for region in regions}
    if not store_ids and not region_ids:
        return []
    return list(
        Store.objects.trading()
        .filter(Q(pk__in=store_ids) | Q(region_id__in=region_ids))
        .order_by("pk")
    )


def campaign_stores_add(*, campaign: Campaign, stores: Iterable[Store]) -> int:
    """Give each store a draft StoreCampaign (set-wise). Idempotent per (campaign, store): a
    store already in the campaign keeps its row and status. Returns how many were added."""
    rows = [StoreCampaign(campaign=campaign, store=store) for store in stores]
    before = StoreCampaign.objects.filter(campaign=campaign).count()
    StoreCampaign.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return StoreCampaign.objects.filter(campaign=campaign).count() - before


def _validate_launch(
    *,
    template: ScenarioTemplate | None,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    specs: Sequence[CampaignProductSpec],
    stores: Sequence[Store],
    discount_percent: int,
    broadcast_hour: int,
) -> None:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if template is not None and not template.is_active:
        add("template", _("The scenario template “%(name)s” is not active.") % {"name": template})
    if not name.strip():
        add("name", _("Give the campaign a name."))
    if ends_on < starts_on:
        add("ends_on", _("The campaign cannot end before it starts."))
    if not specs and template is not None:
        add(
            "products",
            _(
                "The scenario template “%(name)s” has no active products: choose the products, "
                "or give the template some."
            )
            % {"name": template},
        )
    elif not specs:
        add("products", _("Choose at least one product."))
    product_ids = [spec.product.pk for spec in specs]
    if len(set(product_ids)) != len(product_ids):
        add("products", _("A product is listed twice."))
    for spec in specs:
        if spec.price is not None and spec.price < 0:
            add("products", _("The price of %(product)s is negative.") % {"product": spec.product})
        if spec.suggested_stock < 0:
            add("products", _("The stock of %(product)s is negative.") % {"product": spec.product})
    if not stores:
        add("stores", _("Choose at least one open store or a region with open stores."))
    if not 0 <= discount_percent <= 90:
        add("discount_percent", _("The discount must be between 0 and 90 per cent."))
    if not 0 <= broadcast_hour <= 23:
        add("broadcast_hour", _("The broadcast hour must be between 0 and 23."))
    if errors:
        raise ValidationError(errors)


def campaign_launch(
    *,
    template: ScenarioTemplate | None,
    name: str = "",
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    products: Iterable[Product | CampaignProductSpec] = (),
    stores: Iterable[Store] = (),
    regions: Iterable[Region] = (),
    segment: Segment | None = None,
    tags: Iterable[Tag] | None = None,
    discount_percent: int | None = None,
    broadcast_hour: int | None = None,
    overlaps_confirmed: Iterable[Campaign] = (),
    by: AbstractBaseUser | None,
) -> Campaign:
    """HQ launches a campaign: one Campaign, its products, and a DRAFT StoreCampaign for each
    open store listed or in a listed region.

    Defaults come from the template: the name, the end day (`duration_days`), the hour, the
    discount, the segment, the target tags and, when no product is listed, the products (the
    template's active ones, by name, at the discount). Raises ValidationError (by field,
    nothing written) for an inactive template, an end before the start, no products (none
    listed and none on the template), no open stores, a discount outside 0–90 or an hour
    outside 0–23.

    Raises CampaignOverlapError (nothing written) when an active campaign of the same template
    already runs on an overlapping day at one of the stores (a draft or a confirmed store
    campaign there), unless the caller lists it in `overlaps_confirmed` (HQ saw it and chose to
    launch beside it). The check runs with the template's row locked (SELECT … FOR UPDATE on
    PostgreSQL; SQLite's IMMEDIATE transactions serialise writers), so two launches of the same
    template at once make one campaign and refuse the other. Adding stores to a campaign again
    (`campaign_stores_add`) is idempotent per (campaign, store).
    """
    specs = _specs(products)
    if not specs and template is not None:
        specs = _specs(selectors.scenario_template_products(template=template))
    store_list = campaign_stores_resolve(stores=stores, regions=regions)
    name = name or (template.name if template else "")
    if ends_on is None:
        days = template.duration_days if template else 1
        ends_on = starts_on + dt.timedelta(days=days - 1)
    if discount_percent is None:
        discount_percent = template.default_discount_percent if template else 0
    if broadcast_hour is None:
        broadcast_hour = template.suggested_hour if template else 20
    _validate_launch(
        template=template,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        specs=specs,
        stores=store_list,
        discount_percent=discount_percent,
        broadcast_hour=broadcast_hour,
    )
    if segment is None and template is not None:
        segment = template.target_segment
    with transaction.atomic():
        if template is not None:
            overlaps = _template_overlaps_locked(
                template=template,
                store_ids=[store.pk for store in store_list],
                starts_on=starts_on,
                ends_on=ends_on,
                confirmed_ids={campaign.pk for campaign in overlaps_confirmed},
            )
            if overlaps:
                raise CampaignOverlapError(overlaps)
        campaign = Campaign.objects.create(
            name=name.strip()[:120],
            template=template,
            origin=Campaign.Origin.HQ,
            segment=segment,
            starts_on=starts_on,
            ends_on=ends_on,
            broadcast_hour=broadcast_hour,
            discount_percent=discount_percent,
            created_by=by,
        )
        tag_list = list(tags) if tags is not None else None
        if tag_list is None and template is not None:
            tag_list = list(template.target_tags.all())
        if tag_list:
            campaign.target_tags.set(tag_list)
        CampaignProduct.objects.bulk_create(
            [
                CampaignProduct(
                    campaign=campaign,
                    product=spec.product,
                    price=spec.price,
                    suggested_stock=spec.suggested_stock,
                    position=position,
                )
                for position, spec in enumerate(specs)
            ]
        )
        campaign_stores_add(campaign=campaign, stores=store_list)
    return campaign


def _template_overlaps_locked(
    *,
    template: ScenarioTemplate,
    store_ids: list[int],
    starts_on: dt.date,
    ends_on: dt.date,
    confirmed_ids: Set[int] = frozenset(),
) -> list[Campaign]:
    """Lock the template's row, then answer the active campaigns of the template that overlap
    the days at the stores and that the caller did not confirm. Every writer of a templated
    campaign (HQ's launch, an owner's insight acceptance) calls this inside its transaction
    before it writes, so they queue here until the first commits and the second sees its
    campaign: two of them at once make one campaign and refuse the other."""
    list(ScenarioTemplate.objects.select_for_update().filter(pk=template.pk).values("pk"))
    return [
        campaign
        for campaign in selectors.campaign_launch_overlaps(
            template=template, store_ids=store_ids, starts_on=starts_on, ends_on=ends_on
        )
        if campaign.pk not in confirmed_ids
    ]


def _insight_start_day(*, hour: int) -> dt.date:
    """Today when the hour is still ahead (local time), else tomorrow."""
    now = timezone.localtime()
    today = now.date()
    return today if now.hour < hour else today + dt.timedelta(days=1)


@dataclass(frozen=True)
class InsightDraft:
    """What accepting an insight card did: `card` as it now is (accepted), `store_campaign` its
    draft (made by this call or an earlier one); `accepted` is True when this call recorded
    the acceptance, `drafted` when this call made the draft (False: an earlier call's, found
    under the card's lock — a second click, or a second acceptance that waited for the first).
    """

    card: InsightCard
    store_campaign: StoreCampaign
    accepted: bool
    drafted: bool = True


def campaign_draft_from_insight(*, card: InsightCard, by: AbstractBaseUser | None) -> InsightDraft:
    """The owner (or HQ) accepts an insight card: the acceptance is recorded on the card and a
    one-store, insight-origin campaign drafted for the card's product (stock `card.stock_qty`,
    hour `card.broadcast_hour`, target tags `card.tags`), with the scenario template of the
    product's category when one fits, and its DRAFT store campaign — in one transaction.

    Idempotent: the card's row is locked and an existing draft returned, so accepting the same
    card twice (or two clicks at once) makes one campaign.

    With a template, the campaign follows HQ's launch rule under the same lock (the template's
    row, `_template_overlaps_locked`): when the store already takes part in an active campaign
    of that template on an overlapping day (HQ's, or another card's), nothing is written — the
    card stays unaccepted — and InsightOverlapError names it. Locks: the card, then the template.

    A card of a store not open for trade (`Store.is_trading`) is refused the same way, nothing
    written: InsightStoreClosedError. A card accepted while the store was open still answers
    its draft (a retry is not a new acceptance).
    """
    with transaction.atomic():
        # The card's row only (`of`): FOR UPDATE on the joined store and product would block a
        # launch's inserts that point at them (FOR KEY SHARE) while it holds the template
        # this call waits for — a deadlock.
        card = (
            InsightCard.objects.select_for_update(of=("self",))
            .select_related("product", "product__category", "store")
            .get(pk=card.pk)
        )
        existing = selectors.campaign_for_insight_card(card_id=card.pk)
        if existing is not None:
            return InsightDraft(
                card=card,
                store_campaign=StoreCampaign.objects.get(campaign=existing, store_id=card.store_id),
                accepted=False,
                drafted=False,
            )
        if not card.store.is_trading:
            raise InsightStoreClosedError(card.store)
        template = selectors.scenario_template_for_product(product=card.product)
        starts_on = _insight_start_day(hour=card.broadcast_hour)
        days = template.duration_days if template else 1
        ends_on = starts_on + dt.timedelta(days=days - 1)
        if template is not None:
            overlaps = _template_overlaps_locked(
                template=template, store_ids=[card.store_id], starts_on=starts_on, ends_on=ends_on
            )
            if overlaps:
                taking_part = selectors.store_campaigns_taking_part(
                    campaign_ids=[campaign.pk for campaign in overlaps], store_id=card.store_id
                )
                raise InsightOverlapError(overlaps, store_campaigns=taking_part)
        accepted = insight_card_accept(card=card, by=by)
        # The name is stored and read by HQ and the store alike: written in the project's
        # language, not in that of the page the owner happened to accept the card on.
        with translation.override(settings.LANGUAGE_CODE):
            name = _("%(product)s (insight)") % {"product": card.product.name}
        campaign = Campaign.objects.create(
            name=name[:120],
            template=template,
            origin=Campaign.Origin.INSIGHT,
            starts_on=starts_on,
            ends_on=ends_on,
            broadcast_hour=card.broadcast_hour,
            discount_percent=template.default_discount_percent if template else 0,
            insight_card=card,
            created_by=by,
        )
        tag_ids = [int(tag["id"]) for tag in card.tags or [] if tag.get("id") is not None]
        if tag_ids:
            campaign.target_tags.set(Tag.objects.filter(pk__in=tag_ids))
        CampaignProduct.objects.create(
            campaign=campaign, product=card.product, suggested_stock=card.stock_qty
        )
        store_campaign = StoreCampaign.objects.create(campaign=campaign, store=card.store)
    return InsightDraft(card=card, store_campaign=store_campaign, accepted=accepted)


def _discount_depth(*, list_price: Decimal, offer_price: Decimal) -> int:
    """The offer's depth in whole per cent, 0–90 (what the forecast's promotion feature reads)."""
    if list_price <= 0:
        return 0
    depth = (Decimal(1) - offer_price / list_price) * 100
    return max(0, min(90, int(depth.quantize(Decimal(1), rounding=ROUND_HALF_UP))))


def broadcast_time(*, campaign: Campaign) -> dt.datetime:
    """The first broadcast: the first campaign day at the broadcast hour, store local time."""
    zone = ZoneInfo(settings.TIME_ZONE)
    return dt.datetime.combine(campaign.starts_on, dt.time(campaign.broadcast_hour), tzinfo=zone)


def _targets_snapshot(*, store_campaign: StoreCampaign) -> int:
    """Write the target list (set-wise). The reason names the segment or the matching tags, in
    the project's language (it is stored and shown to everyone who opens the list)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _targets_snapshot_written(store_campaign=store_campaign)


def _targets_snapshot_written(*, store_campaign: StoreCampaign) -> int:
    rule = selectors.campaign_target_rule(campaign=store_campaign.campaign)
    member_ids = list(
        selectors.store_campaign_target_members(store_campaign=store_campaign, rule=rule)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if rule.segment is not None:
        reasons = dict.fromkeys(
            member_ids, _("Segment: %(segment)s") % {"segment": rule.segment.name}
        )
    elif rule.tags:
        tag_names = selectors.members_tag_names(
            member_ids=member_ids, tag_ids=[tag.pk for tag in rule.tags]
        )
        reasons = {
            member_id: _("Tagged %(tags)s")
            % {"tags": pgettext("list separator", ", ").join(tag_names.get(member_id, []))}
            for member_id in member_ids
        }
    else:
        reasons = dict.fromkeys(member_ids, _("Member of the store"))
    now = timezone.now()
    CampaignTarget.objects.bulk_create(
        [
            CampaignTarget(
                store_campaign=store_campaign,
                member_id=member_id,
                reason=reasons[member_id][:120],
                created_at=now,
            )
            for member_id in member_ids
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return len(member_ids)


def _planned_promotion(
    *, store_campaign: StoreCampaign, item: CampaignProduct, by: AbstractBaseUser | None
) -> Promotion:
    """The planned Promotion of one campaign product: a group buy at its depth, or — when the
    campaign sells it at its list price (no campaign discount, no lower campaign price: an
    insight card's draft without a template) — a live broadcast with no discount, which is what
    it is; recorded as a 0 % group buy, the owner read "团购 0%"."""
    campaign = store_campaign.campaign
    depth = _discount_depth(
        list_price=item.product.price,
        offer_price=campaign_price(
            list_price=item.product.price,
            price=item.price,
            discount_percent=campaign.discount_percent,
        ),
    )
    return Promotion(
        name=campaign.name[:120],
        kind=Promotion.Kind.GROUP_BUY if depth else Promotion.Kind.BROADCAST,
        product=item.product,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        discount_percent=depth or None,
        store_campaign=store_campaign,
        created_by=by,
    )


def _promotions_plan(*, store_campaign: StoreCampaign, by: AbstractBaseUser | None) -> int:
    """One planned Promotion per campaign product at this store (`_planned_promotion`)."""
    promotions = [
        _planned_promotion(store_campaign=store_campaign, item=item, by=by)
        for item in selectors.campaign_products(campaign=store_campaign.campaign)
    ]
    created = Promotion.objects.bulk_create(promotions)
    through = Promotion.stores.through
    through.objects.bulk_create(
        [through(promotion_id=row.pk, store_id=store_campaign.store_id) for row in created]
    )
    return len(created)


@dataclass(frozen=True)
class Confirmation:
    """What one confirm call did: `confirmed` is False when the row was not a draft (a second
    click, a declined or cancelled campaign) and nothing else happened then."""

    confirmed: bool
    targets: int = 0
    promotions: int = 0
    pack: PackResult | None = None


def store_campaign_confirm(
    *,
    store_campaign: StoreCampaign,
    by: AbstractBaseUser | None,
    sources: PackSources = NO_PACK_SOURCES,
) -> Confirmation:
    """The owner's one click: DRAFT → CONFIRMED (of an active campaign), then, in the same
    transaction, the target snapshot, the planned promotions, the scheduled Broadcast and the
    pack (made with `sources`: the interfaces pass `apps.campaigns.sources.pack_sources()`).
    Idempotent: only the call whose conditional UPDATE changed the row does the rest.
    A poster that cannot be drawn (no font) is reported in `pack.errors`; the confirmation and
    the rest of the pack stand."""
    with transaction.atomic():
        now = timezone.now()
        changed = StoreCampaign.objects.filter(
            pk=store_campaign.pk,
            status=StoreCampaign.Status.DRAFT,
            campaign__status=Campaign.Status.ACTIVE,
        ).update(status=StoreCampaign.Status.CONFIRMED, confirmed_at=now, confirmed_by=by)
        if changed != 1:
            store_campaign.refresh_from_db()
            return Confirmation(confirmed=False)
        store_campaign = StoreCampaign.objects.select_related(
            "campaign", "campaign__template", "campaign__segment", "store"
        ).get(pk=store_campaign.pk)
        targets = _targets_snapshot(store_campaign=store_campaign)
        promotions = _promotions_plan(store_campaign=store_campaign, by=by)
        Broadcast.objects.get_or_create(
            store_campaign=store_campaign,
            defaults={
                "store_id": store_campaign.store_id,
                "scheduled_at": broadcast_time(campaign=store_campaign.campaign),
            },
        )
        pack = store_campaign_pack_generate(store_campaign=store_campaign, sources=sources)
    return Confirmation(confirmed=True, targets=targets, promotions=promotions, pack=pack)


def store_campaign_decline(*, store_campaign: StoreCampaign, by: AbstractBaseUser | None) -> bool:
    """The owner declines a draft. Idempotent; False (nothing changed) unless it was a draft."""
    changed = StoreCampaign.objects.filter(
        pk=store_campaign.pk, status=StoreCampaign.Status.DRAFT
    ).update(status=StoreCampaign.Status.DECLINED)
    store_campaign.refresh_from_db(fields=["status"])
    return changed == 1


CANCEL_ALREADY = "already_cancelled"
CANCEL_ENDED = "ended"


def campaign_cancel_refusal(*, campaign: Campaign, today: dt.date) -> str | None:
    """Why cancelling this campaign on `today` changes nothing: `CANCEL_ALREADY` (it is
    cancelled), `CANCEL_ENDED` (its days have all passed: history, left as it ran), or None."""
    if campaign.status == Campaign.Status.CANCELLED:
        return CANCEL_ALREADY
    if campaign.ends_on < today:
        return CANCEL_ENDED
    return None


def campaign_cancel(
    *, campaign: Campaign, by: AbstractBaseUser | None, today: dt.date | None = None
) -> int:
    """HQ cancels a campaign from `today` on (the project's local date): the campaign, its
    drafts and confirmed store campaigns, and what their planned promotions had still to run.
    A promotion not yet started is cancelled; one running ends today; one that ended stays as it
    ran — those days were sold at its price, and the forecast learns from them. A campaign whose
    days have all passed is history, and a cancelled one stays as it is: nothing changes
    (returns 0; `campaign_cancel_refusal` says which). Declined rows stay declined.
    Scheduled broadcasts are left to the broadcast service (they show the campaign's status).
    Idempotent; returns how many store campaigns were cancelled by this call."""
    today = today or timezone.localdate()
    if campaign_cancel_refusal(campaign=campaign, today=today) is not None:
        return 0
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.ACTIVE).update(
            status=Campaign.Status.CANCELLED
        )
        cancelled = StoreCampaign.objects.filter(
            campaign=campaign,
            status__in=[StoreCampaign.Status.DRAFT, StoreCampaign.Status.CONFIRMED],
        ).update(status=StoreCampaign.Status.CANCELLED)
        planned = Promotion.objects.filter(
            store_campaign__campaign=campaign, status=Promotion.Status.PLANNED
        )
        planned.filter(starts_on__gt=today).update(status=Promotion.Status.CANCELLED)
        planned.filter(starts_on__lte=today, ends_on__gt=today).update(ends_on=today)
    campaign.refresh_from_db(fields=["status"])
    return cancelled
