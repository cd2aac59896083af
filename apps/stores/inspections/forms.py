"""Forms for the inspection pages (portal) and the HQ review page (admin).

File fields are plain `FileField`s on purpose: Django's `ImageField` would open the upload with
Pillow without our limits. All photo validation happens in `images.photo_process`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.stores.inspections.models import ITEM_SCORE_MAX
from apps.stores.inspections.services import RectificationRequest
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


class GeneralPhotoForm(forms.Form):
    photo = forms.FileField(label=_("Photo"), widget=PhoneCameraInput(), allow_empty_file=True)


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
