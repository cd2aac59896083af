"""Inspection pages, photo downloads and the HQ admin: who may see and do what."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.stores.inspections import services
from apps.stores.inspections.services import RectificationRequest
from apps.stores.models import (
    ChecklistTemplate,
    Inspection,
    InspectionPhoto,
    InspectionSave,
    RectificationItem,
    StoreStaff,
)
from tests.factories import UserFactory
from tests.stores.test_inspections_support import (
    ChecklistItemFactory,
    active_checklist,
    assign_inspector,
    gps_exif,
    jpeg_bytes,
    png_bomb,
    png_bytes,
    results_of,
    submitted_inspection,
    upload,
    webp_bytes,
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


def _client(user: object | None) -> Client:
    client = Client()
    if user is not None and not isinstance(user, AnonymousUser):
        client.force_login(user)
    return client


def _photo_body(response: object) -> bytes:
    body = b"".join(response.streaming_content)
    response.close()
    return body


@pytest.fixture
def draft(store, inspector):
    active_checklist((3, 2, 2))
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    return inspection


@pytest.fixture
def draft_photo(draft, inspector):
    return services.inspection_photo_add(
        inspection=draft, by=inspector, upload=upload(png_bytes()), result=results_of(draft)[0]
    )


@pytest.fixture
def submitted(store, inspector, draft):
    services.inspection_photo_add(
        inspection=draft, by=inspector, upload=upload(jpeg_bytes()), result=results_of(draft)[1]
    )
    for result, score in zip(results_of(draft), (7, 9, 4), strict=True):
        services.inspection_result_save(result=result, by=inspector, score=score)
    return services.inspection_submit(inspection=draft, by=inspector)


@pytest.fixture
def other_inspection(other_store):
    return submitted_inspection(store=other_store)


# --- who may open what ----------------------------------------------------------------------


def test_anonymous_is_sent_to_login_everywhere(store, submitted):
    photo = submitted.photos.first()
    client = Client()
    for url in (
        reverse("inspections:index"),
        reverse("inspections:store", args=[store.pk]),
        reverse("inspections:detail", args=[submitted.pk]),
        reverse("inspections:photo", args=[photo.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("portal:login"))
    response = client.post(reverse("inspections:start", args=[store.pk]))
    assert response.status_code == 302
    assert Inspection.objects.count() == 1


def test_supplier_user_is_refused_everywhere(supplier_user, store, submitted):
    photo = submitted.photos.first()
    client = _client(supplier_user)
    for url in (
        reverse("inspections:index"),
        reverse("inspections:store", args=[store.pk]),
        reverse("inspections:detail", args=[submitted.pk]),
        reverse("inspections:photo", args=[photo.pk]),
    ):
        assert client.get(url).status_code == 403
    assert client.post(reverse("inspections:start", args=[store.pk])).status_code == 403
    assert Inspection.objects.count() == 1


def test_clerk_is_refused(store, submitted):
    clerk = UserFactory()
    StoreStaff.objects.create(user=clerk, store=store, role=StoreStaff.Role.CLERK)
    client = _client(clerk)
    assert client.get(reverse("inspections:store", args=[store.pk])).status_code == 403
    assert client.get(reverse("inspections:detail", args=[submitted.pk])).status_code == 403
    photo = submitted.photos.first()
    assert client.get(reverse("inspections:photo", args=[photo.pk])).status_code == 403


def test_inspector_sees_only_assigned_stores(inspector, store, other_store, other_inspection):
    client = _client(inspector)
    index = client.get(reverse("inspections:index"))
    assert index.status_code == 200
    assert [row.store.pk for row in index.context["rows"]] == [store.pk]

    assert client.get(reverse("inspections:store", args=[store.pk])).status_code == 200
    assert client.get(reverse("inspections:store", args=[other_store.pk])).status_code == 403
    assert client.get(reverse("inspections:detail", args=[other_inspection.pk])).status_code == 403
    other_photo = InspectionPhoto.objects.create(
        inspection=other_inspection,
        image="inspections/2025/01/" + "a" * 32 + ".jpg",
        width=1,
        height=1,
        content_type="image/jpeg",
        size_bytes=1,
        source_format="JPEG",
        uploaded_by=other_inspection.inspector,
    )
    assert client.get(reverse("inspections:photo", args=[other_photo.pk])).status_code == 403
    response = client.post(reverse("inspections:start", args=[other_store.pk]))
    assert response.status_code == 403
    assert Inspection.objects.filter(store=other_store).count() == 1


def test_the_index_shows_the_last_score_with_two_decimals(inspector, store, submitted):
    Inspection.objects.filter(pk=submitted.pk).update(score=Decimal("75.63"))

    html = _client(inspector).get(reverse("inspections:index")).content.decode()

    assert "Last score: <b>75.63</b>" in html
    assert "75.630" not in html


def test_unknown_ids_are_refused_like_forbidden_ones(inspector):
    client = _client(inspector)
    assert client.get(reverse("inspections:detail", args=[999_999])).status_code == 403
    assert client.get(reverse("inspections:photo", args=[999_999])).status_code == 403
    assert client.get(reverse("inspections:store", args=[999_999])).status_code == 403


def test_owner_sees_own_store_results_but_not_drafts(owner, store, submitted, inspector):
    client = _client(owner)
    page = client.get(reverse("inspections:store", args=[store.pk]))
    assert page.status_code == 200
    assert [inspection.pk for inspection in page.context["inspections"]] == [submitted.pk]
    detail = client.get(reverse("inspections:detail", args=[submitted.pk]))
    assert detail.status_code == 200
    assert detail.context["editable"] is False
    assert b'capture="environment"' not in detail.content  # read-only: no upload form

    new_draft, _created = services.inspection_start(store=store, inspector=inspector)
    draft_photo = services.inspection_photo_add(
        inspection=new_draft, by=inspector, upload=upload(png_bytes())
    )
    assert client.get(reverse("inspections:detail", args=[new_draft.pk])).status_code == 403
    assert client.get(reverse("inspections:photo", args=[draft_photo.pk])).status_code == 403
    submitted_photo = submitted.photos.first()
    assert client.get(reverse("inspections:photo", args=[submitted_photo.pk])).status_code == 200


def test_other_owner_is_refused(other_owner, store, submitted):
    client = _client(other_owner)
    assert client.get(reverse("inspections:store", args=[store.pk])).status_code == 403
    assert client.get(reverse("inspections:detail", args=[submitted.pk])).status_code == 403
    photo = submitted.photos.first()
    assert client.get(reverse("inspections:photo", args=[photo.pk])).status_code == 403


def test_hq_sees_everything_read_only_in_the_portal(hq_user, store, draft, draft_photo):
    client = _client(hq_user)
    assert client.get(reverse("inspections:store", args=[store.pk])).status_code == 200
    detail = client.get(reverse("inspections:detail", args=[draft.pk]))
    assert detail.status_code == 200
    assert detail.context["editable"] is False
    assert client.get(reverse("inspections:photo", args=[draft_photo.pk])).status_code == 200
    assert client.post(reverse("inspections:start", args=[store.pk])).status_code == 403


def test_store_page_links_to_inspections(owner, store):
    response = _client(owner).get(reverse("portal:store", args=[store.pk]))
    assert reverse("inspections:store", args=[store.pk]).encode() in response.content


# --- photos ---------------------------------------------------------------------------------


def test_photo_is_served_with_safe_headers(inspector, draft_photo):
    response = _client(inspector).get(reverse("inspections:photo", args=[draft_photo.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == (
        f'inline; filename="inspection-{draft_photo.inspection_id}-photo-{draft_photo.pk}.jpg"'
    )
    assert response["Cache-Control"] == "private, max-age=3600"
    with default_storage.open(draft_photo.image.name, "rb") as handle:
        assert _photo_body(response) == handle.read()


def test_media_is_not_served_publicly(inspector, draft_photo):
    response = _client(inspector).get("/media/" + draft_photo.image.name)
    assert response.status_code == 404


# --- the inspector's phone flow -------------------------------------------------------------


def test_inspector_starts_scores_with_photos_and_submits(inspector, store):
    active_checklist((3, 2, 2), photo_required=(True, False, False))
    client = _client(inspector)

    response = client.post(reverse("inspections:start", args=[store.pk]))
    inspection = Inspection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("inspections:detail", args=[inspection.pk])
    assert client.post(reverse("inspections:start", args=[store.pk])).status_code == 302
    assert Inspection.objects.count() == 1  # a double tap reuses the draft

    page = client.get(reverse("inspections:detail", args=[inspection.pk]))
    assert page.context["editable"] is True
    assert page.content.count(b'accept="image/*" capture="environment"') == 4  # 3 items + other

    first = results_of(inspection)[0]
    body = _scoring_body(inspection, ["7", "9", "4"])
    body[f"item-{first.pk}-note"] = "Mostly full"
    body[f"item-{first.pk}-photo"] = upload(jpeg_bytes(exif=gps_exif()))
    response = client.post(reverse("inspections:save", args=[inspection.pk]), body)
    assert response.status_code == 302
    assert response["Location"] == reverse("inspections:detail", args=[inspection.pk])

    response = client.post(
        reverse("inspections:save", args=[inspection.pk]),
        _scoring_body(inspection, ["7", "9", "4"], action="submit", **{CONFIRM_SUBMIT: "on"}),
    )
    assert response.status_code == 302
    inspection.refresh_from_db()
    assert (inspection.status, inspection.score) == (Status.SUBMITTED, Decimal("67.14"))
    first.refresh_from_db()
    assert (first.score, first.note) == (7, "Mostly full")
    photo = first.photos.get()
    assert (photo.uploaded_by, photo.source_format) == (inspector, "JPEG")


# The Submit button's required "cannot undo" box (`SubmitConfirmForm`, prefix "submit").
CONFIRM_SUBMIT = "submit-confirmed"


def _scoring_body(inspection: Inspection, scores: list[str], **extra: object) -> dict:
    """What the scoring form posts: every item's score and note (as the page renders them),
    with a fresh key unless `key=` is given."""
    body: dict[str, object] = {"key": str(uuid.uuid4())}
    for result, score in zip(results_of(inspection), scores, strict=True):
        body[f"item-{result.pk}-score"] = score
        body[f"item-{result.pk}-note"] = result.note
    return body | extra


def _scores(inspection: Inspection) -> list[int | None]:
    return [result.score for result in results_of(inspection)]


def test_the_draft_page_is_one_form_holding_every_score_and_every_button(inspector, draft):
    html = _client(inspector).get(reverse("inspections:detail", args=[draft.pk])).content.decode()

    forms = re.findall(r"<form .*?</form>", html, flags=re.DOTALL)
    (scoring,) = [form for form in forms if 'id="scoring"' in form]
    assert f'action="{reverse("inspections:save", args=[draft.pk])}"' in scoring
    for result in results_of(draft):
        assert f'name="item-{result.pk}-score"' in scoring
        assert f'name="item-{result.pk}-photo"' in scoring
    assert 'name="other-photo"' in scoring
    assert scoring.count('name="action" value="save"') == 4  # one per card
    assert 'name="action" value="submit"' in scoring
    assert f'<input type="checkbox" name="{CONFIRM_SUBMIT}" id=' in scoring
    # Not `required` in HTML: the page's Save buttons post the same form, unticked.
    assert f'name="{CONFIRM_SUBMIT}" required' not in scoring
    assert all("-score" not in form for form in forms if form is not scoring)


def test_the_draft_page_counts_scored_items_with_the_same_spacing_as_the_save_message(
    inspector, draft
):
    """Chinese: "已评分 0/3 项。" as after a save, not "已评分0/3项。" run together."""
    html = (
        _client(inspector)
        .get(reverse("inspections:detail", args=[draft.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
        .content.decode()
    )
    assert "已评分 0/3 项。" in html


def test_one_save_keeps_every_score_typed_on_the_page(inspector, draft):
    """The tester's loss: every item scored, one Save tapped, only that item was kept."""
    first, second, third = results_of(draft)
    body = _scoring_body(draft, ["7", "9", "4"], action="save")
    body[f"item-{second.pk}-note"] = "  Two gaps  "

    client = _client(inspector)
    response = client.post(reverse("inspections:save", args=[draft.pk]), body)

    assert response.status_code == 302
    assert response["Location"] == reverse("inspections:detail", args=[draft.pk])
    assert _scores(draft) == [7, 9, 4]
    second.refresh_from_db()
    assert second.note == "Two gaps"
    page = client.get(response["Location"]).content.decode()
    assert '<li class="message-success">Saved 3 items: Check 1; Check 2; Check 3.</li>' in page
    assert '<li class="message-success">3 of 3 items scored.</li>' in page


def test_saving_again_writes_only_what_changed_and_says_so(inspector, draft):
    client = _client(inspector)
    url = reverse("inspections:save", args=[draft.pk])
    client.post(url, _scoring_body(draft, ["7", "9", ""]))
    first = results_of(draft)[0]
    saved_at = first.updated_at

    response = client.post(url, _scoring_body(draft, ["7", "9", "4"]), follow=True)

    assert "Saved 1 item: Check 3." in response.content.decode()
    first.refresh_from_db()
    assert first.updated_at == saved_at
    response = client.post(url, _scoring_body(draft, ["7", "9", "4"]), follow=True)
    assert "Nothing changed" in response.content.decode()


def test_a_refused_photo_saves_nothing_and_keeps_what_was_typed(inspector, draft):
    first, second, third = results_of(draft)
    body = _scoring_body(draft, ["7", "9", "4"])
    body[f"item-{second.pk}-photo"] = upload(b"hello, I am text", name="IMG_0001.jpg")
    body[f"item-{third.pk}-photo"] = upload(jpeg_bytes())

    response = _client(inspector).post(reverse("inspections:save", args=[draft.pk]), body)

    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved." in html
    item = html[html.index(f'id="item-{second.pk}"') : html.index(f'id="item-{third.pk}"')]
    assert "The file is not a JPEG, PNG or WebP image" in item
    assert '<option value="9" selected>9</option>' in item
    assert _scores(draft) == [None, None, None]
    assert InspectionPhoto.objects.count() == 0


def test_a_photo_too_large_is_reported_on_its_item_and_nothing_is_saved(inspector, draft, settings):
    settings.INSPECTION_PHOTO_MAX_BYTES = 2000
    first, second, _third = results_of(draft)
    body = _scoring_body(draft, ["7", "9", "4"])
    body[f"item-{first.pk}-photo"] = upload(b"x" * 5000, name="big.jpg")

    response = _client(inspector).post(reverse("inspections:save", args=[draft.pk]), body)

    assert response.status_code == 400
    html = response.content.decode()
    item = html[html.index(f'id="item-{first.pk}"') : html.index(f'id="item-{second.pk}"')]
    assert "The photo is too large" in item
    assert _scores(draft) == [None, None, None]


def test_photos_and_a_general_photo_are_saved_with_the_scores(inspector, draft):
    first, _second, third = results_of(draft)
    body = _scoring_body(draft, ["7", "9", "4"])
    body[f"item-{first.pk}-photo"] = upload(jpeg_bytes())
    body[f"item-{third.pk}-photo"] = upload(png_bytes())
    body["other-photo"] = upload(webp_bytes())

    response = _client(inspector).post(
        reverse("inspections:save", args=[draft.pk]), body, follow=True
    )

    assert "3 photos added." in response.content.decode()
    assert sorted(
        (photo.result_id or 0, photo.source_format) for photo in InspectionPhoto.objects.all()
    ) == sorted([(first.pk, "JPEG"), (third.pk, "PNG"), (0, "WEBP")])
    assert _scores(draft) == [7, 9, 4]


def test_a_double_tap_on_save_adds_the_photos_once(inspector, draft):
    """The page's key is claimed in the save's transaction: the second tap of the same page (a
    double tap, a resent form) saves nothing again and adds no photo twice."""
    client = _client(inspector)
    first, _second, _third = results_of(draft)
    page = client.get(reverse("inspections:detail", args=[draft.pk]))
    key = page.context["key"]
    assert f'name="key" value="{key}"' in page.content.decode()
    url = reverse("inspections:save", args=[draft.pk])

    def tap() -> object:
        body = _scoring_body(draft, ["7", "9", "4"], key=str(key))
        body[f"item-{first.pk}-photo"] = upload(jpeg_bytes())
        body["other-photo"] = upload(png_bytes())
        return client.post(url, body)

    assert tap().status_code == 302
    again = tap()

    assert again.status_code == 302
    assert again["Location"] == reverse("inspections:detail", args=[draft.pk])
    saved = InspectionSave.objects.get()
    time = timezone.localtime(saved.saved_at).strftime("%H:%M")
    assert [str(message) for message in get_messages(again.wsgi_request)][-1] == (
        f"This page was already saved at {time}; nothing was saved again."
    )
    assert InspectionPhoto.objects.count() == 2
    assert (saved.inspection, saved.key, saved.saved_by) == (draft, key, inspector)
    assert client.get(reverse("inspections:detail", args=[draft.pk])).context["key"] != key


@pytest.mark.parametrize("key", ["", "not-a-key", None])
def test_a_save_without_its_key_writes_nothing_and_comes_back_as_typed(inspector, draft, key):
    """A client that drops the hidden key would add its photo once per tap: the post is
    refused with what was typed and a fresh key, and the next save (with it) writes once."""
    client = _client(inspector)
    url = reverse("inspections:save", args=[draft.pk])
    body = _scoring_body(draft, ["7", "9", "4"], key=key)
    if key is None:
        del body["key"]
    body["other-photo"] = upload(jpeg_bytes())

    response = client.post(url, body)

    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved: this form was sent without its one-time key" in html
    assert '<option value="9" selected>9</option>' in html
    fresh = response.context["key"]
    assert isinstance(fresh, uuid.UUID)
    assert f'name="key" value="{fresh}"' in html
    assert _scores(draft) == [None, None, None]
    assert not InspectionPhoto.objects.exists()
    assert not InspectionSave.objects.exists()
    resent = _scoring_body(draft, ["7", "9", "4"], key=str(fresh))
    resent["other-photo"] = upload(jpeg_bytes())
    assert client.post(url, resent).status_code == 302
    assert _scores(draft) == [7, 9, 4]
    assert InspectionPhoto.objects.count() == 1


def test_a_refused_save_keeps_its_key_for_the_corrected_page(inspector, draft):
    first, _second, _third = results_of(draft)
    client = _client(inspector)
    url = reverse("inspections:save", args=[draft.pk])
    key = str(uuid.uuid4())
    refused = _scoring_body(draft, ["7", "9", "4"], key=key)
    refused[f"item-{first.pk}-photo"] = upload(b"not an image", name="a.jpg")
    response = client.post(url, refused)
    assert response.status_code == 400
    assert str(response.context["key"]) == key
    assert not InspectionSave.objects.exists()
    assert client.post(url, _scoring_body(draft, ["7", "9", "4"], key=key)).status_code == 302
    assert InspectionSave.objects.get().key == uuid.UUID(key)


def test_removing_a_photo_keeps_the_scores_typed_meanwhile(inspector, draft, draft_photo):
    response = _client(inspector).post(
        reverse("inspections:save", args=[draft.pk]),
        _scoring_body(draft, ["7", "9", "4"], remove_photo=str(draft_photo.pk)),
        follow=True,
    )

    assert "1 photo removed." in response.content.decode()
    assert InspectionPhoto.objects.count() == 0
    assert _scores(draft) == [7, 9, 4]


def test_submit_saves_the_scores_typed_on_the_page_first(inspector, store, draft):
    response = _client(inspector).post(
        reverse("inspections:save", args=[draft.pk]),
        _scoring_body(draft, ["7", "9", "4"], action="submit", **{CONFIRM_SUBMIT: "on"}),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("inspections:store", args=[store.pk])
    draft.refresh_from_db()
    assert (draft.status, draft.score) == (Status.SUBMITTED, Decimal("67.14"))


def test_submit_with_an_item_left_unscored_keeps_the_others_and_says_which(inspector, draft):
    response = _client(inspector).post(
        reverse("inspections:save", args=[draft.pk]),
        _scoring_body(draft, ["7", "", "4"], action="submit", **{CONFIRM_SUBMIT: "on"}),
        follow=True,
    )

    html = response.content.decode()
    assert "Saved 2 items: Check 1; Check 3." in html
    assert "Not scored yet: Check 2." in html
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert _scores(draft) == [7, None, 4]


def test_submit_without_the_cannot_undo_box_saves_the_page_and_refuses_only_the_submission(
    inspector, draft
):
    """Submitting cannot be undone, so it asks for a ticked box as the supplier's Ship does.
    Unticked, the post is saved as Save all saves it (scores, notes and the photo chosen on
    the phone are kept, the key is claimed) and the saved draft comes back with the reason."""
    body = _scoring_body(draft, ["7", "9", "4"], action="submit")
    (first, *_rest) = results_of(draft)
    body[f"item-{first.pk}-note"] = "Shelf half empty"
    body[f"item-{first.pk}-photo"] = upload(jpeg_bytes())
    client = _client(inspector)
    response = client.post(reverse("inspections:save", args=[draft.pk]), body)

    assert response.status_code == 200
    html = response.content.decode()
    reason = (
        "Not submitted: tick the box to confirm the scores are final. A submitted inspection "
        "can no longer be changed."
    )
    assert html.count(reason) == 2  # at the top of the page and beside the box
    assert "Nothing was saved" not in html
    assert "1 photo added." in html
    assert '<option value="7" selected>' in html
    assert "Shelf half empty" in html
    [box] = re.findall(rf'<input type="checkbox" name="{CONFIRM_SUBMIT}"[^>]*>', html)
    assert "checked" not in box
    assert f'name="key" value="{body["key"]}"' not in html  # the claimed key is not reused
    draft.refresh_from_db()
    assert (draft.status, draft.submitted_at, draft.score) == (Status.DRAFT, None, None)
    assert _scores(draft) == [7, 9, 4]
    assert [result.note for result in results_of(draft)] == ["Shelf half empty", "", ""]
    photo = first.photos.get()
    assert (photo.uploaded_by, photo.source_format) == (inspector, "JPEG")
    assert InspectionSave.objects.filter(inspection=draft, key=body["key"]).count() == 1

    ticked = _scoring_body(draft, ["7", "9", "4"], action="submit", **{CONFIRM_SUBMIT: "on"})
    response = client.post(reverse("inspections:save", args=[draft.pk]), ticked)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Status.SUBMITTED
    assert first.photos.count() == 1


def test_an_unticked_submit_that_cannot_be_saved_shows_both_reasons(inspector, draft):
    """A refused save (here a score out of range) writes nothing; the box's reason is shown
    beside the save's own error."""
    body = _scoring_body(draft, ["7", "11", "4"], action="submit")
    response = _client(inspector).post(reverse("inspections:save", args=[draft.pk]), body)

    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved" in html
    assert "Not submitted: tick the box" in html
    assert _scores(draft) == [None, None, None]
    assert not InspectionSave.objects.filter(inspection=draft).exists()


def test_only_the_drafts_inspector_may_save_it(store, owner, hq_user, draft):
    colleague = assign_inspector(store)
    body = _scoring_body(draft, ["1", "1", "1"])
    for user in (colleague, owner, hq_user):
        response = _client(user).post(reverse("inspections:save", args=[draft.pk]), body)
        assert response.status_code == 403
    assert _scores(draft) == [None, None, None]
    assert _client(None).post(reverse("inspections:save", args=[draft.pk]), body).status_code == 302


def test_decompression_bomb_is_refused_by_the_page(inspector, draft):
    result = results_of(draft)[0]
    body = _scoring_body(draft, ["8", "", ""])
    body[f"item-{result.pk}-photo"] = upload(png_bomb(30_000, 30_000), "b.png", "image/png")
    response = _client(inspector).post(reverse("inspections:save", args=[draft.pk]), body)
    assert response.status_code == 400
    assert "too many pixels" in response.content.decode()
    assert _scores(draft) == [None, None, None]
    assert InspectionPhoto.objects.count() == 0


def test_oversized_upload_is_dropped_while_streaming(inspector, draft, settings):
    settings.INSPECTION_PHOTO_MAX_BYTES = 2000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000  # would otherwise spill to a temporary file
    result = results_of(draft)[0]
    big = png_bytes((300, 300), text={"padding": "z" * 5000})
    body = _scoring_body(draft, ["6", "", ""])
    body[f"item-{result.pk}-photo"] = upload(big, "big.png", "image/png")
    response = _client(inspector).post(reverse("inspections:save", args=[draft.pk]), body)
    assert response.status_code == 400
    assert response.wsgi_request.photo_upload_guard.exceeded is True  # dropped mid-stream
    assert "The photo is too large: at most" in response.content.decode()
    assert _scores(draft) == [None, None, None]
    assert InspectionPhoto.objects.count() == 0


def test_upload_views_still_enforce_csrf(inspector, draft):
    client = Client(enforce_csrf_checks=True)
    client.force_login(inspector)
    result = results_of(draft)[0]
    body = _scoring_body(draft, ["5", "", ""])
    body[f"item-{result.pk}-photo"] = upload(png_bytes())
    response = client.post(reverse("inspections:save", args=[draft.pk]), body)
    assert response.status_code == 403
    assert _scores(draft) == [None, None, None]
    assert InspectionPhoto.objects.count() == 0


def test_the_one_item_one_photo_and_submit_endpoints_are_gone(inspector, draft, draft_photo):
    """Kept for pages loaded before the scoring form, they saved without its key, so a double
    tap added a photo twice; nothing posts to them any more. Every write goes through the
    scoring form (`inspections:save`)."""
    client = _client(inspector)
    result = results_of(draft)[0]
    base = f"/portal/inspections/{draft.pk}"
    for url, body in (
        (f"{base}/items/{result.pk}/", {"score": "8"}),
        (f"{base}/photos/", {"photo": upload(webp_bytes())}),
        (f"{base}/photos/{draft_photo.pk}/delete/", {}),
        (f"{base}/submit/", {}),
    ):
        assert client.post(url, body).status_code == 404
    assert _scores(draft) == [None, None, None]
    assert list(InspectionPhoto.objects.all()) == [draft_photo]
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


# --- owner: rectification -------------------------------------------------------------------


@pytest.fixture
def rectification(hq_user, submitted):
    (item,) = services.inspection_request_rectification(
        inspection=submitted,
        by=hq_user,
        items=[RectificationRequest("Wipe the chiller glass", timezone.localdate())],
    )
    return item


def test_owner_marks_an_item_done_with_a_photo(owner, rectification):
    client = _client(owner)
    detail = client.get(reverse("inspections:detail", args=[rectification.inspection_id]))
    assert b"Wipe the chiller glass" in detail.content
    assert b'capture="environment"' in detail.content
    response = client.post(
        reverse("inspections:rectification_done", args=[rectification.pk]),
        {"note": "Wiped.", "photo": upload(jpeg_bytes(exif=gps_exif()))},
    )
    assert response.status_code == 302
    rectification.refresh_from_db()
    assert (rectification.status, rectification.done_by, rectification.done_note) == (
        "done",
        owner,
        "Wiped.",
    )
    assert rectification.inspection.status == Status.RECTIFIED
    body = _photo_body(client.get(reverse("inspections:photo", args=[rectification.done_photo_id])))
    assert b"Exif" not in body


def test_general_photos_stay_visible_while_rectification_items_are_open(owner, store, inspector):
    active_checklist((1,))
    inspection, _created = services.inspection_start(store=store, inspector=inspector)
    general = services.inspection_photo_add(
        inspection=inspection, by=inspector, upload=upload(png_bytes())
    )
    services.inspection_result_save(result=results_of(inspection)[0], by=inspector, score=5)
    services.inspection_submit(inspection=inspection, by=inspector)
    services.inspection_request_rectification(
        inspection=inspection,
        by=UserFactory(is_staff=True),
        items=[RectificationRequest("Tidy up", timezone.localdate())],
    )  # an open item: its done_photo is NULL

    page = _client(owner).get(reverse("inspections:detail", args=[inspection.pk]))

    assert [photo.pk for photo in page.context["general_photos"]] == [general.pk]


def test_owner_must_send_a_photo(owner, rectification):
    response = _client(owner).post(
        reverse("inspections:rectification_done", args=[rectification.pk]), {"note": "Wiped."}
    )
    assert response.status_code == 400
    rectification.refresh_from_db()
    assert rectification.status == "open"


@pytest.mark.parametrize("who", ["other_owner", "inspector", "supplier_user", "hq_user"])
def test_only_the_owner_may_mark_items_done(request, who, rectification):
    user = request.getfixturevalue(who)
    photos_before = InspectionPhoto.objects.count()
    response = _client(user).post(
        reverse("inspections:rectification_done", args=[rectification.pk]),
        {"note": "x", "photo": upload(png_bytes())},
    )
    assert response.status_code == 403
    rectification.refresh_from_db()
    assert rectification.status == "open"
    assert InspectionPhoto.objects.count() == photos_before


def test_overdue_items_show_on_the_owners_pages(owner, store, rectification):
    RectificationItem.objects.filter(pk=rectification.pk).update(
        due_date=timezone.localdate() - dt.timedelta(days=2)
    )
    client = _client(owner)
    page = client.get(reverse("inspections:store", args=[store.pk]))
    assert [item.pk for item in page.context["rectifications"]] == [rectification.pk]
    assert "Overdue" in page.content.decode()
    index = client.get(reverse("inspections:index"))
    (row,) = index.context["rows"]
    assert (row.open_rectifications, row.overdue_rectifications) == (1, 1)


def test_store_page_shows_the_score_history(owner, store, submitted):
    page = _client(owner).get(reverse("inspections:store", args=[store.pk]))
    assert [point.score for point in page.context["history"]] == [Decimal("67.14")]
    assert b"<polyline" in page.content
    assert b"67.14" in page.content


def _svg_y(ticks: dict[int, float], score: float) -> float:
    """Where the axis puts `score`: linear between the labelled ticks 0 and 100."""
    return ticks[0] + (ticks[100] - ticks[0]) * score / 100


def test_score_chart_has_a_labelled_score_axis_and_marks_the_pass_line(
    settings, owner, store, inspector
):
    older = submitted_inspection(store=store, inspector=inspector)
    newer = submitted_inspection(store=store, inspector=inspector)
    Inspection.objects.filter(pk=older.pk).update(
        score=Decimal("70.00"), submitted_at=timezone.now() - dt.timedelta(days=30)
    )
    Inspection.objects.filter(pk=newer.pk).update(score=Decimal("88.00"))
    url = reverse("inspections:store", args=[store.pk])

    page = _client(owner).get(url)

    chart = page.context["chart"]
    ticks = {tick.value: tick.y for tick in chart["ticks"]}
    assert list(ticks) == [0, 20, 40, 60, 80, 100]
    assert (ticks[0], ticks[100]) == (chart["bottom"], chart["top"])
    assert [point.y for point in chart["points"]] == [
        pytest.approx(_svg_y(ticks, 70), abs=0.1),
        pytest.approx(_svg_y(ticks, 88), abs=0.1),
    ]
    assert chart["pass_y"] == ticks[80]
    html = page.content.decode()
    svg = html[html.index("<svg") : html.index("</svg>")]
    for value in ticks:
        assert f'text-anchor="end" dominant-baseline="middle">{value}</text>' in svg
    assert f'y1="{chart["pass_y"]}" y2="{chart["pass_y"]}" class="pass-line"' in svg
    assert '<tspan dy="-2">pass line</tspan>' in svg
    assert ">80</tspan></text>" in svg

    settings.INSPECTION_PASS_SCORE = Decimal("75")
    page = _client(owner).get(url)
    assert page.context["chart"]["pass_y"] == pytest.approx(_svg_y(ticks, 75), abs=0.1)
    assert ">75</tspan></text>" in page.content.decode()
    assert "Dashed line: the pass line, 75 points." in page.content.decode()


# --- the pass line --------------------------------------------------------------------------


def _badge(passed: bool) -> str:
    if passed:
        return '<span class="badge score-passed">Pass</span>'
    return '<span class="badge score-failed">Fail</span>'


@pytest.mark.parametrize(("score", "passed"), [("79.99", False), ("80.00", True), ("80.01", True)])
def test_pass_label_follows_the_pass_line_not_the_review_status(
    hq_user, owner, inspector, store, submitted, score, passed
):
    Inspection.objects.filter(pk=submitted.pk).update(status=Status.APPROVED, score=Decimal(score))
    badge = _badge(passed)

    detail = _client(owner).get(reverse("inspections:detail", args=[submitted.pk]))
    assert f"<b>{score}</b> / 100 {badge}" in detail.content.decode()
    assert "(pass line 80)" in detail.content.decode()
    store_page = _client(owner).get(reverse("inspections:store", args=[store.pk]))
    assert store_page.content.decode().count(f"{score} {badge}") == 2  # history, inspections
    assert _badge(not passed) not in store_page.content.decode()
    index = _client(inspector).get(reverse("inspections:index")).content.decode()
    assert f"<b>{score}</b> {badge}" in index

    hq = _client(hq_user)
    changelist = reverse("admin:stores_inspection_changelist")
    passing = hq.get(changelist + "?passed=yes").context["cl"].result_list
    failing = hq.get(changelist + "?passed=no").context["cl"].result_list
    assert ([i.pk for i in passing], [i.pk for i in failing]) == (
        ([submitted.pk], []) if passed else ([], [submitted.pk])
    )
    review = hq.get(reverse("admin:stores_inspection_review", args=[submitted.pk]))
    assert ("<b>Fail</b>" in review.content.decode()) is not passed


def test_pass_label_follows_the_configured_pass_line(settings, owner, store, submitted):
    Inspection.objects.filter(pk=submitted.pk).update(
        status=Status.APPROVED, score=Decimal("75.63")
    )
    url = reverse("inspections:detail", args=[submitted.pk])
    assert _badge(False) in _client(owner).get(url).content.decode()

    settings.INSPECTION_PASS_SCORE = Decimal("75")
    html = _client(owner).get(url).content.decode()
    assert _badge(True) in html
    assert "(pass line 75)" in html


def test_an_approved_inspection_below_the_line_does_not_read_as_passed_in_chinese(
    settings, owner, store, submitted
):
    """The tester's case: 75.63 approved by HQ was shown as 已通过 (passed)."""
    settings.LANGUAGE_CODE = "zh-hans"
    Inspection.objects.filter(pk=submitted.pk).update(
        status=Status.APPROVED, score=Decimal("75.63")
    )
    client = _client(owner)
    for url in (
        reverse("inspections:detail", args=[submitted.pk]),
        reverse("inspections:store", args=[store.pk]),
    ):
        html = client.get(url).content.decode()
        assert "已通过" not in html
        assert "已审核" in html
        assert '<span class="badge score-failed">未达标</span>' in html


# --- HQ admin -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "checklisttemplate",
        "checklistitem",
        "inspection",
        "inspectionitemresult",
        "inspectionphoto",
        "rectificationitem",
    ],
)
def test_admin_changelists_and_forms_render(hq_user, submitted, rectification, model):
    client = _client(hq_user)
    assert client.get(reverse(f"admin:stores_{model}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:stores_{model}_changelist") + "?q=S").status_code == 200
    model_class = {
        "checklisttemplate": ChecklistTemplate,
        "checklistitem": ChecklistTemplate.items.rel.related_model,
        "inspection": Inspection,
        "inspectionitemresult": Inspection.results.rel.related_model,
        "inspectionphoto": InspectionPhoto,
        "rectificationitem": RectificationItem,
    }[model]
    obj = model_class.objects.first()
    assert client.get(reverse(f"admin:stores_{model}_change", args=[obj.pk])).status_code == 200


def test_admin_checklist_add_form_renders_with_item_inline(hq_user):
    response = _client(hq_user).get(reverse("admin:stores_checklisttemplate_add"))
    assert response.status_code == 200
    assert b"items-TOTAL_FORMS" in response.content


def test_admin_lists_overdue_items_with_a_count(hq_user, rectification):
    client = _client(hq_user)
    on_time = client.get(reverse("admin:stores_rectificationitem_changelist") + "?overdue=yes")
    assert on_time.context["overdue_count"] == 0
    assert list(on_time.context["cl"].result_list) == []

    RectificationItem.objects.filter(pk=rectification.pk).update(
        due_date=timezone.localdate() - dt.timedelta(days=1)
    )
    late = client.get(reverse("admin:stores_rectificationitem_changelist") + "?overdue=yes")
    assert late.context["overdue_count"] == 1
    assert [item.pk for item in late.context["cl"].result_list] == [rectification.pk]
    assert "1 rectification item is overdue." in late.content.decode()
    inspections = client.get(reverse("admin:stores_inspection_changelist") + "?overdue=yes")
    assert [i.pk for i in inspections.context["cl"].result_list] == [rectification.inspection_id]
    assert inspections.context["overdue_count"] == 1


def test_admin_review_requests_rectification_then_approves(hq_user, owner, submitted):
    client = _client(hq_user)
    url = reverse("admin:stores_inspection_review", args=[submitted.pk])
    assert client.get(url).status_code == 200
    due = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    first_result = results_of(submitted)[0]
    response = client.post(
        url,
        {
            "note": "Please fix",
            "rectification-TOTAL_FORMS": "3",
            "rectification-INITIAL_FORMS": "0",
            "rectification-MIN_NUM_FORMS": "0",
            "rectification-MAX_NUM_FORMS": "20",
            "rectification-0-description": "Refill shelf A",
            "rectification-0-due_date": due,
            "rectification-0-result": str(first_result.pk),
            "rectification-1-description": "Fix price tags",
            "rectification-1-due_date": due,
            "rectification-2-description": "",
            "_rectify": "1",
        },
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == Status.RECTIFICATION_REQUESTED
    assert list(
        submitted.rectifications.order_by("id").values_list("description", "result_id")
    ) == [("Refill shelf A", first_result.pk), ("Fix price tags", None)]

    refused = client.post(url, {"note": "", "_approve": "1"})
    assert refused.status_code == 200
    assert "2 rectification items are still open." in refused.content.decode()

    for item in submitted.rectifications.all():
        services.rectification_mark_done(
            rectification=item, by=owner, note="done", upload=upload(png_bytes())
        )
    response = client.post(url, {"note": "All good", "_approve": "1"})
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert (submitted.status, submitted.review_note) == (Status.CLOSED, "All good")


def test_admin_review_refuses_a_past_due_date_and_writes_nothing(hq_user, submitted):
    url = reverse("admin:stores_inspection_review", args=[submitted.pk])
    response = _client(hq_user).post(
        url,
        {
            "note": "",
            "rectification-TOTAL_FORMS": "1",
            "rectification-INITIAL_FORMS": "0",
            "rectification-0-description": "Too late",
            "rectification-0-due_date": "2000-01-01",
            "_rectify": "1",
        },
    )
    assert response.status_code == 200
    assert "The due date is in the past." in response.content.decode()
    assert RectificationItem.objects.count() == 0


def test_admin_approve_action_calls_the_service(hq_user, submitted, other_inspection):
    response = _client(hq_user).post(
        reverse("admin:stores_inspection_changelist"),
        {"action": "approve", "_selected_action": [submitted.pk, other_inspection.pk]},
    )
    assert response.status_code == 302
    assert set(Inspection.objects.values_list("status", flat=True)) == {Status.APPROVED}


def test_admin_activate_action(hq_user):
    first = active_checklist()
    second = ChecklistTemplate.objects.create(name="Summer", version=1)
    ChecklistItemFactory(template=second)
    _client(hq_user).post(
        reverse("admin:stores_checklisttemplate_changelist"),
        {"action": "activate", "_selected_action": [second.pk]},
    )
    assert list(ChecklistTemplate.objects.filter(active=True)) == [second]
    first.refresh_from_db()
    assert first.active is False


def test_admin_freezes_items_of_a_checklist_in_use(hq_user, submitted):
    item = submitted.template.items.first()
    response = _client(hq_user).get(reverse("admin:stores_checklistitem_change", args=[item.pk]))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False


def test_owners_and_inspectors_cannot_enter_the_admin(owner, inspector):
    for user in (owner, inspector):
        response = _client(user).get(reverse("admin:stores_inspection_changelist"))
        assert response.status_code == 302
        assert re.search(r"/admin/login/", response["Location"])


def test_hqs_review_page_names_the_inspector_by_their_display_name(hq_user, inspector, submitted):
    inspector.first_name = "李明"
    inspector.save(update_fields=["first_name"])
    review = _client(hq_user).get(reverse("admin:stores_inspection_review", args=[submitted.pk]))
    page = review.content.decode()
    assert f"{submitted.template} · 李明 ·" in page
    assert f"· {inspector.username} ·" not in page


def test_a_photo_whose_file_is_gone_is_not_found_and_logged(inspector, draft_photo, caplog):
    draft_photo.image.storage.delete(draft_photo.image.name)

    with caplog.at_level("WARNING", logger="linli.files"):
        response = _client(inspector).get(reverse("inspections:photo", args=[draft_photo.pk]))

    assert response.status_code == 404
    assert [record.getMessage() for record in caplog.records if record.name == "linli.files"] == [
        f"stored file missing: {draft_photo.image.name} (stores.InspectionPhoto.image)"
    ]
