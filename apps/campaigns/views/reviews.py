"""Review report (复盘报告) pages and downloads of the store portal.

- The store's review (`campaigns:review`, and its XLSX/PDF downloads): anyone who may
  VIEW_CAMPAIGNS at the store campaign's store; every figure is that store's only, the
  comparison with past campaigns too. An unknown id answers 403 like another store's.
- The whole campaign's review (`campaigns:campaign-review`, and downloads): HQ staff holding
  `campaigns.view_campaign` (what the Campaign admin asks), all the campaign's stores.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from apps.campaigns.models import Campaign, StoreCampaign
from apps.campaigns.selectors.review_files import (
    campaign_review_pdf,
    campaign_review_xlsx,
    review_filename,
    review_summary_rows,
)
from apps.campaigns.selectors.reviews import CampaignReview, campaign_review
from apps.campaigns.sources import review_sources
from apps.stores.access import VIEW_CAMPAIGNS, store_or_403, user_is_hq
from apps.stores.models import Store

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
HQ_REVIEW_PERMISSION = "campaigns.view_campaign"


def _store_campaign_or_403(
    request: HttpRequest, store_campaign_id: int
) -> tuple[StoreCampaign, Store]:
    store_campaign = (
        StoreCampaign.objects.select_related("campaign", "campaign__template")
        .filter(pk=store_campaign_id)
        .first()
    )
    if store_campaign is None:
        raise PermissionDenied
    store = store_or_403(request.user, store_campaign.store_id, VIEW_CAMPAIGNS)
    return store_campaign, store


def _campaign_for_hq_or_403(request: HttpRequest, campaign_id: int) -> Campaign:
    # The Campaign admin's view permission, asked the same way the admin asks it.
    if not (user_is_hq(request.user) and request.user.has_perm(HQ_REVIEW_PERMISSION)):
        raise PermissionDenied
    campaign = Campaign.objects.select_related("template").filter(pk=campaign_id).first()
    if campaign is None:
        raise PermissionDenied
    return campaign


def _funnel_bars(review: CampaignReview) -> list[dict[str, object]]:
    """The funnel's steps with their bar width (percent of the largest step) for the SVG."""
    funnel = review.totals.funnel
    steps = [
        (_("Exposures"), funnel.exposures, funnel.exposure_members),
        (_("Clicks"), funnel.clicks, funnel.click_members),
        (_("Order events (tracked)"), funnel.orders, funnel.order_members),
        (
            _("Group-buy chat list orders (not tracked)"),
            funnel.chat_orders,
            funnel.chat_order_members,
        ),
    ]
    top = max(count for _label, count, _members in steps) or 1
    return [
        {
            "label": label,
            "count": count,
            "members": members,
            "width": round(100 * count / top, 1),
            "y": index * 34,
        }
        for index, (label, count, members) in enumerate(steps)
    ]


def _context(review: CampaignReview) -> dict[str, object]:
    return {
        "review": review,
        "campaign": review.campaign,
        "summary_rows": review_summary_rows(review),
        "funnel_bars": _funnel_bars(review),
    }


def _download(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    return HttpResponse(
        content,
        content_type=content_type,
        headers={
            "Content-Disposition": content_disposition_header(True, filename),
            "Cache-Control": "private, no-store",
        },
    )


@login_required
@require_GET
def store_review(request: HttpRequest, store_campaign_id: int) -> HttpResponse:
    store_campaign, store = _store_campaign_or_403(request, store_campaign_id)
    review = campaign_review(
        campaign=store_campaign.campaign, stores=[store], sources=review_sources()
    )
    context = _context(review) | {"store": store, "store_campaign": store_campaign}
    return render(request, "campaigns/review_store.html", context)


@login_required
@require_GET
def store_review_xlsx(request: HttpRequest, store_campaign_id: int) -> HttpResponse:
    store_campaign, store = _store_campaign_or_403(request, store_campaign_id)
    return _download(
        campaign_review_xlsx(
            campaign=store_campaign.campaign, stores=[store], sources=review_sources()
        ),
        content_type=XLSX,
        filename=review_filename(store_campaign.campaign, "xlsx", store=store),
    )


@login_required
@require_GET
def store_review_pdf(request: HttpRequest, store_campaign_id: int) -> HttpResponse:
    store_campaign, store = _store_campaign_or_403(request, store_campaign_id)
    return _download(
        campaign_review_pdf(
            campaign=store_campaign.campaign, stores=[store], sources=review_sources()
        ),
        content_type=PDF,
        filename=review_filename(store_campaign.campaign, "pdf", store=store),
    )


@login_required
@require_GET
def campaign_review_page(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_for_hq_or_403(request, campaign_id)
    review = campaign_review(campaign=campaign, sources=review_sources())
    return render(request, "campaigns/review_campaign.html", _context(review))


@login_required
@require_GET
def campaign_review_xlsx_download(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_for_hq_or_403(request, campaign_id)
    return _download(
        campaign_review_xlsx(campaign=campaign, sources=review_sources()),
        content_type=XLSX,
        filename=review_filename(campaign, "xlsx"),
    )


@login_required
@require_GET
def campaign_review_pdf_download(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _campaign_for_hq_or_403(request, campaign_id)
    return _download(
        campaign_review_pdf(campaign=campaign, sources=review_sources()),
        content_type=PDF,
        filename=review_filename(campaign, "pdf"),
    )
