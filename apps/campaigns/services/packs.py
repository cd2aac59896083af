"""A store campaign's pack: the timed live script, the chat copy (预热 and 接龙) and the poster
(a PNG kept in `StoreCampaign.poster`; the PDF is drawn from the same layout when downloaded).

The scenario template's texts are Django templates rendered from strings with autoescaping OFF
(the output is plain text for a chat, not HTML). Their context (docs/campaigns.md):

- `store`: the Store (`store.name`, `store.address`, `store.code`)
- `campaign`: the campaign as members see it: `campaign.name` is its member-facing title
  (`title`), `campaign.starts_on`, `campaign.ends_on`
- `title`: the member-facing title: the campaign's name for an HQ campaign, the product's name
  for one drafted from an insight card (whose stored name carries the staff-only "(insight)")
- `broadcast_at` (local datetime): when the store's broadcast is scheduled (its `Broadcast`,
  else the first campaign day at the broadcast hour); `when_text` its day and time as members
  read them ("12月7日 20:00": a date, never "tonight", since the copy is sent days before)
- `hour` (int, e.g. 20) and `hour_text` ("20:00"): the broadcast's hour
- `starts_on`, `ends_on` (dates), `discount_percent` (int)
- `cutoff` (local datetime) and `cutoff_text` ("12月9日 22:00"): when the group buys close
  (`selectors.campaigns.campaign_cutoff`, also the owner's offer form's default deadline)
- `pickup_date` (date or None) and `pickup_text` ("12月12日", "" when None): the first day
  members can pick up what they ordered by the cut-off: the delivery date consolidation gives
  orders placed by `cutoff` (its local day + the longest lead time among the products'
  preferred active supplier offers), read through `PackSources.supply_date`; None when no
  product has a supplier, and the copy then promises no day ("到货后通知自提")
- `products`: a list, in the campaign's order, of dicts with `number` (the item number, 1, 2,
  3…: `selectors.campaigns.campaign_item_numbers`, the numbers a pasted 接龙 line may name
  its product by, "2号×1"), `name`, `price` (list price),
  `campaign_price`, `discounted` (True when `campaign_price` is below the list price: only
  then may the copy claim a group-buy price or show the list price beside it), `stock` (on
  hand at the store), `suggested_stock`, `unit` (its label),
  `emoji` (the fruit's emoji when the name names one, e.g. 🍉 for 8424西瓜, else "") and
  `selling_points` (a list of lines: the product's knowledge-base selling points when a
  published article linked to it has some, else Product.selling_points; docs/knowledge-base.md)
- `discounted`: True when any product's `campaign_price` is below its list price
- `target_count`: how many members are on the store campaign's target list (who the
  campaign is for, not who booked or joined)

A template whose season (`ScenarioTemplate.season_months`) does not include the campaign's first
day is not used for the copy: the pack gets the neutral default texts instead (no "天热了" in
December). Campaign prices are shop prices: see `campaign_price`.

Pack generation runs inside the owner's confirmation (it takes a few tens of milliseconds) and
again from the admin's "regenerate" action; regenerating replaces the pack.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from django.conf import settings
from django.core.files.base import ContentFile
from django.template import Context, Engine, TemplateSyntaxError
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.campaigns.models import (
    Broadcast,
    Campaign,
    CampaignProduct,
    CampaignTarget,
    ScenarioTemplate,
    StoreCampaign,
)
from apps.campaigns.selectors import campaigns as selectors
from apps.campaigns.services.poster import PosterLayout, poster_pdf, poster_png
from apps.catalog.models.master import quantity_with_unit
from apps.training.selectors import product_selling_points
from linli.fonts import FontMissing

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
JIAO = Decimal("0.1")
# Minutes from the broadcast start: the opening, then one segment per product.
OPENING_MINUTES = 5
PRODUCT_MINUTES = 8
JIELONG_MINUTES = 10

# Plain-text rendering: no HTML escaping of "&" or "<" in chat copy.
_ENGINE = Engine(autoescape=False)


@dataclass
class PackResult:
    """What a generation made; `errors` says what could not be made (and why)."""

    live_script_steps: int = 0
    poster: bool = False
    errors: list[str] = field(default_factory=list)


class SupplyDate(Protocol):
    """The day the products of orders placed by `cutoff` reach the stores (the delivery date
    consolidation gives them: the latest among the products), or None when no product has a
    supplier to order it from."""

    def __call__(self, *, product_ids: list[int], cutoff: dt.datetime) -> dt.date | None: ...


def no_supply_date(*, product_ids: list[int], cutoff: dt.datetime) -> None:
    return None


@dataclass(frozen=True)
class PackSources:
    """What the pack reads from the parts above campaigns (procurement), handed in by the
    caller instead of imported: the interfaces pass `apps.campaigns.sources.pack_sources()`.
    `NO_PACK_SOURCES`, the default, knows no supplier, so the copy promises no pickup day."""

    supply_date: SupplyDate = no_supply_date


NO_PACK_SOURCES = PackSources()


def _default_templates() -> dict[str, str]:
    return {
        "live_script": _(
            "Hello everyone, welcome to {{ store.name }}'s live broadcast!\n"
            "Today: {{ campaign.name }}.{% if discounted %} Stay to the end for the group-buy "
            "price.{% endif %}"
        ),
        "warmup": _(
            "On {{ when_text }}, {{ store.name }} goes live: {{ campaign.name }}! "
            "{% for p in products %}{{ p.name }} {% if p.discounted %}only {% endif %}"
            "¥{{ p.campaign_price }}; "
            "{% endfor %}see you there."
        ),
        # Items are numbered "1号" (not "1."): a line starting "1." would read as an entry.
        # The example names the item by its number, which no other offer shares.
        "jielong": _(
            "#接龙 {{ campaign.name }} at {{ store.name }}\n"
            "{% for p in products %}{{ p.number }}号 {{ p.name }} ¥{{ p.campaign_price }}\n"
            "{% endfor %}"
            "Reply in the form: 1. name item number×quantity"
            "{% if products %} (e.g. 1. 李阿姨 {{ products.0.number }}号×2){% endif %}\n"
            "Orders close {{ cutoff_text }}; "
            "{% if pickup_date %}pick up at the store from {{ pickup_text }}"
            "{% else %}we will tell you when it arrives for pickup{% endif %}."
        ),
        "poster": "{{ campaign.name }}",
    }


def template_render(*, source: str, context: dict[str, Any]) -> str:
    """Render one template string (autoescape off). Raises TemplateSyntaxError on bad syntax."""
    return _ENGINE.from_string(source).render(Context(context, autoescape=False)).strip()


def template_check(*, source: str) -> str | None:
    """The syntax error in `source` as a message, or None when it compiles (admin forms)."""
    try:
        _ENGINE.from_string(source)
    except TemplateSyntaxError as error:
        return str(error)
    return None


# Name word → emoji, first match wins (so 蓝莓草莓双拼 is 🫐, 凤梨 is not 🍐; "" is none).
# Words that name the fruit itself: 桃 alone would also match 核桃 (walnuts), and a fruit with
# no emoji of its own (树莓, 荔枝) gets none rather than a wrong one.
PRODUCT_EMOJI: tuple[tuple[str, str], ...] = (
    ("蓝莓", "🫐"),
    ("草莓", "🍓"),
    ("西瓜", "🍉"),
    ("甜瓜", "🍈"),
    ("哈密瓜", "🍈"),
    ("葡萄", "🍇"),
    ("提子", "🍇"),
    ("水蜜桃", "🍑"),
    ("蟠桃", "🍑"),
    ("黄桃", "🍑"),
    ("油桃", "🍑"),
    ("猕猴桃", "🥝"),
    ("奇异果", "🥝"),
    ("樱桃", "🍒"),
    ("车厘子", "🍒"),
    ("芒", "🥭"),
    ("菠萝蜜", ""),  # jackfruit: no emoji of its own, and not a pineapple
    ("菠萝", "🍍"),
    ("凤梨", "🍍"),
    ("香蕉", "🍌"),
    ("苹果", "🍎"),
    ("梨", "🍐"),
    ("橙", "🍊"),
    ("橘", "🍊"),
    ("柑", "🍊"),
    ("柠檬", "🍋"),
    ("椰", "🥥"),
)


def product_emoji(name: str) -> str:
    """The emoji of the fruit a product name names (see PRODUCT_EMOJI), or ""."""
    return next((emoji for word, emoji in PRODUCT_EMOJI if word in name), "")


def campaign_price(*, list_price: Decimal, price: Decimal | None, discount_percent: int) -> Decimal:
    """The offer's price: the campaign price when set (as HQ wrote it), else the list price
    less the discount, rounded down to a whole jiao (¥0.1) as a shop prints it: ¥35.90 less
    15 % is ¥30.515, offered at ¥30.50. Rounding down never promises less than the stated
    discount. A price under ¥0.1 keeps its cents (it never becomes ¥0). docs/campaigns.md."""
    if price is not None:
        return price.quantize(CENT)
    factor = (Decimal(100) - Decimal(discount_percent)) / Decimal(100)
    exact = list_price * factor
    shop = exact.quantize(JIAO, rounding=ROUND_FLOOR).quantize(CENT)
    return shop if shop > 0 else exact.quantize(CENT, rounding=ROUND_HALF_UP)


def campaign_member_title(*, campaign: Campaign, items: list[CampaignProduct] | None = None) -> str:
    """The campaign's title as members read it: its name for an HQ campaign, the product's name
    for one drafted from an insight card (its stored name says "(insight)", which is for staff).
    `items` are the campaign's products when the caller has them (else they are read)."""
    if campaign.origin != Campaign.Origin.INSIGHT:
        return campaign.name
    if items is None:
        items = selectors.campaign_products(campaign=campaign)
    if items:
        return pgettext("list separator", ", ").join(item.product.name for item in items)
    return campaign.name


def copy_template(*, campaign: Campaign) -> ScenarioTemplate | None:
    """The template whose texts write the campaign's copy: its template when the template's
    season fits the campaign's first day, else None (the neutral default texts)."""
    template = campaign.template
    if template is None or not template.fits_day(campaign.starts_on):
        return None
    return template


@dataclass(frozen=True)
class MemberCampaign:
    """What the copy templates see as `campaign`: nothing internal to staff."""

    name: str
    starts_on: dt.date
    ends_on: dt.date


def campaign_prices(*, broadcast: Broadcast) -> dict[int, Decimal]:
    """{product id: the campaign's price for it} for the broadcast's campaign (its set price,
    else the list price less the campaign's discount, as in the pack's copy): what the owner's
    offer form proposes."""
    campaign = broadcast.store_campaign.campaign
    return {
        item.product_id: campaign_price(
            list_price=item.product.price,
            price=item.price,
            discount_percent=campaign.discount_percent,
        )
        for item in selectors.campaign_products(campaign=campaign)
    }


def campaign_suggested_stock(*, broadcast: Broadcast) -> dict[int, int]:
    """{product id: suggested stock per store} for the broadcast's campaign, where set: what
    the owner's offer form proposes as the cap."""
    campaign = broadcast.store_campaign.campaign
    return {
        item.product_id: item.suggested_stock
        for item in selectors.campaign_products(campaign=campaign)
        if item.suggested_stock
    }


def pack_context(
    *, store_campaign: StoreCampaign, sources: PackSources = NO_PACK_SOURCES
) -> dict[str, Any]:
    """The documented template context for this store campaign (see the module docstring);
    `sources` gives the pickup day (without them none is promised)."""
    campaign = store_campaign.campaign
    items = selectors.campaign_products(campaign=campaign)
    numbers = selectors.item_numbers(item.product_id for item in items)
    stock = selectors.store_stock(
        store=store_campaign.store, product_ids=[item.product_id for item in items]
    )
    knowledge_points = product_selling_points(product_ids=[item.product_id for item in items])
    products = [
        {
            "number": numbers[item.product_id],
            "name": item.product.name,
            "price": item.product.price,
            "campaign_price": campaign_price(
                list_price=item.product.price,
                price=item.price,
                discount_percent=campaign.discount_percent,
            ),
            "stock": stock[item.product_id],
            "suggested_stock": item.suggested_stock,
            "unit": item.product.get_unit_display(),
            "unit_code": item.product.unit,
            "emoji": product_emoji(item.product.name),
            "selling_points": knowledge_points.get(item.product_id)
            or [line.strip() for line in item.product.selling_points.splitlines() if line.strip()],
        }
        for item in items
    ]
    for product in products:
        product["discounted"] = product["campaign_price"] < product["price"]
    broadcast_at = timezone.localtime(
        Broadcast.objects.filter(store_campaign=store_campaign)
        .values_list("scheduled_at", flat=True)
        .first()
        or dt.datetime.combine(
            campaign.starts_on,
            dt.time(campaign.broadcast_hour),
            tzinfo=timezone.get_current_timezone(),
        )
    )
    cutoff = selectors.campaign_cutoff(campaign=campaign, start=broadcast_at)
    pickup_date = sources.supply_date(
        product_ids=[item.product_id for item in items], cutoff=cutoff
    )
    title = campaign_member_title(campaign=campaign, items=items)
    return {
        "store": store_campaign.store,
        "campaign": MemberCampaign(
            name=title, starts_on=campaign.starts_on, ends_on=campaign.ends_on
        ),
        "title": title,
        "broadcast_at": broadcast_at,
        "when_text": _moment_text(broadcast_at),
        "hour": broadcast_at.hour,
        "hour_text": f"{broadcast_at:%H:%M}",
        "starts_on": campaign.starts_on,
        "ends_on": campaign.ends_on,
        "cutoff": cutoff,
        "cutoff_text": _moment_text(cutoff),
        "pickup_date": pickup_date,
        "pickup_text": _day_text(pickup_date) if pickup_date else "",
        "discount_percent": campaign.discount_percent,
        "products": products,
        "discounted": any(product["discounted"] for product in products),
        "target_count": CampaignTarget.objects.filter(store_campaign=store_campaign).count(),
    }


def _day_text(day: dt.date) -> str:
    """A day for chat copy, in the site's language: "12月7日"."""
    return date_format(day, pgettext("day and month in chat copy", "F j"))


def _moment_text(moment: dt.datetime) -> str:
    """A day and time for chat copy, in the site's language: "12月7日 20:00"."""
    return f"{_day_text(moment)} {moment:%H:%M}"


def _render_part(
    *, part: str, source: str, context: dict[str, Any], errors: list[str], label: str
) -> str:
    """Render the template's text for `part`, or the default when it is empty or broken."""
    if source.strip():
        try:
            return template_render(source=source, context=context)
        # A text HQ wrote must not break the owner's click: any compile or render error
        # (a syntax error, a filter given the wrong type) falls back to the default text.
        except Exception as error:
            errors.append(
                _("The %(part)s template has an error (%(error)s); the default was used.")
                % {"part": label, "error": error}
            )
    return template_render(source=_default_templates()[part], context=context)


def _at(start: dt.datetime, minutes: int) -> str:
    return (start + dt.timedelta(minutes=minutes)).strftime("%H:%M")


def live_script_build(
    *, opening: str, jielong: str, context: dict[str, Any]
) -> list[dict[str, Any]]:
    """The timed script: the opening at the broadcast hour, one segment per product (selling
    points, price, stock), the 接龙 call, and the close. Steps are {at, title, lines}."""
    start = context["broadcast_at"]
    steps = [
        {
            "at": _at(start, 0),
            "title": _("Opening"),
            "lines": [line for line in opening.splitlines() if line.strip()],
        }
    ]
    minutes = OPENING_MINUTES
    for product in context["products"]:
        lines = list(product["selling_points"])
        if product["discounted"]:
            lines.append(
                _("List price ¥%(price)s, live price ¥%(campaign_price)s.")
                % {"price": product["price"], "campaign_price": product["campaign_price"]}
            )
        else:  # no discount: say the price, claim no saving
            lines.append(_("Price ¥%(price)s.") % {"price": product["campaign_price"]})
        lines.append(
            _("In stock: %(stock)s.")
            % {"stock": quantity_with_unit(product["stock"], product["unit_code"])}
        )
        steps.append({"at": _at(start, minutes), "title": product["name"], "lines": lines})
        minutes += PRODUCT_MINUTES
    steps.append(
        {
            "at": _at(start, minutes),
            "title": _("Group-buy call"),
            "lines": [line for line in jielong.splitlines() if line.strip()],
        }
    )
    minutes += JIELONG_MINUTES
    steps.append(
        {
            "at": _at(start, minutes),
            "title": pgettext("end of a broadcast", "Close"),
            "lines": [
                _("Thank you for watching! Pick up your order at %(store)s.")
                % {"store": context["store"].name}
            ],
        }
    )
    return steps


def poster_layout(*, store_campaign: StoreCampaign, context: dict[str, Any]) -> PosterLayout:
    template = copy_template(campaign=store_campaign.campaign)
    errors: list[str] = []
    headline = _render_part(
        part="poster",
        source=template.poster_headline_template if template else "",
        context=context,
        errors=errors,
        label=_("poster headline"),
    )
    return PosterLayout(
        headline=headline,
        store_name=context["store"].name,
        when=_("%(start)s – %(end)s, live at %(hour)s")
        % {
            "start": date_format(context["starts_on"], "MONTH_DAY_FORMAT"),
            "end": date_format(context["ends_on"], "MONTH_DAY_FORMAT"),
            "hour": context["hour_text"],
        },
        products=[
            (
                product["name"],
                f"¥{product['campaign_price']}",
                f"¥{product['price']}" if product["discounted"] else "",
            )
            for product in context["products"]
        ],
        footer=_("Join the group buy in the chat, pick up at the store"),
    )


def store_campaign_poster_pdf(*, store_campaign: StoreCampaign) -> bytes:
    """The PDF poster, drawn now from the current pack data (in the site's language)."""
    with translation.override(settings.LANGUAGE_CODE):
        context = pack_context(store_campaign=store_campaign)
        return poster_pdf(layout=poster_layout(store_campaign=store_campaign, context=context))


def store_campaign_pack_generate(
    *, store_campaign: StoreCampaign, sources: PackSources = NO_PACK_SOURCES
) -> PackResult:
    """Render and store the pack: live script, 预热 and 接龙 copy, and the PNG poster.
    The interfaces pass `sources` (`apps.campaigns.sources.pack_sources()`): the copy's
    pickup day comes from them.

    Written in the site's language (the copy goes to members, whatever the clicking user's
    language). A template with a syntax error falls back to the default text for that part; a
    missing CJK font leaves the poster empty; both are reported in `errors` while the rest of
    the pack is made. Regenerating replaces the pack (and the poster file).
    """
    result = PackResult()
    template = copy_template(campaign=store_campaign.campaign)
    with translation.override(settings.LANGUAGE_CODE):
        context = pack_context(store_campaign=store_campaign, sources=sources)
        opening = _render_part(
            part="live_script",
            source=template.live_script_template if template else "",
            context=context,
            errors=result.errors,
            label=_("live script"),
        )
        warmup = _render_part(
            part="warmup",
            source=template.warmup_copy_template if template else "",
            context=context,
            errors=result.errors,
            label=_("warm-up copy"),
        )
        jielong = _render_part(
            part="jielong",
            source=template.jielong_copy_template if template else "",
            context=context,
            errors=result.errors,
            label=_("group-buy copy"),
        )
        script = live_script_build(opening=opening, jielong=jielong, context=context)
        png: bytes | None = None
        try:
            png = poster_png(layout=poster_layout(store_campaign=store_campaign, context=context))
        except FontMissing as error:
            logger.warning("campaign pack %s: poster not drawn: %s", store_campaign.pk, error)
            result.errors.append(_("The poster could not be drawn: %(error)s") % {"error": error})
    store_campaign.live_script = script
    store_campaign.warmup_copy = warmup
    store_campaign.jielong_copy = jielong
    old_poster = store_campaign.poster.name if store_campaign.poster else ""
    if png is not None:
        store_campaign.poster.save(f"{store_campaign.pk}.png", ContentFile(png), save=False)
        result.poster = True
    else:
        store_campaign.poster = ""
    if old_poster and old_poster != store_campaign.poster.name:
        store_campaign.poster.storage.delete(old_poster)
    store_campaign.pack_generated_at = timezone.now()
    store_campaign.save(
        update_fields=[
            "live_script",
            "warmup_copy",
            "jielong_copy",
            "poster",
            "pack_generated_at",
        ]
    )
    result.live_script_steps = len(script)
    return result
