"""Inspection pages of the portal (inspectors on their phones, owners, HQ read-only).

Each view: check access through `selectors` (which use `apps.stores.access`), call one service or
selector, render. Uploads go through `limit_photo_uploads`, so an oversized file is dropped while
it streams in instead of being written to disk in full.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from apps.stores.access import VIEW_INSPECTIONS, hq_may
from apps.stores.inspections import selectors, services
from apps.stores.inspections.forms import RectificationDoneForm, ScoringForm
from apps.stores.inspections.images import (
    PhotoRejected,
    PhotoSizeLimitUploadHandler,
    photo_limits,
    too_large_message,
)
from apps.stores.inspections.models import pass_score
from apps.stores.inspections.selectors import InspectionAccess
from apps.stores.models import Inspection, InspectionSave, RectificationItem
from linli.files import private_image_response
from linli.params import FORM_KEY_MISSING, form_key, is_ascii_number

PHOTO_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


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


def _upload_too_large(request: HttpRequest) -> str | None:
    guard = getattr(request, "photo_upload_guard", None)
    if guard is not None and guard.exceeded:
        return too_large_message(photo_limits())
    return None


def _error_messages(error: ValidationError) -> list[str]:
    return list(error.messages)


# --- pages ----------------------------------------------------------------------------------


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    rows = selectors.inspection_overview(user=request.user)
    if not rows and not hq_may(request.user, VIEW_INSPECTIONS):
        raise PermissionDenied  # suppliers, clerks, owners and inspectors without a store
    return render(request, "inspections/index.html", {"rows": rows})


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    score: Any
    label: str


@dataclass(frozen=True)
class ChartTick:
    y: float
    value: int


@dataclass(frozen=True)
class ChartDate:
    x: float
    label: str
    anchor: str  # SVG text-anchor: the first date starts at its point, the last ends at it


CHART_WIDTH = 320
CHART_HEIGHT = 180
CHART_LEFT = 30  # room for the score labels of the y axis
CHART_RIGHT = 48  # room for the pass line's label, outside the plot so no point hides it
CHART_TOP = 18  # room for the axis title
CHART_BOTTOM = 20  # room for the first and last date
CHART_TICKS = (0, 20, 40, 60, 80, 100)


def _score_chart(points: list[selectors.ScorePoint], *, pass_line: Decimal) -> dict[str, Any]:
    """Coordinates for a small inline SVG line chart: x by inspection (oldest left), y by score
    on a fixed 0–100 scale with a labelled axis, so distances between scores read true, and
    the pass line drawn dashed at its height."""
    if not points:
        return {"points": [], "polyline": ""}
    plot_width = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    bottom = CHART_TOP + plot_height

    def y_of(score: float) -> float:
        return round(CHART_TOP + plot_height * (1 - score / 100), 1)

    step = plot_width / max(len(points) - 1, 1)
    chart = [
        ChartPoint(
            x=round(CHART_LEFT + index * step, 1),
            y=y_of(float(point.score)),
            score=point.score,
            label=timezone.localtime(point.submitted_at).strftime("%Y-%m-%d"),
        )
        for index, point in enumerate(points)
    ]
    dates = [ChartDate(x=chart[0].x, label=chart[0].label, anchor="start")]
    if len(chart) > 1:
        dates.append(ChartDate(x=chart[-1].x, label=chart[-1].label, anchor="end"))
    return {
        "points": chart,
        "polyline": " ".join(f"{point.x},{point.y}" for point in chart),
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_RIGHT,
        "top": CHART_TOP,
        "bottom": bottom,
        "ticks": [ChartTick(y=y_of(value), value=value) for value in CHART_TICKS],
        "dates": dates,
        "date_y": CHART_HEIGHT - 5,
        "pass_line": pass_line,
        "pass_y": y_of(float(pass_line)),
    }


@login_required
@require_GET
def store_page(request: HttpRequest, store_id: int) -> HttpResponse:
    store, access = selectors.store_for_inspections_or_403(user=request.user, store_id=store_id)
    history = selectors.store_score_history(store=store)
    return render(
        request,
        "inspections/store.html",
        {
            "store": store,
            "access": access,
            "inspections": selectors.store_inspections(store=store, access=access),
            "history": history,
            "chart": _score_chart(history, pass_line=pass_score()),
            "pass_score": pass_score(),
            "rectifications": selectors.store_open_rectifications(store=store),
            "today": timezone.localdate(),
        },
    )


@login_required
@require_POST
def start(request: HttpRequest, store_id: int) -> HttpResponse:
    store, access = selectors.store_for_inspections_or_403(user=request.user, store_id=store_id)
    if not access.can_inspect:
        raise PermissionDenied
    try:
        inspection, created = services.inspection_start(store=store, inspector=request.user)
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
        return redirect("inspections:store", store_id=store.pk)
    if not created:
        messages.info(request, _("You already had an inspection in progress here: carry on."))
    return redirect("inspections:detail", inspection_id=inspection.pk)


def _may_edit(inspection: Inspection, access: InspectionAccess, user: Any) -> bool:
    return inspection.is_draft and access.can_inspect and inspection.inspector_id == user.pk


def _render_detail(
    request: HttpRequest,
    inspection: Inspection,
    access: InspectionAccess,
    *,
    scoring: ScoringForm | None = None,
    done_forms: dict[int, RectificationDoneForm] | None = None,
    key: uuid.UUID | None = None,
    status: int = 200,
) -> HttpResponse:
    """The inspection's page. The scoring form carries `key` (a fresh one unless given: a
    refused save keeps its own for the corrected form), so that a page is saved once."""
    done_forms = done_forms or {}
    editable = _may_edit(inspection, access, request.user)
    results = selectors.inspection_results(inspection=inspection)
    rectifications = selectors.inspection_rectifications(inspection=inspection)
    if editable and scoring is None:
        scoring = ScoringForm(results)
    rectification_rows = [
        {
            "item": item,
            "form": done_forms.get(item.pk, RectificationDoneForm(auto_id=f"id_x{item.pk}_%s"))
            if access.can_rectify and item.status == RectificationItem.Status.OPEN
            else None,
        }
        for item in rectifications
    ]
    return render(
        request,
        "inspections/detail.html",
        {
            "inspection": inspection,
            "store": inspection.store,
            "access": access,
            "editable": editable,
            "results": results,
            "scoring": scoring if editable else None,
            "key": key or uuid.uuid4(),
            "general_photos": selectors.inspection_general_photos(inspection=inspection),
            "rectification_rows": rectification_rows,
            "today": timezone.localdate(),
            "scored": sum(1 for result in results if result.score is not None),
            "pass_score": pass_score(),
        },
        status=status,
    )


@login_required
@require_GET
def detail(request: HttpRequest, inspection_id: int) -> HttpResponse:
    inspection, access = selectors.inspection_for_user_or_403(
        user=request.user, inspection_id=inspection_id
    )
    return _render_detail(request, inspection, access)


def _editable_or_403(request: HttpRequest, inspection_id: int) -> tuple[Inspection, Any]:
    inspection, access = selectors.inspection_for_user_or_403(
        user=request.user, inspection_id=inspection_id
    )
    if not (access.can_inspect and inspection.inspector_id == request.user.pk):
        raise PermissionDenied
    return inspection, access


SUBMIT = "submit"  # the value of the tapped button named "action"; any other value saves


def _saved_messages(saved: services.ResultsSaved) -> list[str]:
    if not saved.anything:
        return [_("Nothing changed: every score, note and photo was already saved.")]
    parts = []
    if saved.changed:
        parts.append(
            ngettext(
                "Saved %(count)d item: %(items)s.",
                "Saved %(count)d items: %(items)s.",
                len(saved.changed),
            )
            % {
                "count": len(saved.changed),
                "items": pgettext("list separator", "; ").join(saved.changed),
            }
        )
    if saved.photos_added:
        parts.append(
            ngettext("%(count)d photo added.", "%(count)d photos added.", saved.photos_added)
            % {"count": saved.photos_added}
        )
    if saved.photos_removed:
        parts.append(
            ngettext("%(count)d photo removed.", "%(count)d photos removed.", saved.photos_removed)
            % {"count": saved.photos_removed}
        )
    parts.append(
        ngettext(
            "%(scored)d of %(total)d item scored.",
            "%(scored)d of %(total)d items scored.",
            saved.total,
        )
        % {"scored": saved.scored, "total": saved.total}
    )
    return parts


def _photo_ids(values: list[str]) -> list[int]:
    return [int(value) for value in values if is_ascii_number(value)]


@login_required
@require_POST
@limit_photo_uploads
def save(request: HttpRequest, inspection_id: int) -> HttpResponse:
    """The scoring form: every item's score, note and new photo, the photo for the inspection as
    a whole, and which button was tapped: save (any card's), remove one photo, or submit. Each
    of them saves everything first, all or nothing; on an error the page comes back with what
    was typed and nothing is written.

    Once per page: the form's key is claimed in the save's transaction, so a double tap (or a
    resent form) saves nothing again and adds no photo twice; it is looked up first, so the
    second tap's photos are not processed again. A post without a valid key saves nothing and
    comes back as typed with a fresh key.

    *Submit* also needs its "cannot undo" box ticked. Unticked, the post is saved exactly as
    *Save all* would save it (key claimed, photos kept) and only the submission is refused: the
    saved draft comes back with the box's error."""
    inspection, access = _editable_or_403(request, inspection_id)
    key = form_key(request.POST.get("key"))
    if key is not None and (
        saved := selectors.inspection_save_by_key(inspection=inspection, key=key)
    ):
        return _save_repeated(request, saved)
    results = selectors.inspection_results(inspection=inspection)
    scoring = ScoringForm(results, request.POST, request.FILES)
    guard = getattr(request, "photo_upload_guard", None)
    for field_name in guard.exceeded_fields if guard is not None else []:
        scoring.add_photo_error_by_field(field_name, too_large_message(photo_limits()))
    submitting = request.POST.get("action") == SUBMIT
    # Submitting cannot be undone, so it needs its ticked box; unticked, the post is saved as
    # *Save all* would save it (nothing chosen on a phone is lost) and only the submission is
    # refused.
    confirmed = not submitting or scoring.submit_confirm.is_valid()
    if key is None:
        scoring.is_valid()  # the typed values' own errors show beside this one
        scoring.errors.append(str(FORM_KEY_MISSING))
    elif scoring.is_valid():
        try:
            saved = services.inspection_results_save(
                inspection=inspection,
                by=request.user,
                entries=scoring.entries(),
                other_upload=scoring.other_upload(),
                remove_photo_ids=_photo_ids(request.POST.getlist("remove_photo")),
                key=key,
            )
        except services.InspectionSaveRepeated as repeated:
            return _save_repeated(request, repeated.save)
        except services.PhotosRejected as error:
            for result_id, reason in error.by_result.items():
                scoring.add_photo_error(result_id, reason)
        except ValidationError as error:
            scoring.errors.extend(_error_messages(error))
        else:
            if saved.anything or not (submitting and confirmed):
                for message in _saved_messages(saved):
                    messages.success(request, message)
            if not confirmed:
                return _submit_unconfirmed(request, inspection, access)
            if submitting:
                return _submit(request, inspection)
            return redirect("inspections:detail", inspection_id=inspection.pk)
    if not confirmed:
        scoring.require_submit_confirmed()
    return _render_detail(request, inspection, access, scoring=scoring, key=key, status=400)


def _submit_unconfirmed(
    request: HttpRequest, inspection: Inspection, access: InspectionAccess
) -> HttpResponse:
    """The saved draft (a fresh form and key: this post's key is claimed), with the reason
    the submission was refused at the top and beside the box, left unticked."""
    scoring = ScoringForm(selectors.inspection_results(inspection=inspection))
    for reason in scoring.refuse_unconfirmed_submit():
        messages.error(request, reason)
    return _render_detail(request, inspection, access, scoring=scoring)


def _save_repeated(request: HttpRequest, save: InspectionSave) -> HttpResponse:
    """Back to the inspection saying when this page was saved (nothing written now)."""
    messages.warning(
        request,
        _("This page was already saved at %(time)s; nothing was saved again.")
        % {"time": timezone.localtime(save.saved_at).strftime("%H:%M")},
    )
    return redirect("inspections:detail", inspection_id=save.inspection_id)


def _submit(request: HttpRequest, inspection: Inspection) -> HttpResponse:
    try:
        services.inspection_submit(inspection=inspection, by=request.user)
    except ValidationError as error:
        for message in _error_messages(error):
            messages.error(request, message)
        return redirect("inspections:detail", inspection_id=inspection.pk)
    messages.success(
        request,
        _("Submitted with a score of %(score)s. HQ will review it.") % {"score": inspection.score},
    )
    return redirect("inspections:store", store_id=inspection.store_id)


@login_required
@require_POST
@limit_photo_uploads
def rectification_done(request: HttpRequest, rectification_id: int) -> HttpResponse:
    item = RectificationItem.objects.filter(pk=rectification_id).first()
    if item is None:
        raise PermissionDenied
    inspection, access = selectors.inspection_for_user_or_403(
        user=request.user, inspection_id=item.inspection_id
    )
    if not access.can_rectify:
        raise PermissionDenied
    form = RectificationDoneForm(request.POST, request.FILES, auto_id=f"id_x{item.pk}_%s")
    if too_large := _upload_too_large(request):
        form.add_error("photo", too_large)
    if form.is_valid():
        try:
            services.rectification_mark_done(
                rectification=item,
                by=request.user,
                note=form.cleaned_data["note"],
                upload=form.cleaned_data["photo"],
            )
        except PhotoRejected as error:
            form.add_error("photo", error)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Marked as done. Thank you!"))
            return redirect(reverse("inspections:detail", args=[inspection.pk]) + "#rectification")
    return _render_detail(request, inspection, access, done_forms={item.pk: form}, status=400)


@login_required
@require_GET
def photo(request: HttpRequest, photo_id: int) -> FileResponse:
    """The only way to a photo's bytes: access checked, type from our record, no sniffing."""
    photo = selectors.photo_for_user_or_403(user=request.user, photo_id=photo_id)
    extension = PHOTO_EXTENSIONS.get(photo.content_type, "bin")
    return private_image_response(
        photo.image,
        content_type=photo.content_type,
        filename=f"inspection-{photo.inspection_id}-photo-{photo.pk}.{extension}",
        cache_control="private, max-age=3600",
    )
