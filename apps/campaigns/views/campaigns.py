"""Portal pages for a store's campaigns: the list (drafts first, one-click confirm), a store
campaign with its pack (copy buttons, poster downloads, target list, delivery counts, preview),
and accepting an insight card (which drafts a campaign).

Access (apps.stores.access): VIEW_CAMPAIGNS to see pages and posters, RUN_CAMPAIGNS to confirm,
decline, make a missing pack and send the preview, MEMBER_DATA for the target list and its
CSV, ACCEPT_INSIGHT to accept a card. Another store's campaign answers 404 once the store
itself is allowed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from apps.campaigns.models import Notification, StoreCampaign
from apps.campaigns.notifications.selectors import campaign_delivery_counts
from apps.campaigns.notifications.services import campaign_notifications_enqueue
from apps.campaigns.selectors import campaigns as selectors
from apps.campaigns.selectors.promotions import UPCOMING_DAYS, store_promotions_upcoming
from apps.campaigns.services.campaigns import (
    InsightOverlapError,
    InsightStoreClosedError,
    campaign_draft_from_insight,
    store_campaign_confirm,
    store_campaign_decline,
)
from apps.campaigns.services.packs import (
    campaign_member_title,
    store_campaign_pack_generate,
    store_campaign_poster_pdf,
)
from apps.campaigns.sources import pack_sources
from apps.catalog.models import InsightCard
from apps.catalog.models.master import quantity_with_unit
from apps.stores.access import (
    ACCEPT_INSIGHT,
    MEMBER_DATA,
    RUN_CAMPAIGNS,
    VIEW_CAMPAIGNS,
    StoreAction,
    actions_at,
    store_or_403,
)
from linli.files import stored_file_response
from linli.fonts import FontMissing
from linli.phones import phone_for_viewer

PREVIEW_KIND = "preview"
TARGETS_SHOWN = 200


def _store_campaign_or_404(
    request: HttpRequest, store_id: int, store_campaign_id: int, action: StoreAction
) -> StoreCampaign:
    store = store_or_403(request.user, store_id, action)
    store_campaign = selectors.store_campaign_of_store(
        store=store, store_campaign_id=store_campaign_id
    )
    if store_campaign is None:
        raise Http404
    return store_campaign


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _live_script_text(steps: list[dict]) -> str:
    """The script as plain text for the copy button: a line per step, its lines indented."""
    lines = []
    for step in steps:
        lines.append(f"{step.get('at', '')} {step.get('title', '')}".strip())
        lines.extend(f"  {line}" for line in step.get("lines", []))
    return "\n".join(lines)


@login_required
@require_GET
def store_campaigns(request: HttpRequest, store_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, VIEW_CAMPAIGNS)
    allowed = actions_at(request.user, store.pk)
    promotions, promotion_count = store_promotions_upcoming(
        store=store, first_day=timezone.localdate()
    )
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            "store": store,
            "store_campaigns": selectors.store_campaigns_for_store(store=store),
            "can_run": RUN_CAMPAIGNS.name in allowed,
            "promotions": promotions,
            "promotions_more": promotion_count - len(promotions),
            "promotion_days": UPCOMING_DAYS,
        },
    )


@login_required
@require_GET
def campaign_detail(request: HttpRequest, store_id: int, store_campaign_id: int) -> HttpResponse:
    store_campaign = _store_campaign_or_404(request, store_id, store_campaign_id, VIEW_CAMPAIGNS)
    allowed = actions_at(request.user, store_campaign.store_id)
    targets = None
    target_count = 0
    if MEMBER_DATA.name in allowed:
        rows = selectors.store_campaign_targets(store_campaign=store_campaign)
        target_count = rows.count()
        targets = [
            {
                "member_no": target.member.member_no,
                "name": target.member.name,
                "phone": phone_for_viewer(target.member.phone, user=request.user),
                "reason": target.reason,
            }
            for target in rows[:TARGETS_SHOWN]
        ]
    labels = dict(Notification.Status.choices)
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "store": store_campaign.store,
            "store_campaign": store_campaign,
            "campaign": store_campaign.campaign,
            "products": selectors.campaign_products(campaign=store_campaign.campaign),
            "can_run": RUN_CAMPAIGNS.name in allowed,
            "targets": targets,
            "target_count": target_count,
            "targets_shown": TARGETS_SHOWN,
            "delivery": {
                labels.get(status, status): count
                for status, count in campaign_delivery_counts(store_campaign=store_campaign).items()
            },
            "live_script_text": _live_script_text(store_campaign.live_script),
            "is_confirmed": store_campaign.status == StoreCampaign.Status.CONFIRMED,
        },
    )


@login_required
@require_POST
def campaign_confirm(request: HttpRequest, store_id: int, store_campaign_id: int) -> HttpResponse:
    store_campaign = _store_campaign_or_404(request, store_id, store_campaign_id, RUN_CAMPAIGNS)
    result = store_campaign_confirm(
        store_campaign=store_campaign, by=request.user, sources=pack_sources()
    )
    if result.confirmed:
        messages.success(
            request,
            ngettext(
                "Confirmed. Your pack is ready; %(count)d member is on the target list.",
                "Confirmed. Your pack is ready; %(count)d members are on the target list.",
                result.targets,
            )
            % {"count": result.targets},
        )
        for error in result.pack.errors if result.pack else []:
            messages.warning(request, error)
    else:
        messages.info(request, _("This campaign is not waiting for confirmation (any more)."))
    return redirect(
        "campaigns:detail", store_id=store_campaign.store_id, store_campaign_id=store_campaign.pk
    )


@login_required
@require_POST
def campaign_decline(request: HttpRequest, store_id: int, store_campaign_id: int) -> HttpResponse:
    store_campaign = _store_campaign_or_404(request, store_id, store_campaign_id, RUN_CAMPAIGNS)
    if store_campaign_decline(store_campaign=store_campaign, by=request.user):
        messages.success(request, _("Declined: your store does not take part."))
    else:
        messages.info(request, _("This campaign is not waiting for confirmation (any more)."))
    return redirect("campaigns:store", store_id=store_campaign.store_id)


@login_required
@require_POST
def campaign_pack_make(request: HttpRequest, store_id: int, store_campaign_id: int) -> HttpResponse:
    """Make the pack of a confirmed campaign that has none (one confirmed before packs were
    made, or imported history); an existing pack is left as it is."""
    store_campaign = _store_campaign_or_404(request, store_id, store_campaign_id, RUN_CAMPAIGNS)
    if store_campaign.status != StoreCampaign.Status.CONFIRMED:
        messages.info(request, _("Confirm the campaign first: the pack comes with confirming."))
    elif store_campaign.pack_generated_at is not None:
        messages.info(request, _("This campaign's pack is already made."))
    else:
        result = store_campaign_pack_generate(store_campaign=store_campaign, sources=pack_sources())
        messages.success(request, _("Your pack is ready."))
        for error in result.errors:
            messages.warning(request, error)
    return redirect(
        "campaigns:detail", store_id=store_campaign.store_id, store_campaign_id=store_campaign.pk
    )


@login_required
@require_POST
def campaign_preview(request: HttpRequest, store_id: int, store_campaign_id: int) -> HttpResponse:
    store_campaign = _store_campaign_or_404(request, store_id, store_campaign_id, RUN_CAMPAIGNS)
    if store_campaign.status != StoreCampaign.Status.CONFIRMED:
        messages.info(
            request, _("Confirm the campaign first: the preview goes to its target list.")
        )
    else:
        created = campaign_notifications_enqueue(
            store_campaign=store_campaign,
            kind=PREVIEW_KIND,
            title=campaign_member_title(campaign=store_campaign.campaign),
            body=store_campaign.warmup_copy,
        )
        messages.success(
            request,
            ngettext(
                "Preview queued for %(count)d member.",
                "Preview queued for %(count)d members.",
                created,
            )
            % {"count": created},
        )
    return redirect(
        "campaigns:detail", store_id=store_campaign.store_id, store_campaign_id=store_campaign.pk
    )


@login_required
@require_GET
def poster_png(request: HttpRequest, store_id: int, store_campaign_id: int) -> HttpResponse:
    store_campaign = _store_campaign_or_404(request, store_id, store_campaign_id, VIEW_CAMPAIGNS)
    # Regenerating the pack replaces the poster under the same name: revalidate, don't keep.
    return stored_file_response(
        store_campaign.poster,
        content_type="image/png",
        filename=f"campaign-{store_campaign.pk}-poster.png",
        cache_control="private, no-cache",
        as_attachment=True,
    )


@login_required
@require_GET
def poster_pdf(request: HttpRequest, store_id: int, store_campaign_id: int) -> HttpResponse:
    store_campaign = _store_campaign_or_404(request, store_id, store_campaign_id, VIEW_CAMPAIGNS)
    if store_campaign.pack_generated_at is None:
        raise Http404
    try:
        content = store_campaign_poster_pdf(store_campaign=store_campaign)
    except FontMissing as error:
        return HttpResponse(str(error), status=503, content_type="text/plain; charset=utf-8")
    return _download(content, "application/pdf", f"campaign-{store_campaign.pk}-poster.pdf")


@login_required
@require_GET
def targets_csv(request: HttpRequest, store_id: int, store_campaign_id: int) -> HttpResponse:
    store_campaign = _store_campaign_or_404(request, store_id, store_campaign_id, MEMBER_DATA)
    content = selectors.store_campaign_targets_csv(
        store_campaign=store_campaign, viewer=request.user
    )
    return _download(
        content, "text/csv; charset=utf-8", f"campaign-{store_campaign.pk}-targets.csv"
    )


@login_required
@require_POST
def insight_accept(request: HttpRequest, store_id: int, card_id: int) -> HttpResponse:
    """Accept an insight card (ACCEPT_INSIGHT) and open the campaign draft it makes. Accepting
    twice changes nothing and opens the same draft. Refused (nothing written) when the store
    already takes part in a campaign of the same template on overlapping days: the message
    names it and the owner lands on it; likewise while the store is not open for trade (the
    message says so, back on the decisions page)."""
    store = store_or_403(request.user, store_id, ACCEPT_INSIGHT)
    card = get_object_or_404(InsightCard.objects.select_related("product"), pk=card_id, store=store)
    try:
        draft = campaign_draft_from_insight(card=card, by=request.user)
    except InsightOverlapError as refusal:
        # Nothing written: the owner lands on the campaign that already covers these days.
        for message in refusal.messages:
            messages.error(request, message)
        if refusal.store_campaigns and VIEW_CAMPAIGNS.name in actions_at(request.user, store.pk):
            return redirect(
                "campaigns:detail",
                store_id=store.pk,
                store_campaign_id=refusal.store_campaigns[0].pk,
            )
        return redirect("decisions:store", store_id=store.pk)
    except InsightStoreClosedError as refusal:
        messages.error(request, refusal.messages[0])
        return redirect("decisions:store", store_id=store.pk)
    store_campaign = draft.store_campaign
    if draft.accepted:
        messages.success(
            request,
            _(
                "Accepted: stock %(quantity)s of %(product)s and broadcast at "
                "%(hour)02d:00. "
                "Confirm the campaign below."
            )
            % {
                "quantity": quantity_with_unit(card.stock_qty, card.product.unit),
                "product": card.product.name,
                "hour": card.broadcast_hour,
            },
        )
    else:
        messages.info(request, _("This suggestion was already accepted."))
    if VIEW_CAMPAIGNS.name not in actions_at(request.user, store.pk):
        return redirect("decisions:store", store_id=store.pk)
    return redirect("campaigns:detail", store_id=store.pk, store_campaign_id=store_campaign.pk)
