"""After-sales pages of the store portal (/portal/supply/stores/<id>/after-sales/): the store's
cases, opening a case on a member's order with photos, a case and its photos.

Every view asks `apps.stores.access` for `AFTER_SALES` at the store (the owner only: HQ reads
and decides cases in the admin, whose photo thumbnails use `photo_response` behind its own
permission check). A case, order or photo of another store is a 404. Uploads go through
`limit_photo_uploads`, so an oversized photo is dropped while it streams in.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from apps.procurement.forms import CaseOpenForm, CaseOrderFindForm
from apps.procurement.models import AfterSalesCase, AfterSalesPhoto
from apps.procurement.selectors import aftersales as selectors
from apps.procurement.services.aftersales import (
    AfterSalesRefused,
    CaseRepeated,
    case_open,
    max_photos,
)
from apps.stores.access import AFTER_SALES, MEMBER_DATA, actions_at, may, store_or_403
from apps.stores.inspections.images import (
    PhotoRejected,
    PhotoSizeLimitUploadHandler,
    photo_limits,
    too_large_message,
)
from apps.stores.models import Order, Store
from linli.files import private_image_response
from linli.params import FORM_KEY_MISSING, form_key, is_ascii_number


def limit_photo_uploads(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Install the byte-limit upload handler before the body is parsed. CSRF middleware would
    parse it first, so the view is csrf_exempt outside and csrf_protect inside (Django's
    documented pattern for per-view upload handlers): CSRF is still enforced."""
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        guard = PhotoSizeLimitUploadHandler(request, max_bytes=photo_limits().max_bytes)
        request.upload_handlers.insert(0, guard)
        request.photo_upload_guard = guard  # type: ignore[attr-defined]
        return protected(request, *args, **kwargs)

    return wrapper


def _order_or_404(store: Store, raw_id: str | None) -> Order:
    order_id = int(raw_id) if is_ascii_number(raw_id) and len(raw_id) <= 12 else None
    order = selectors.store_case_order(store=store, order_id=order_id) if order_id else None
    if order is None:
        raise Http404
    return order


@login_required
@require_GET
def cases(request: HttpRequest, store_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, AFTER_SALES)
    status = request.GET.get("status", "")
    if status not in AfterSalesCase.Status.values:
        status = ""
    return render(
        request,
        "supply/aftersales_list.html",
        {
            "store": store,
            "cases": selectors.store_cases(store=store, status=status),
            "counts": selectors.store_case_counts(store=store),
            "statuses": AfterSalesCase.Status.choices,
            "status": status,
            "allowed": actions_at(request.user, store.pk),
        },
    )


def _render_new(
    request: HttpRequest, store: Store, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "supply/aftersales_new.html",
        {
            "store": store,
            "allowed": actions_at(request.user, store.pk),
            "max_photos": max_photos(),
            **context,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@limit_photo_uploads
def case_new(request: HttpRequest, store_id: int) -> HttpResponse:
    """GET without `order`: find the order (by id, reference, member number or phone, or from
    the store's recent member orders). GET with `order`: the case form for that order. POST:
    open the case, then show it with the policy's proposal."""
    store = store_or_403(request.user, store_id, AFTER_SALES)
    if request.method == "GET" and "order" not in request.GET:
        find_form = CaseOrderFindForm(request.GET if "find" in request.GET else None)
        candidates = (
            selectors.store_case_order_candidates(
                store=store,
                text=find_form.cleaned_data["find"],
                by_member=may(request.user, MEMBER_DATA, store.pk),
            )
            if find_form.is_valid()
            else None
        )
        return _render_new(
            request,
            store,
            {
                "find_form": find_form,
                "candidates": candidates,
                "recent_orders": selectors.store_recent_orders(store=store),
            },
        )
    if request.method == "GET":
        order = _order_or_404(store, request.GET.get("order"))
        return _render_new(
            request,
            store,
            {"order": order, "form": CaseOpenForm(order=order), "key": uuid.uuid4()},
        )

    order = _order_or_404(store, request.POST.get("order"))
    # The form's key (a fresh one per form page): a double tap opens one case. A post without
    # one opens nothing: the form comes back with what was typed and a fresh key.
    key = form_key(request.POST.get("key"))
    if key is not None and (opened := selectors.store_case_by_form_key(store=store, key=key)):
        return _case_repeated(request, opened)
    form = CaseOpenForm(request.POST, request.FILES, order=order)
    guard = getattr(request, "photo_upload_guard", None)
    if guard is not None and guard.exceeded:
        form.add_error("photos", too_large_message(photo_limits()))
    if key is None:
        key = uuid.uuid4()
        form.add_error(None, FORM_KEY_MISSING)
    elif form.is_valid():
        try:
            case = case_open(
                store=store,
                order=order,
                order_line=form.cleaned_data["order_line"],
                kind=form.cleaned_data["kind"],
                quantity=form.cleaned_data["quantity"],
                amount=form.cleaned_data["amount"],
                description=form.cleaned_data["description"],
                photos=form.cleaned_data["photos"],
                by=request.user,
                key=key,
            )
        except CaseRepeated as repeated:
            return _case_repeated(request, repeated.case)
        except PhotoRejected as error:
            form.add_error("photos", error)
        except AfterSalesRefused as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Case %(number)s opened.") % {"number": case.number})
            return redirect("supply:case", store_id=store.pk, case_id=case.pk)
    # A browser never keeps a chosen file: say so when the form comes back without them.
    photos_dropped = bool(request.FILES.getlist("photos"))
    return _render_new(
        request,
        store,
        {"order": order, "form": form, "photos_dropped": photos_dropped, "key": key},
        status=400,
    )


def _case_repeated(request: HttpRequest, case: AfterSalesCase) -> HttpResponse:
    messages.warning(
        request,
        _("Case %(number)s was already opened at %(time)s; no second case was opened.")
        % {"number": case.number, "time": timezone.localtime(case.opened_at).strftime("%H:%M")},
    )
    return redirect("supply:case", store_id=case.store_id, case_id=case.pk)


@login_required
@require_GET
def case_detail(request: HttpRequest, store_id: int, case_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, AFTER_SALES)
    case = selectors.store_case(store=store, case_id=case_id)
    if case is None:
        raise Http404
    return render(
        request,
        "supply/aftersales_detail.html",
        {"store": store, "case": case, "allowed": actions_at(request.user, store.pk)},
    )


@login_required
@require_GET
def case_photo(request: HttpRequest, store_id: int, case_id: int, photo_id: int) -> FileResponse:
    """A case photo for the store (the admin has its own view): access checked first."""
    store = store_or_403(request.user, store_id, AFTER_SALES)
    photo = selectors.store_case_photo(store=store, case_id=case_id, photo_id=photo_id)
    if photo is None:
        raise Http404
    return photo_response(photo)


def photo_response(photo: AfterSalesPhoto) -> FileResponse:
    """A case photo's bytes for a caller that has checked access: always a JPEG (re-encoded on
    upload), kept by no cache."""
    return private_image_response(
        photo.image,
        content_type="image/jpeg",
        filename=f"after-sales-{photo.case.number}-photo-{photo.pk}.jpg",
        cache_control="private, no-store",
    )
