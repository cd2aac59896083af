"""Inspection services and selectors: checklists, scores, the HQ review flow, rectification."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone, translation

from apps.stores.inspections import selectors, services
from apps.stores.inspections.images import PhotoRejected
from apps.stores.inspections.models import pass_score, score_passes
from apps.stores.inspections.services import RectificationRequest, ResultEntry, score_weighted
from apps.stores.models import (
    ChecklistItem,
    ChecklistTemplate,
    Inspection,
    InspectionItemResult,
    InspectionPhoto,
    InspectionSave,
    RectificationItem,
)
from tests.factories import StoreFactory, owner_of
from tests.stores.test_inspections_support import (
    ChecklistItemFactory,
    ChecklistTemplateFactory,
    active_checklist,
    assign_inspector,
    gps_exif,
    jpeg_bytes,
    png_bytes,
    results_of,
    submitted_inspection,
    upload,
)

pytestmark = pytest.mark.django_db

Status = Inspection.Status


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english(settings):
    """The assertions read the English source messages (zh-hans is the default)."""
    settings.LANGUAGE_CODE = "en"


def _today() -> dt.date:
    return timezone.localdate()


# --- scores ---------------------------------------------------------------------------------


def test_score_weighted_matches_a_hand_computed_case():
    # weights 3, 2, 2 and scores 7, 9, 4 (out of 10):
    # (3·7 + 2·9 + 2·4) / (3 + 2 + 2) = 47 / 7 = 6.7142857… out of 10 → 67.14 out of 100
    assert score_weighted([(3, 7), (2, 9), (2, 4)]) == Decimal("67.14")


def test_score_weighted_rounds_half_up_and_spans_0_to_100():
    # (15·0 + 1·1) / 16 × 10 = 0.625 → 0.63 (half up, not the banker's 0.62)
    assert score_weighted([(15, 0), (1, 1)]) == Decimal("0.63")
    assert score_weighted([(5, 10), (1, 10)]) == Decimal("100.00")
    assert score_weighted([(5, 0), (1, 0)]) == Decimal("0.00")


def test_score_weighted_needs_items():
    with pytest.raises(ValueError, match="positive weight"):
        score_weighted([])


# --- checklists -----------------------------------------------------------------------------


def test_default_checklist_is_created_once_and_active():
    template = services.checklist_template_ensure_default()
    assert template is not None
    assert template.active is True
    assert template.items.count() == len(services.DEFAULT_CHECKLIST)
    assert services.checklist_template_ensure_default() is None
    assert ChecklistTemplate.objects.count() == 1


def test_activating_a_checklist_deactivates_the_previous_one():
    old = active_checklist()
    new = ChecklistTemplateFactory()
    ChecklistItemFactory(template=new)
    services.checklist_template_activate(template=new)
    assert list(ChecklistTemplate.objects.filter(active=True)) == [new]
    old.refresh_from_db()
    assert old.active is False


def test_a_checklist_without_items_cannot_be_activated():
    empty = ChecklistTemplateFactory()
    with pytest.raises(ValidationError):
        services.checklist_template_activate(template=empty)
    empty.refresh_from_db()
    assert empty.active is False


def test_new_version_copies_the_items_inactive():
    template = active_checklist((3, 1), photo_required=(True, False))
    copy = services.checklist_template_new_version(template=template)
    assert (copy.name, copy.version, copy.active) == (template.name, 2, False)
    assert list(copy.items.values_list("title", "weight", "requires_photo")) == [
        ("Check 1", 3, True),
        ("Check 2", 1, False),
    ]
    assert services.checklist_template_new_version(template=template).version == 3


# --- starting and scoring -------------------------------------------------------------------


def test_start_copies_the_active_checklist_and_a_second_start_reuses_the_draft():
    store = StoreFactory()
    inspector = assign_inspector(store)
    template = active_checklist((3, 2, 2), photo_required=(True, False, False))

    inspection, created = services.inspection_start(store=store, inspector=inspector)
    again, created_again = services.inspection_start(store=store, inspector=inspector)

    assert (created, created_again) == (True, False)
    assert again.pk == inspection.pk
    assert inspection.template == template
    assert inspection.status == Status.DRAFT
    assert [(r.title, r.weight, r.requires_photo, r.score) for r in results_of(inspection)] == [
        ("Check 1", 3, True, None),
        ("Check 2", 2, False, None),
        ("Check 3", 2, False, None),
    ]
    assert Inspection.objects.count() == 1


def test_start_is_refused_for_a_store_the_inspector_is_not_assigned_to(inspector, other_store):
    active_checklist()
    with pytest.raises(PermissionDenied):
        services.inspection_start(store=other_store, inspector=inspector)
    assert Inspection.objects.count() == 0


def test_start_is_refused_for_the_owner(owner, store):
    active_checklist()
    with pytest.raises(PermissionDenied):
        services.inspection_start(store=store, inspector=owner)
    assert Inspection.objects.count() == 0


def test_start_without_an_active_checklist_says_so(inspector, store):
    with pytest.raises(ValidationError, match="no active checklist"):
        services.inspection_start(store=store, inspector=inspector)
    assert Inspection.objects.count() == 0


def test_checklist_edits_after_start_do_not_change_the_inspection(inspector, store):
    template = active_checklist((3, 2, 2))
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    ChecklistItem.objects.filter(template=template).update(weight=9, title="Changed")
    assert [r.weight for r in results_of(inspection)] == [3, 2, 2]
    assert {r.title for r in results_of(inspection)} == {"Check 1", "Check 2", "Check 3"}


def test_score_out_of_range_is_refused(inspector, store):
    active_checklist()
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    result = results_of(inspection)[0]
    with pytest.raises(ValidationError, match="0 to 10"):
        services.inspection_result_save(result=result, by=inspector, score=11)
    result.refresh_from_db()
    assert result.score is None


def test_another_inspector_of_the_store_cannot_change_someone_elses_draft(inspector, store):
    active_checklist()
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    colleague = assign_inspector(store)
    result = results_of(inspection)[0]
    with pytest.raises(PermissionDenied):
        services.inspection_result_save(result=result, by=colleague, score=5)
    with pytest.raises(PermissionDenied):
        services.inspection_submit(inspection=inspection, by=colleague)
    result.refresh_from_db()
    assert result.score is None
    inspection.refresh_from_db()
    assert inspection.status == Status.DRAFT


# --- submitting -----------------------------------------------------------------------------


def test_submit_computes_the_weighted_score_exactly(inspector, store):
    active_checklist((3, 2, 2))
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    for result, score in zip(results_of(inspection), (7, 9, 4), strict=True):
        services.inspection_result_save(result=result, by=inspector, score=score, note="ok")

    submitted = services.inspection_submit(inspection=inspection, by=inspector)

    assert submitted.status == Status.SUBMITTED
    assert submitted.score == Decimal("67.14")
    assert submitted.submitted_at is not None
    inspection.refresh_from_db()
    assert inspection.score == Decimal("67.14")


def test_submit_with_unscored_items_is_refused_and_changes_nothing(inspector, store):
    active_checklist((3, 2, 2))
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    services.inspection_result_save(result=results_of(inspection)[0], by=inspector, score=5)
    with pytest.raises(ValidationError) as caught:
        services.inspection_submit(inspection=inspection, by=inspector)
    assert caught.value.messages == [
        "Score every item before submitting. Not scored yet: Check 2, Check 3."
    ]
    with translation.override("zh-hans"), pytest.raises(ValidationError) as in_chinese:
        services.inspection_submit(inspection=inspection, by=inspector)
    assert in_chinese.value.messages == ["提交前请为每一项评分。尚未评分：Check 2、Check 3。"]
    inspection.refresh_from_db()
    assert (inspection.status, inspection.score, inspection.submitted_at) == (
        Status.DRAFT,
        None,
        None,
    )


def test_submit_needs_a_photo_on_photo_required_items(inspector, store):
    active_checklist((1, 1), photo_required=(True, False))
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    first, second = results_of(inspection)
    services.inspection_result_save(result=first, by=inspector, score=8)
    services.inspection_result_save(result=second, by=inspector, score=8)
    with pytest.raises(ValidationError, match="need a photo: Check 1"):
        services.inspection_submit(inspection=inspection, by=inspector)
    inspection.refresh_from_db()
    assert inspection.status == Status.DRAFT

    services.inspection_result_save(
        result=first, by=inspector, score=8, upload=upload(jpeg_bytes())
    )
    assert services.inspection_submit(inspection=inspection, by=inspector).score == Decimal("80.00")


def test_a_submitted_inspection_can_no_longer_be_changed(inspector, store):
    inspection = submitted_inspection(store=store, inspector=inspector, scores=(5, 5, 5))
    result = results_of(inspection)[0]
    with pytest.raises(ValidationError, match="submitted"):
        services.inspection_result_save(result=result, by=inspector, score=10)
    with pytest.raises(ValidationError, match="submitted"):
        services.inspection_photo_add(
            inspection=inspection, by=inspector, upload=upload(png_bytes())
        )
    with pytest.raises(ValidationError, match="submitted"):
        services.inspection_submit(inspection=inspection, by=inspector)
    result.refresh_from_db()
    assert result.score == 5
    assert InspectionPhoto.objects.count() == 0


def test_photo_delete_removes_row_and_file(inspector, store, django_capture_on_commit_callbacks):
    active_checklist()
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    photo = services.inspection_photo_add(
        inspection=inspection, by=inspector, upload=upload(png_bytes())
    )
    name = photo.image.name
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        services.inspection_photo_delete(photo=photo, by=inspector)
    assert InspectionPhoto.objects.count() == 0
    assert not default_storage.exists(name)


def test_photo_count_per_inspection_is_capped(inspector, store, settings):
    settings.INSPECTION_MAX_PHOTOS_PER_INSPECTION = 2
    active_checklist()
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    for _ in range(2):
        services.inspection_photo_add(
            inspection=inspection, by=inspector, upload=upload(png_bytes())
        )
    with pytest.raises(ValidationError, match="already has 2 photos"):
        services.inspection_photo_add(
            inspection=inspection, by=inspector, upload=upload(png_bytes())
        )
    assert InspectionPhoto.objects.count() == 2


def _entries(inspection, scores, uploads=()):
    uploads = list(uploads) + [None] * (len(scores) - len(uploads))
    return [
        ResultEntry(result_id=result.pk, score=score, note="", upload=photo)
        for result, score, photo in zip(results_of(inspection), scores, uploads, strict=True)
    ]


def test_results_save_writes_every_item_in_one_go(inspector, store):
    active_checklist()
    inspection, _created = services.inspection_start(store=store, inspector=inspector)

    saved = services.inspection_results_save(
        inspection=inspection, by=inspector, entries=_entries(inspection, [7, 9, None])
    )

    assert [result.score for result in results_of(inspection)] == [7, 9, None]
    assert (saved.changed, saved.scored, saved.total) == (["Check 1", "Check 2"], 2, 3)
    assert (saved.photos_added, saved.photos_removed) == (0, 0)


def test_results_save_with_one_refused_photo_writes_nothing(inspector, store):
    active_checklist()
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    first, second, _third = results_of(inspection)

    with pytest.raises(services.PhotosRejected) as refused:
        services.inspection_results_save(
            inspection=inspection,
            by=inspector,
            entries=_entries(
                inspection, [7, 9, 4], [upload(jpeg_bytes()), upload(b"<html>", name="a.jpg")]
            ),
            other_upload=upload(b"", name="empty.png"),
        )

    assert sorted(refused.value.by_result, key=str) == sorted([second.pk, None], key=str)
    assert refused.value.by_result[second.pk].code == "not_image"
    assert [result.score for result in results_of(inspection)] == [None, None, None]
    assert InspectionPhoto.objects.count() == 0


def test_results_save_counts_every_new_photo_against_the_cap(inspector, store, settings):
    settings.INSPECTION_MAX_PHOTOS_PER_INSPECTION = 2
    active_checklist()
    inspection, _created = services.inspection_start(store=store, inspector=inspector)

    with pytest.raises(ValidationError, match="add at most 2 more"):
        services.inspection_results_save(
            inspection=inspection,
            by=inspector,
            entries=_entries(inspection, [7, 9, 4], [upload(png_bytes())] * 2),
            other_upload=upload(png_bytes()),
        )

    assert [result.score for result in results_of(inspection)] == [None, None, None]
    assert InspectionPhoto.objects.count() == 0


def test_results_save_is_refused_once_submitted(inspector, store):
    inspection = submitted_inspection(store=store, inspector=inspector, scores=(7, 9, 4))
    with pytest.raises(ValidationError, match="can no longer be changed"):
        services.inspection_results_save(
            inspection=inspection, by=inspector, entries=_entries(inspection, [1, 1, 1])
        )
    assert [result.score for result in results_of(inspection)] == [7, 9, 4]


# --- HQ review and rectification ------------------------------------------------------------


def test_hq_review_flow_submit_rectify_owner_fixes_with_photo_then_approve(hq_user):
    store = StoreFactory()
    owner = owner_of(store)
    inspection = submitted_inspection(store=store, scores=(4, 10, 10))
    shelf = results_of(inspection)[0]
    due = _today() + dt.timedelta(days=3)

    items = services.inspection_request_rectification(
        inspection=inspection,
        by=hq_user,
        note="Shelves half empty.",
        items=[
            RectificationRequest("Refill the fruit shelf", due, shelf),
            RectificationRequest("Replace the torn price tags", due + dt.timedelta(days=2)),
        ],
    )
    inspection.refresh_from_db()
    assert inspection.status == Status.RECTIFICATION_REQUESTED
    assert (inspection.reviewed_by, inspection.review_note) == (hq_user, "Shelves half empty.")
    assert [(i.description, i.result_id, i.status) for i in items] == [
        ("Refill the fruit shelf", shelf.pk, "open"),
        ("Replace the torn price tags", None, "open"),
    ]

    with pytest.raises(ValidationError, match="2 rectification item"):
        services.inspection_approve(inspection=inspection, by=hq_user)

    services.rectification_mark_done(
        rectification=items[0],
        by=owner,
        note="Refilled at 10:00.",
        upload=upload(jpeg_bytes(exif=gps_exif())),
    )
    inspection.refresh_from_db()
    assert inspection.status == Status.RECTIFICATION_REQUESTED  # one still open

    done = services.rectification_mark_done(
        rectification=items[1], by=owner, note="New tags.", upload=upload(png_bytes())
    )
    assert (done.status, done.done_by, done.done_note) == ("done", owner, "New tags.")
    assert done.done_at is not None
    assert done.done_photo.uploaded_by == owner
    inspection.refresh_from_db()
    assert inspection.status == Status.RECTIFIED

    first_fix = RectificationItem.objects.get(pk=items[0].pk).done_photo
    with default_storage.open(first_fix.image.name, "rb") as handle:
        assert b"Exif" not in handle.read()

    services.inspection_approve(inspection=inspection, by=hq_user, note="Fixed, thanks.")
    inspection.refresh_from_db()
    assert inspection.status == Status.CLOSED
    assert (inspection.reviewed_by, inspection.review_note) == (hq_user, "Fixed, thanks.")


def test_approving_a_submitted_inspection_approves_it_once(hq_user):
    inspection = submitted_inspection()
    services.inspection_approve(inspection=inspection, by=hq_user)
    inspection.refresh_from_db()
    assert (inspection.status, inspection.reviewed_by) == (Status.APPROVED, hq_user)
    with pytest.raises(ValidationError, match="already been approved"):
        services.inspection_approve(inspection=inspection, by=hq_user)


def test_a_draft_cannot_be_approved_or_sent_for_rectification(hq_user, inspector, store):
    active_checklist()
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    with pytest.raises(ValidationError, match="not been submitted"):
        services.inspection_approve(inspection=inspection, by=hq_user)
    with pytest.raises(ValidationError, match="an inspection that is draft\."):
        services.inspection_request_rectification(
            inspection=inspection,
            by=hq_user,
            items=[RectificationRequest("x", _today())],
        )
    assert RectificationItem.objects.count() == 0


def test_rectification_request_checks_every_item_before_writing_any(hq_user):
    inspection = submitted_inspection()
    other = submitted_inspection()
    with pytest.raises(ValidationError) as caught:
        services.inspection_request_rectification(
            inspection=inspection,
            by=hq_user,
            items=[
                RectificationRequest("Fine item", _today()),
                RectificationRequest("   ", _today()),
                RectificationRequest("Late", _today() - dt.timedelta(days=1)),
                RectificationRequest("Wrong", _today(), results_of(other)[0]),
            ],
        )
    assert caught.value.messages == [
        "Item 2: describe what to fix.",
        f"Item 3: the due date {(_today() - dt.timedelta(days=1)).isoformat()} is in the past.",
        "Item 4: that checklist item belongs to another inspection.",
    ]
    assert RectificationItem.objects.count() == 0
    inspection.refresh_from_db()
    assert inspection.status == Status.SUBMITTED


def test_rectification_request_needs_at_least_one_item(hq_user):
    inspection = submitted_inspection()
    with pytest.raises(ValidationError, match="at least one"):
        services.inspection_request_rectification(inspection=inspection, by=hq_user, items=[])


def _rectification(hq_user: object, *, due: dt.date | None = None) -> tuple[object, object]:
    store = StoreFactory()
    owner = owner_of(store)
    inspection = submitted_inspection(store=store)
    (item,) = services.inspection_request_rectification(
        inspection=inspection,
        by=hq_user,
        items=[RectificationRequest("Clean the chiller", due or _today())],
    )
    return item, owner


def test_marking_done_twice_is_refused_the_second_time(hq_user):
    item, owner = _rectification(hq_user)
    services.rectification_mark_done(
        rectification=item, by=owner, note="Done.", upload=upload(png_bytes())
    )
    with pytest.raises(ValidationError, match="already done"):
        services.rectification_mark_done(
            rectification=item, by=owner, note="Again.", upload=upload(png_bytes())
        )
    item.refresh_from_db()
    assert item.done_note == "Done."
    assert InspectionPhoto.objects.filter(uploaded_by=owner).count() == 1


def test_only_the_stores_owner_marks_items_done(hq_user, other_owner):
    item, _owner = _rectification(hq_user)
    inspector = item.inspection.inspector
    for intruder in (other_owner, inspector, hq_user):
        with pytest.raises(PermissionDenied):
            services.rectification_mark_done(
                rectification=item, by=intruder, note="x", upload=upload(png_bytes())
            )
    item.refresh_from_db()
    assert item.status == "open"
    assert InspectionPhoto.objects.count() == 0


def test_marking_done_needs_a_note_and_a_valid_photo(hq_user):
    item, owner = _rectification(hq_user)
    with pytest.raises(ValidationError, match="Say what was done"):
        services.rectification_mark_done(
            rectification=item, by=owner, note=" ", upload=upload(png_bytes())
        )
    with pytest.raises(PhotoRejected):
        services.rectification_mark_done(
            rectification=item, by=owner, note="Cleaned.", upload=upload(b"GIF89a-not-really")
        )
    item.refresh_from_db()
    assert (item.status, item.done_at, item.done_photo) == ("open", None, None)
    assert InspectionPhoto.objects.count() == 0


# --- overdue and history --------------------------------------------------------------------


def test_overdue_means_open_and_past_the_due_date(hq_user):
    today = _today()
    late, owner = _rectification(hq_user)
    RectificationItem.objects.filter(pk=late.pk).update(due_date=today - dt.timedelta(days=1))
    due_today, _owner = _rectification(hq_user, due=today)
    done_late, done_owner = _rectification(hq_user)
    services.rectification_mark_done(
        rectification=done_late, by=done_owner, note="ok", upload=upload(png_bytes())
    )
    RectificationItem.objects.filter(pk=done_late.pk).update(due_date=today - dt.timedelta(days=5))

    overdue = selectors.rectifications_overdue()

    assert list(overdue.values_list("pk", flat=True)) == [late.pk]
    assert selectors.rectifications_overdue_count() == 1
    late.refresh_from_db()
    due_today.refresh_from_db()
    assert (late.is_overdue, due_today.is_overdue) == (True, False)
    assert due_today.is_overdue_on(today + dt.timedelta(days=1)) is True
    assert list(
        selectors.rectifications_overdue(store_ids=[late.inspection.store_id]).values_list(
            "pk", flat=True
        )
    ) == [late.pk]
    assert selectors.rectifications_overdue(store_ids=[due_today.inspection.store_id]).count() == 0


@pytest.mark.parametrize(
    ("score", "passes"),
    [("79.99", False), ("80.00", True), ("80.01", True), ("100.00", True), (None, None)],
)
def test_a_score_passes_from_the_pass_line_up(score, passes):
    value = None if score is None else Decimal(score)
    assert score_passes(value) is passes
    assert Inspection(score=value).passed is passes


def test_the_pass_line_is_a_setting(settings):
    settings.INSPECTION_PASS_SCORE = Decimal("75.5")
    assert pass_score() == Decimal("75.5")
    assert score_passes(Decimal("75.49")) is False
    assert score_passes(Decimal("75.50")) is True
    assert selectors.ScorePoint(1, timezone.now(), Decimal("75.63")).passed is True


def test_score_history_is_oldest_first_and_skips_drafts():
    store = StoreFactory()
    inspector = assign_inspector(store)
    first = submitted_inspection(store=store, inspector=inspector, scores=(5, 5, 5))
    second = submitted_inspection(store=store, inspector=inspector, scores=(10, 10, 0))
    Inspection.objects.filter(pk=first.pk).update(
        submitted_at=timezone.now() - dt.timedelta(days=30)
    )
    services.inspection_start(store=store, inspector=inspector)  # a draft: not in the history

    history = selectors.store_score_history(store=store)

    assert [(point.inspection_id, point.score) for point in history] == [
        (first.pk, Decimal("50.00")),
        (second.pk, Decimal("71.43")),  # (3·10 + 2·10 + 2·0) / 7 × 10
    ]


def test_overview_query_count_does_not_grow_with_stores(
    hq_user, django_assert_max_num_queries, django_assert_num_queries
):
    inspector = assign_inspector(StoreFactory())
    submitted_inspection(store=inspector.store_roles.first().store, inspector=inspector)
    with django_assert_max_num_queries(10) as few:
        rows_few = selectors.inspection_overview(user=inspector)
    for _ in range(4):
        store = StoreFactory()
        assign_inspector(store, inspector)
        submitted_inspection(store=store, inspector=inspector)
    with django_assert_num_queries(len(few.captured_queries)):
        rows_many = selectors.inspection_overview(user=inspector)
    assert (len(rows_few), len(rows_many)) == (1, 5)
    assert all(row.last_score == Decimal("100.00") for row in rows_many)
    assert all(row.is_inspector for row in rows_many)


def test_results_keep_the_item_scores_the_inspector_gave(inspector, store):
    inspection = submitted_inspection(store=store, inspector=inspector, scores=(7, 9, 4))
    assert list(
        InspectionItemResult.objects.filter(inspection=inspection)
        .order_by("order")
        .values_list("score", flat=True)
    ) == [7, 9, 4]


def test_a_page_saved_twice_with_one_key_writes_once(inspector, store):
    """The scoring page's key is claimed first in the save's transaction: the second save of
    that page (a double tap past the view's look-up) adds no photo and changes no score."""
    active_checklist((3, 2, 2))
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    first, _second, _third = results_of(inspection)
    key = uuid.uuid4()

    def save(score: int) -> services.ResultsSaved:
        return services.inspection_results_save(
            inspection=inspection,
            by=inspector,
            entries=[ResultEntry(result_id=first.pk, score=score)],
            other_upload=upload(jpeg_bytes()),
            key=key,
        )

    assert save(7).photos_added == 1
    with pytest.raises(services.InspectionSaveRepeated) as repeated:
        save(3)
    assert repeated.value.save.key == key
    assert InspectionPhoto.objects.count() == 1
    first.refresh_from_db()
    assert first.score == 7


def test_a_refused_page_save_leaves_its_key_free(inspector, store):
    """Refused inside the transaction (an item of another inspection), the save rolls its key
    back with it: the corrected page saves with the same key."""
    active_checklist((3, 2, 2))
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    first, _second, _third = results_of(inspection)
    key = uuid.uuid4()
    with pytest.raises(ValidationError):
        services.inspection_results_save(
            inspection=inspection,
            by=inspector,
            entries=[ResultEntry(result_id=first.pk, score=7), ResultEntry(result_id=0, score=1)],
            key=key,
        )
    assert not InspectionSave.objects.exists()
    saved = services.inspection_results_save(
        inspection=inspection,
        by=inspector,
        entries=[ResultEntry(result_id=first.pk, score=7)],
        key=key,
    )
    assert saved.changed == [first.title]
    assert InspectionSave.objects.get().key == key
