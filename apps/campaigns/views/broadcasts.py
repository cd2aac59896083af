"""The owner's broadcast control page: start / end, group-buy offers with their progress, the
joins, and pasting a 接龙 from the chat. Every view scopes through apps.stores.access:
VIEW_CAMPAIGNS to read, RUN_CAMPAIGNS to act, MEMBER_DATA to see who joined (others see chat
names masked, "李**", and no member numbers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from apps.campaigns.models import Broadcast, GroupBuyOffer
from apps.campaigns.selectors import broadcasts as selectors
from apps.campaigns.selectors.campaigns import campaign_cutoff
from apps.campaigns.services.broadcasts import (
    EARLIEST_START_BEFORE,
    BroadcastRefused,
    broadcast_earliest_start,
    broadcast_end,
    broadcast_start,
)
from apps.campaigns.services.group_buys import (
    OFFER_UNITS_MAX,
    JielongReport,
    OfferWithdrawRefused,
    jielong_examples,
    jielong_import,
    offer_create,
    offer_problems,
    offer_withdraw,
)
from apps.campaigns.services.packs import campaign_prices, campaign_suggested_stock
from apps.campaigns.sources import orders_units_short
from apps.catalog.models import Product
from apps.customers.selectors.members import name_masked
from apps.stores.access import (
    MEMBER_DATA,
    RUN_CAMPAIGNS,
    VIEW_CAMPAIGNS,
    StoreAction,
    actions_at,
    store_or_403,
)
from linli.widgets import NativeDateTimeInput

JIELONG_MAX_CHARACTERS = 20_000


def _broadcast_or_404(request: HttpRequest, broadcast_id: int, action: StoreAction) -> Broadcast:
    """The broadcast if the user may take `action` at its store; 404 otherwise, also for an
    unknown id (another store's broadcast answers exactly like a missing one)."""
    broadcast = selectors.broadcast_for_user(
        user=request.user, broadcast_id=broadcast_id, action=action
    )
    if broadcast is None:
        raise Http404
    return broadcast


class OfferForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none(), label=gettext_lazy("Product"))
    price = forms.DecimalField(
        label=gettext_lazy("Group-buy price (yuan)"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.00"),
    )
    threshold_kind = forms.ChoiceField(
        label=gettext_lazy("Threshold counts"), choices=GroupBuyOffer.ThresholdKind.choices
    )
    threshold = forms.IntegerField(
        label=gettext_lazy("Group-buy threshold"), min_value=1, max_value=OFFER_UNITS_MAX
    )
    cap = forms.IntegerField(
        label=gettext_lazy("Cap (units)"), min_value=1, max_value=OFFER_UNITS_MAX
    )
    presale = forms.BooleanField(
        label=pgettext_lazy("offer form", "Pre-order"),
        required=False,
        help_text=gettext_lazy(
            "Sell before the goods are in: joins need no stock here; once the group forms the "
            "supplier's purchase order brings what was sold. Leave unticked to sell from the "
            "store's stock."
        ),
    )
    deadline = forms.DateTimeField(
        label=gettext_lazy("Deadline"),
        widget=NativeDateTimeInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    # A price above the product's list price is allowed (a premium pre-order can be right) but
    # never by accident: the box is hidden until such a price is posted, then shown, with the
    # error, for the owner to tick (`clean`). The service `offer_create` does not ask for it.
    price_above_list_confirmed = forms.BooleanField(
        label=gettext_lazy("Price above the list price"),
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args: Any, broadcast: Broadcast, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.broadcast = broadcast
        field = self.fields["product"]
        field.queryset = selectors.offer_products(broadcast=broadcast)
        # People pick by name (the SKU is the catalogue's code, not what the owner sells).
        field.label_from_instance = _product_label
        # The list leaves out the products already on offer here (a second open offer of one
        # product is refused); the queryset keeps them, so that a stale page posting one gets
        # that refusal, not "select a valid choice".
        on_offer = selectors.open_offer_product_ids(broadcast=broadcast)
        field.widget.choices = [
            choice for choice in field.choices if not choice[0] or choice[0].value not in on_offer
        ]

    def clean(self) -> dict[str, Any]:
        """Every rule of `offer_create` on the values that passed their own field checks, so
        that one submission reports every problem at once (a negative price, a cap below the
        threshold and a past deadline together)."""
        data = super().clean()
        problems = offer_problems(
            broadcast=self.broadcast,
            product=data.get("product"),
            price=data.get("price"),
            threshold=data.get("threshold"),
            cap=data.get("cap"),
            deadline=data.get("deadline"),
            threshold_kind=data.get("threshold_kind"),
            presale=data.get("presale", False),
            skip=frozenset(self.errors),
        )
        for field_name, messages_ in problems.items():
            for message in messages_:
                self.add_error(None if field_name == "__all__" else field_name, message)
        self._check_price_above_list(data)
        return data

    def _check_price_above_list(self, data: dict[str, Any]) -> None:
        """A price above the product's list price needs the box ticked; the box is shown (and
        stays shown, ticked or not, while the form comes back for another reason)."""
        product, price = data.get("product"), data.get("price")
        if product is None or price is None or price <= product.price:
            return
        self.fields["price_above_list_confirmed"].widget = forms.CheckboxInput()
        if not data.get("price_above_list_confirmed"):
            self.add_error(
                "price",
                _(
                    "¥%(price)s is above the list price of %(product)s (¥%(list_price)s). To "
                    "open it anyway (a premium pre-order, for instance), tick “Price above the "
                    "list price”."
                )
                % {"price": price, "product": product.name, "list_price": product.price},
            )


def _product_label(product: Product) -> str:
    """Name, price and what the store has of it (`offer_products` annotates `on_hand`): the
    owner sees which products need a pre-order."""
    label = f"{product.name} · ¥{product.price}"
    on_hand = getattr(product, "on_hand", None)
    if on_hand is None:
        return label
    return f"{label} · " + _("%(count)d in stock") % {"count": on_hand}


class JielongForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Paste the group-buy chat list"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=JIELONG_MAX_CHARACTERS,
    )
    dry_run = forms.BooleanField(label=gettext_lazy("Check only, enter nothing"), required=False)


# An offer's deadline is when joins stop and the group forms or fails (docs/group-buys.md).
# A proposed deadline already past (a broadcast started long ago) moves this far from now.
DEFAULT_OFFER_HOURS = 4


def default_deadline(*, broadcast: Broadcast, now: dt.datetime | None = None) -> dt.datetime:
    """The deadline the offer form proposes: the campaign's cut-off for this broadcast's start
    (`campaign_cutoff`: its last day at 22:00, what the pack's 接龙 copy promises as 截单);
    when that has passed, DEFAULT_OFFER_HOURS from now. Whole minutes (the form's field has
    no seconds)."""
    now = now or timezone.now()
    start = broadcast.started_at or broadcast.scheduled_at
    deadline = campaign_cutoff(campaign=broadcast.store_campaign.campaign, start=start)
    if deadline <= now:
        deadline = now + dt.timedelta(hours=DEFAULT_OFFER_HOURS)
    return timezone.localtime(deadline).replace(second=0, microsecond=0)


def _offer_initial(broadcast: Broadcast) -> dict[str, Any]:
    """The offer form's proposal: the first product it lists that has no open offer here yet,
    at its campaign price (when the campaign sells it), capped at the campaign's suggested
    stock for it (the "备货 40 份" of the pack, when set), a pre-order when the store has
    none of it in stock, and the default deadline."""
    initial: dict[str, Any] = {
        "deadline": default_deadline(broadcast=broadcast).strftime("%Y-%m-%dT%H:%M")
    }
    on_offer = selectors.open_offer_product_ids(broadcast=broadcast)
    first = selectors.offer_products(broadcast=broadcast).exclude(pk__in=on_offer).first()
    price = campaign_prices(broadcast=broadcast).get(first.pk) if first else None
    if price is not None:
        initial.update(product=first.pk, price=price)
    suggested = campaign_suggested_stock(broadcast=broadcast).get(first.pk) if first else None
    if suggested:
        initial["cap"] = suggested
    if first is not None:
        initial["presale"] = first.on_hand < 1
    return initial


# What the join list says of each join (`selectors.join_state`, from its order).
JOIN_STATE_LABELS = {
    selectors.JoinState.JOINED: pgettext_lazy("group-buy join state", "Joined"),
    selectors.JoinState.CONFIRMED: pgettext_lazy("group-buy join state", "Confirmed"),
    selectors.JoinState.READY: pgettext_lazy("group-buy join state", "Ready for pickup"),
    selectors.JoinState.PICKED_UP: pgettext_lazy("group-buy join state", "Picked up"),
    selectors.JoinState.CANCELLED: pgettext_lazy("group-buy join state", "Cancelled"),
    selectors.JoinState.REFUNDED: pgettext_lazy("group-buy join state", "Refunded"),
}


def _page(
    request: HttpRequest,
    broadcast: Broadcast,
    *,
    offer_form: OfferForm | None = None,
    jielong_form: JielongForm | None = None,
    report: JielongReport | None = None,
    status: int = 200,
) -> HttpResponse:
    allowed = actions_at(request.user, broadcast.store_id)
    sees_members = MEMBER_DATA.name in allowed
    joins = selectors.broadcast_joins(broadcast=broadcast)
    short = orders_units_short(order_ids=[join.order_id for join in joins if join.order_id])
    rows = []
    for join in joins:
        name = join.display_name or (join.member.name if join.member else "")
        state = selectors.join_state(join)
        rows.append(
            {
                "join": join,
                "name": name if sees_members else name_masked(name),
                "member_no": join.member.member_no if sees_members and join.member else "",
                "state": state,
                "state_label": JOIN_STATE_LABELS.get(state, state),
                # Units of the join that did not arrive; nothing to say of a cancelled order.
                "short": 0
                if state == selectors.JoinState.CANCELLED
                else short.get(join.order_id, 0),
            }
        )
    progress = [
        selectors.offer_progress(offer) for offer in selectors.broadcast_offers(broadcast=broadcast)
    ]
    if report is not None and not sees_members:
        for line in report.lines:
            line.name = name_masked(line.name)
    earliest_start = broadcast_earliest_start(broadcast=broadcast)
    return render(
        request,
        "campaigns/broadcast_detail.html",
        {
            "store": broadcast.store,
            "broadcast": broadcast,
            "allowed": allowed,
            "can_run": RUN_CAMPAIGNS.name in allowed,
            # Before this a start is refused (services/broadcasts.py): say so by the button.
            "earliest_start": earliest_start,
            "too_early": timezone.now() < earliest_start,
            "earliest_start_hours": EARLIEST_START_BEFORE // dt.timedelta(hours=1),
            "sees_members": sees_members,
            "progress": progress,
            # Joins can only be pasted while an offer takes them.
            "has_open_offer": any(
                item.offer.status == GroupBuyOffer.Status.OPEN for item in progress
            ),
            "joins": rows,
            "rate": selectors.formation_rate(store_campaign=broadcast.store_campaign),
            "offer_form": offer_form
            or OfferForm(broadcast=broadcast, initial=_offer_initial(broadcast)),
            "jielong_form": jielong_form or JielongForm(),
            "jielong_examples": jielong_examples(broadcast=broadcast),
            "report": report,
        },
        status=status,
    )


@login_required
@require_GET
def store_broadcasts(request: HttpRequest, store_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, VIEW_CAMPAIGNS)
    return render(
        request,
        "campaigns/broadcast_list.html",
        {
            "store": store,
            "broadcasts": selectors.store_broadcasts(store=store),
            "rate": selectors.formation_rate(store=store),
        },
    )


@login_required
@require_GET
def broadcast_detail(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    return _page(request, _broadcast_or_404(request, broadcast_id, VIEW_CAMPAIGNS))


@login_required
@require_POST
def broadcast_start_view(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    broadcast = _broadcast_or_404(request, broadcast_id, RUN_CAMPAIGNS)
    try:
        broadcast_start(broadcast=broadcast, by=request.user)
    except BroadcastRefused as refusal:
        messages.error(request, refusal.messages[0])
    else:
        messages.success(request, _("The broadcast is live."))
    return redirect("campaigns:broadcast", broadcast_id=broadcast.pk)


@login_required
@require_POST
def broadcast_end_view(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    broadcast = _broadcast_or_404(request, broadcast_id, RUN_CAMPAIGNS)
    try:
        broadcast_end(broadcast=broadcast, by=request.user)
    except BroadcastRefused as refusal:
        messages.error(request, refusal.messages[0])
    else:
        messages.success(
            request, _("The broadcast has ended. Open offers stay open until their deadlines.")
        )
    return redirect("campaigns:broadcast", broadcast_id=broadcast.pk)


@login_required
@require_POST
def broadcast_offer_create(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    broadcast = _broadcast_or_404(request, broadcast_id, RUN_CAMPAIGNS)
    form = OfferForm(request.POST, broadcast=broadcast)
    if form.is_valid():
        data = form.cleaned_data
        try:
            offer_create(
                broadcast=broadcast,
                product=data["product"],
                price=data["price"],
                threshold=data["threshold"],
                cap=data["cap"],
                deadline=data["deadline"],
                threshold_kind=data["threshold_kind"],
                presale=data["presale"],
                by=request.user,
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(None if field not in form.fields else field, problem)
        else:
            messages.success(request, _("Offer opened."))
            _warn_cap_above_stock(request, data=data)
            return redirect("campaigns:broadcast", broadcast_id=broadcast.pk)
    return _page(request, broadcast, offer_form=form, status=400)


def _warn_cap_above_stock(request: HttpRequest, *, data: dict) -> None:
    """An offer from stock whose cap is above what the store has: joins past the stock will
    be refused, so say so while the owner can still restock or open a pre-order instead."""
    if data["presale"]:
        return
    on_hand = data["product"].on_hand  # annotated by `offer_products`, the form's queryset
    if data["cap"] > on_hand:
        messages.warning(
            request,
            _(
                "Only %(stock)d of %(product)s in stock for a cap of %(cap)d: joins beyond the "
                "stock will be refused. Restock, or open it as a pre-order."
            )
            % {"stock": on_hand, "product": data["product"].name, "cap": data["cap"]},
        )


@login_required
@require_POST
def broadcast_jielong(request: HttpRequest, broadcast_id: int) -> HttpResponse:
    broadcast = _broadcast_or_404(request, broadcast_id, RUN_CAMPAIGNS)
    form = JielongForm(request.POST)
    if not form.is_valid():
        return _page(request, broadcast, jielong_form=form, status=400)
    report = jielong_import(
        broadcast=broadcast,
        text=form.cleaned_data["text"],
        by=request.user,
        dry_run=form.cleaned_data["dry_run"],
    )
    if report.written:
        messages.success(
            request,
            ngettext("Entered %(count)d new join", "Entered %(count)d new joins", report.new_count)
            % {"count": report.new_count}
            + pgettext("list separator", "; ")
            + ngettext(
                "%(count)d was already entered.",
                "%(count)d were already entered.",
                report.already_count,
            )
            % {"count": report.already_count},
        )
    elif report.problem_count:
        messages.error(
            request,
            ngettext(
                "Nothing was entered: %(count)d line needs fixing.",
                "Nothing was entered: %(count)d lines need fixing.",
                report.problem_count,
            )
            % {"count": report.problem_count},
        )
    return _page(request, broadcast, jielong_form=form, report=report)


@login_required
@require_POST
def broadcast_offer_withdraw(
    request: HttpRequest, broadcast_id: int, offer_id: int
) -> HttpResponse:
    """Withdraw an open offer nobody joined (`offer_withdraw`); the page's button asks first
    and posts `confirm`."""
    broadcast = _broadcast_or_404(request, broadcast_id, RUN_CAMPAIGNS)
    offer = selectors.broadcast_offer(broadcast=broadcast, offer_id=offer_id)
    if offer is None:
        raise Http404
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Nothing was withdrawn: confirm the withdrawal first."))
        return redirect("campaigns:broadcast", broadcast_id=broadcast.pk)
    try:
        offer_withdraw(offer=offer, by=request.user)
    except OfferWithdrawRefused as refusal:
        messages.error(request, refusal.messages[0])
    else:
        messages.success(
            request,
            _("The offer of %(product)s was withdrawn.") % {"product": offer.product.name},
        )
    return redirect("campaigns:broadcast", broadcast_id=broadcast.pk)
