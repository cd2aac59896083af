"""Forms for the inspection pages (portal) and the HQ review page (admin).

File fields are plain `FileField`s on purpose: Django's `ImageField` would open the upload with
Pillow without our limits. All photo validation happens in `images.photo_process`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.stores.inspections.models import ITEM_SCORE_MAX
from apps.stores.inspections.services import RectificationRequest, ResultEntry
from apps.stores.models import Inspection, InspectionItemResult
from linli.widgets import NativeDateInput

SCORE_CHOICES = [("", _("— not scored —"))] + [
    (str(value), str(value)) for value in range(ITEM_SCORE_MAX, -1, -1)
]


class PhoneCameraInput(forms.FileInput):
    """A file input that opens the phone's back camera. `accept` is only a hint to the phone:
    the server decides by the content."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__({"accept": "image/*", "capture": "environment", **(attrs or {})})


class ResultForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Score (0–10)"),
        choices=SCORE_CHOICES,
        coerce=int,
        required=False,
        empty_value=None,
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    photo = forms.FileField(
        label=_("Add a photo"), required=False, widget=PhoneCameraInput(), allow_empty_file=True
    )


class OtherPhotoForm(forms.Form):
    """The photo for the inspection as a whole, inside the scoring form (optional there)."""

    photo = forms.FileField(
        label=_("Add a photo"), required=False, widget=PhoneCameraInput(), allow_empty_file=True
    )


class SubmitConfirmForm(forms.Form):
    """Submitting for HQ review cannot be undone (nothing of a submitted inspection can be
    changed): the inspector ticks that the scores are final, as the supplier ticks that the
    goods have left before shipping (a plain checkbox, no JavaScript, required by the server).
    No HTML `required`: the box sits in the scoring form, whose *Save all* and *Remove*
    buttons must go through unticked."""

    use_required_attribute = False

    confirmed = forms.BooleanField(
        label=_("The scores are final: I cannot undo this."),
        error_messages={
            "required": _(
                "Not submitted: tick the box to confirm the scores are final. A submitted "
                "inspection can no longer be changed."
            )
        },
    )


class ScoringForm:
    """Everything the inspector edits on a draft, as one HTML form: per item a score, a note and
    a photo (`ResultForm`, prefixed `item-<result id>`), plus a photo for the inspection as a
    whole (prefix `other`). Every button of the page submits all of it, so a score typed on one
    card is never dropped by tapping a button on another."""

    OTHER = "other"
    SUBMIT = "submit"

    def __init__(
        self,
        results: Sequence[InspectionItemResult],
        data: Any = None,
        files: Any = None,
    ) -> None:
        self.rows = [
            (
                result,
                ResultForm(
                    data,
                    files,
                    prefix=self.item_prefix(result.pk),
                    initial={"score": result.score, "note": result.note},
                ),
            )
            for result in results
        ]
        self.other = OtherPhotoForm(data, files, prefix=self.OTHER)
        # The Submit button's box; checked only when that button was tapped
        # (`require_submit_confirmed`, `refuse_unconfirmed_submit`), so saving never asks for it.
        self.submit_confirm = SubmitConfirmForm(data, prefix=self.SUBMIT)
        self.submit_refused = False
        self.errors: list[str] = []

    @staticmethod
    def item_prefix(result_id: int) -> str:
        return f"item-{result_id}"

    def _form_for(self, result_id: int | None) -> forms.Form | None:
        if result_id is None:
            return self.other
        return next((form for result, form in self.rows if result.pk == result_id), None)

    def add_photo_error(self, result_id: int | None, error: Any) -> None:
        form = self._form_for(result_id)
        if form is None:
            self.errors.append(str(error))
        else:
            form.add_error("photo", error)

    def add_photo_error_by_field(self, field_name: str, error: Any) -> None:
        """For the upload guard, which knows the HTML field name of a dropped file."""
        for form in [form for _result, form in self.rows] + [self.other]:
            if field_name == form.add_prefix("photo"):
                form.add_error("photo", error)
                return
        self.errors.append(str(error))

    @property
    def has_errors(self) -> bool:
        forms_ = [form for _result, form in self.rows] + [self.other]
        return bool(self.errors) or any(form.is_bound and form.errors for form in forms_)

    def is_valid(self) -> bool:
        valid = [form.is_valid() for _result, form in self.rows] + [self.other.is_valid()]
        return all(valid) and not self.errors

    def require_submit_confirmed(self) -> bool:
        """For the Submit button when the post could not be saved either: False, with the
        box's error beside the save's own errors, when its box is not ticked."""
        if self.submit_confirm.is_valid():
            return True
        self.submit_refused = True
        self.errors.extend(self.submit_confirm.errors["confirmed"])
        return False

    def refuse_unconfirmed_submit(self) -> list[str]:
        """For an unbound form showing the saved draft after Submit was tapped unticked (the
        post itself was saved): the box's error beside the box, not in `errors` (which say
        that nothing was saved). Returns the reason, for the top of the page."""
        self.submit_confirm = SubmitConfirmForm({}, prefix=self.SUBMIT)
        self.submit_confirm.is_valid()
        self.submit_refused = True
        return list(self.submit_confirm.errors["confirmed"])

    def entries(self) -> list[ResultEntry]:
        return [
            ResultEntry(
                result_id=result.pk,
                score=form.cleaned_data["score"],
                note=form.cleaned_data["note"],
                upload=form.cleaned_data["photo"],
            )
            for result, form in self.rows
        ]

    def other_upload(self) -> Any:
        return self.other.cleaned_data["photo"]


class RectificationDoneForm(forms.Form):
    note = forms.CharField(
        label=_("What was done"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    photo = forms.FileField(
        label=_("Photo of the fix"), widget=PhoneCameraInput(), allow_empty_file=True
    )


# --- admin review ---------------------------------------------------------------------------


class ReviewForm(forms.Form):
    note = forms.CharField(
        label=_("Review note"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
    )


class RectificationRequestForm(forms.Form):
    description = forms.CharField(
        label=_("What to fix"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
    )
    due_date = forms.DateField(label=_("Due date"), required=False, widget=NativeDateInput())
    result = forms.ModelChoiceField(
        label=_("Checklist item"), queryset=InspectionItemResult.objects.none(), required=False
    )

    def __init__(self, *args: Any, inspection: Inspection, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["result"].queryset = InspectionItemResult.objects.filter(
            inspection=inspection
        ).order_by("order", "id")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        has_description = bool((data.get("description") or "").strip())
        if has_description and not data.get("due_date"):
            self.add_error("due_date", _("Give a due date."))
        if data.get("due_date") and not has_description:
            self.add_error("description", _("Describe what to fix."))
        due = data.get("due_date")
        if due and due < timezone.localdate():
            self.add_error("due_date", _("The due date is in the past."))
        return data

    def to_request(self) -> RectificationRequest | None:
        description = (self.cleaned_data.get("description") or "").strip()
        if not description:
            return None
        due_date: dt.date = self.cleaned_data["due_date"]
        return RectificationRequest(
            description=description, due_date=due_date, result=self.cleaned_data.get("result")
        )


class BaseRectificationFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, inspection: Inspection, **kwargs: Any) -> None:
        self.inspection = inspection
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        kwargs["inspection"] = self.inspection
        return kwargs

    def requests(self) -> list[RectificationRequest]:
        return [request for form in self.forms if (request := form.to_request()) is not None]


RectificationFormSet = forms.formset_factory(
    RectificationRequestForm, formset=BaseRectificationFormSet, extra=3, max_num=20
)
