"""The loss page (/portal/supply/stores/<store>/loss/): record waste and expiry, see the last
30 days' losses and the store's loss rate per category this month and last month. Guarded by
RECORD_LOSS (the store's owner and clerks; HQ reads losses in the admin), GET and POST alike;
another store is a 403 like an unknown one (docs/loss.md). The form is recorded once per form
key, through the batch page's `LossBatch` row (a batch of one): a double tap records nothing.
The losses' notes are member data, as on the stock ledger page: shown to MEMBER_DATA (the
owner), masked for clerks (docs/access.md).

The batch page (/portal/supply/stores/<store>/loss/batch/): several losses in one form (the
closing count), recorded all or nothing through `losses_record`, once per form key. Same guard.

A post of either form without a valid key records nothing: the form comes back with what was
typed, an error saying so and a fresh key (as the after-sales form)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from apps.procurement.forms import (
    LOSS_BATCH_MAX_ROWS,
    LossForm,
    LossRowFormSet,
    LossStock,
    loss_product_text,
)
from apps.stores.access import MEMBER_DATA, RECORD_LOSS, store_and_actions_or_403, store_or_403
from apps.stores.models import LossBatch, LossReason
from apps.stores.selectors import (
    store_loss_batch,
    store_loss_candidates,
    store_loss_rates_by_month,
    store_loss_stock,
    store_recent_losses,
)
from apps.stores.services.loss import LossBatchRepeated, LossRefused, loss_record, losses_record
from apps.stores.services.stock import InsufficientStock
from linli.admin_helpers import member_notes_for_viewer
from linli.params import FORM_KEY_MISSING, form_key, text_param

RECENT_DAYS = 30
QUERY_MAX_LENGTH = 60


@login_required
@require_http_methods(["GET", "POST"])
def loss(request: HttpRequest, store_id: int) -> HttpResponse:
    store, allowed = store_and_actions_or_403(request.user, store_id, RECORD_LOSS)
    query = text_param(request.GET, "q", max_length=QUERY_MAX_LENGTH)
    form = LossForm(request.POST if request.method == "POST" else None, store=store)
    if request.method == "GET":
        key = uuid.uuid4()
    else:
        query = text_param(request.POST, "q", max_length=QUERY_MAX_LENGTH)
        key = form_key(request.POST.get("key"))
        if key is None:
            # Refused with what was typed and a fresh key: one more tap records once.
            key = uuid.uuid4()
            form.add_error(None, FORM_KEY_MISSING)
        # Checked before the form, as on the batch page: after the first tap the stock is
        # lower, and the second must say "already recorded", not "only 2 on hand".
        elif (recorded := store_loss_batch(store=store, key=key)) is not None:
            return _repeated(request, recorded, single=True)
        elif form.is_valid():
            data = form.cleaned_data
            try:
                movement = loss_record(
                    store=store,
                    product=data["product"],
                    quantity=data["quantity"],
                    reason=data["reason"],
                    note=data["note"],
                    by=request.user,
                    key=key,
                )
            except LossBatchRepeated as repeated:
                return _repeated(request, repeated.batch, single=True)
            except (InsufficientStock, ValidationError) as error:
                form.add_error(None, error.messages[0])
            else:
                messages.success(
                    request,
                    _("Recorded: %(quantity)d × %(product)s, %(reason)s.")
                    % {
                        "quantity": -movement.quantity,
                        "product": movement.product.name,
                        "reason": movement.get_reason_display(),
                    },
                )
                return redirect("supply:loss", store_id=store.pk)
    candidates = store_loss_candidates(store=store, query=query)
    chosen = form["product"].value() if form.is_bound else None
    since = timezone.now() - dt.timedelta(days=RECENT_DAYS)
    losses = store_recent_losses(store=store, since=since)
    member_notes_for_viewer(losses, member_data=MEMBER_DATA.name in allowed)
    return render(
        request,
        "supply/loss_page.html",
        {
            "store": store,
            "form": form,
            "query": query,
            "key": key,
            "candidates": candidates,
            "chosen": str(chosen or ""),
            "reasons": LossReason.choices,
            "losses": losses,
            "recent_days": RECENT_DAYS,
            "rates": store_loss_rates_by_month(store=store, today=timezone.localdate()),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def _repeated(request: HttpRequest, batch: LossBatch, *, single: bool = False) -> HttpResponse:
    """Back to the loss page saying when the form's key was recorded (nothing written now)."""
    time = timezone.localtime(batch.recorded_at).strftime("%H:%M")
    if single:
        messages.warning(
            request,
            _("This loss was already recorded at %(time)s; it was not recorded again.")
            % {"time": time},
        )
        return redirect("supply:loss", store_id=batch.store_id)
    messages.warning(
        request,
        ngettext(
            "This list was already recorded at %(time)s (%(count)d loss); it was not recorded "
            "again.",
            "This list was already recorded at %(time)s (%(count)d losses); it was not "
            "recorded again.",
            batch.loss_count,
        )
        % {
            "time": time,
            "count": batch.loss_count,
        },
    )
    return redirect("supply:loss", store_id=batch.store_id)


@login_required
@require_http_methods(["GET", "POST"])
def loss_batch(request: HttpRequest, store_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, RECORD_LOSS)
    stock = LossStock(store_loss_stock(store=store))
    if request.method == "GET":
        key = uuid.uuid4()
        formset = LossRowFormSet(prefix="rows", form_kwargs={"stock": stock})
    else:
        key = form_key(request.POST.get("key"))
        # Checked before the rows: after the first submit the stock is lower, and a second
        # submit must say "already recorded", not "only 2 on hand".
        if key is not None and (recorded := store_loss_batch(store=store, key=key)) is not None:
            return _repeated(request, recorded)
        formset = LossRowFormSet(request.POST, prefix="rows", form_kwargs={"stock": stock})
        if key is None:
            # Refused with the rows as typed and a fresh key: one more submit records once.
            key = uuid.uuid4()
            formset.non_form_errors().append(FORM_KEY_MISSING)
        elif formset.is_valid():
            rows = formset.loss_rows()
            try:
                losses_record(
                    store=store, rows=[row for _form, row in rows], by=request.user, key=key
                )
            except LossBatchRepeated as repeated:
                return _repeated(request, repeated.batch)
            except LossRefused as refused:
                for error in refused.errors:
                    if 1 <= error.row <= len(rows):
                        field = "quantity" if error.field == "stock" else error.field
                        rows[error.row - 1][0].add_error(field, error.message)
                    else:
                        formset.non_form_errors().append(error.message)
            else:
                messages.success(
                    request,
                    ngettext("Recorded %(count)d loss.", "Recorded %(count)d losses.", len(rows))
                    % {"count": len(rows)},
                )
                return redirect("supply:loss", store_id=store.pk)
    return render(
        request,
        "supply/loss_batch.html",
        {
            "store": store,
            "formset": formset,
            "key": key,
            "stock": [(loss_product_text(level.product), level) for level in stock.levels],
            "max_rows": LOSS_BATCH_MAX_ROWS,
        },
        status=400 if formset.is_bound else 200,
    )
