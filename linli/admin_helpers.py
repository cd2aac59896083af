"""Admin pieces shared by every app: whether the viewer may open a model's admin pages (for
links to them), phone columns that mask unless the viewer may see phones,
member columns that mask unless the viewer may see member data, and text written by or naming
a member, hidden (or redacted) unless the viewer may see member data."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.widgets import AutocompleteSelect, ForeignKeyRawIdWidget
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeData, mark_safe
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linli.phones import phone_for_viewer, phones_masked_in
from linli.wording import labelled

PHONE_PERMISSION = "customers.view_phone"
# The member-data permission: the admin asks it wherever a member is shown, as the portal's
# MEMBER_DATA action does (docs/access.md).
MEMBER_PERMISSION = "customers.view_member"


def request_cached(request: HttpRequest, key: str, build: Callable[[], Any]) -> Any:
    """One object per request and key.

    The admin builds a form from `get_fields()` and excludes `get_readonly_fields()`, calling
    them separately and comparing callables by identity: a column rebuilt on every call would
    be reported as an unknown form field. Caching on the request keeps the viewer out of the
    shared ModelAdmin instance and the callable stable within the request.
    """
    cache = request.__dict__.setdefault("_linli_admin_columns", {})
    if key not in cache:
        cache[key] = build()
    return cache[key]


def admin_may_view(request: HttpRequest, model: type[Model]) -> bool:
    """Whether the admin would open `model`'s list and pages for this request: the registered
    ModelAdmin's own answer (the one that would otherwise be a 403). A link to an admin page
    (the home's loss report, the KPI dashboard, the disputes notice) is shown only when this
    holds; an unregistered model is never viewable."""
    model_admin = admin.site._registry.get(model)
    return model_admin is not None and model_admin.has_view_or_change_permission(request)


def phone_column(
    request: HttpRequest, *, field: str = "phone", description: Any = None, whole: bool = False
) -> Callable[[Any], str]:
    """A list_display / readonly callable bound to this request's user (ModelAdmin instances
    are shared between requests, so the viewer must not be stored on them). `whole`: the
    admin decided this viewer sees the phone whole (a permission other than
    `customers.view_phone`, as suppliers' contact phones have)."""
    user = request.user

    def build() -> Callable[[Any], str]:
        def column(obj: Any) -> str:
            if whole:
                return (getattr(obj, field) or "").removeprefix("+86")
            return phone_for_viewer(getattr(obj, field), user=user)

        column.short_description = description or _("phone")  # type: ignore[attr-defined]
        column.admin_order_field = field  # type: ignore[attr-defined]
        column.__name__ = f"{field}_shown"
        return column

    return request_cached(request, f"phone_column:{field}:{whole}", build)


class PhoneMaskingAdminMixin:
    """Lists show `phone_field` masked, and the change form shows it read-only and masked, for
    staff without `phone_permission` (`customers.view_phone`, members' phones, by default)."""

    phone_field = "phone"
    phone_permission = PHONE_PERMISSION

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        columns = list(super().get_list_display(request))  # type: ignore[misc]
        whole = self._may_see_phone(request)
        return [
            phone_column(request, field=self.phone_field, whole=whole)
            if name == self.phone_field
            else name
            for name in columns
        ]

    def _may_see_phone(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PHONE_PERMISSION) or request.user.has_perm(
            self.phone_permission
        )

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        excluded = list(super().get_exclude(request, obj) or [])  # type: ignore[misc]
        if obj is not None and not self._may_see_phone(request):
            excluded.append(self.phone_field)
        return excluded

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        readonly = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if obj is not None and not self._may_see_phone(request):
            readonly.append(phone_column(request, field=self.phone_field))
        return readonly


# --- members ----------------------------------------------------------------------------------


def may_see_members(user: Any) -> bool:
    """Member names, numbers and links for this viewer: only with `customers.view_member`."""
    return bool(user.has_perm(MEMBER_PERMISSION))


def member_column(
    request: HttpRequest, *, field: str = "member", description: Any = None
) -> Callable[[Any], str]:
    """A list_display / readonly callable showing the member in `field` as the portal shows it
    to those without member data: "Member 3704" (the model's `masked_label`), no link."""

    def build() -> Callable[[Any], str]:
        def column(obj: Any) -> str:
            member = getattr(obj, field)
            return member.masked_label if member is not None else "-"

        column.short_description = description or _("member")  # type: ignore[attr-defined]
        column.__name__ = f"{field}_masked"
        return column

    return request_cached(request, f"member_column:{field}", build)


# What staff without member data see in place of text a member wrote or that names a member.
MEMBER_TEXT_HIDDEN = _("(visible to staff with member access)")


def member_notes_for_viewer(rows: Iterable[Any], *, member_data: bool, field: str = "note") -> None:
    """For a portal list of rows whose `field` is free text staff typed (a stock movement's
    note: it may name a member or hold a phone number), set `<field>_shown` on each row — the
    text itself for a viewer with member data (`member_data`: the portal's MEMBER_DATA action),
    `MEMBER_TEXT_HIDDEN` in place of a non-empty text otherwise — and `<field>_hidden` (True
    where the text was replaced, for the template to mute it). One rule for every page that
    lists such notes (docs/access.md)."""
    for row in rows:
        text = getattr(row, field)
        hidden = not member_data and bool(text)
        setattr(row, f"{field}_shown", str(MEMBER_TEXT_HIDDEN) if hidden else text)
        setattr(row, f"{field}_hidden", hidden)


def member_text_column(
    request: HttpRequest,
    *,
    field: str,
    model_admin: Any,
    shown: Callable[[Any], str] | None = None,
) -> Callable[[Any], str]:
    """A list_display / readonly callable standing in for the text in `field` (a field of the
    admin's model, or a column of `model_admin`'s own) for staff without member data:
    `MEMBER_TEXT_HIDDEN`, or what `shown(obj)` returns (a redacted text) when given."""
    opts = model_admin.model._meta

    def build() -> Callable[[Any], str]:
        def column(obj: Any) -> str:
            return str(MEMBER_TEXT_HIDDEN) if shown is None else shown(obj)

        try:
            description = opts.get_field(field).verbose_name
        except FieldDoesNotExist:  # a column of the admin's own (`body_shown`)
            description = getattr(model_admin, field).short_description
        column.short_description = description  # type: ignore[attr-defined]
        column.__name__ = f"{field}_hidden"
        return column

    return request_cached(request, f"member_text_column:{opts.label}:{field}", build)


def member_text_redact(text: str, *, member: Any) -> str:
    """`text` for staff without member data who still need its substance (after-sales
    deciders): every mobile number masked, and `member`'s name and number (when there is a
    member) replaced by the masked label. Other names a writer may have typed cannot be
    recognised; the form the text is typed in asks for none (docs/access.md)."""
    redacted = phones_masked_in(text)
    if member is None:
        return redacted
    for known in (member.name, member.member_no):
        if known:
            redacted = redacted.replace(known, member.masked_label)
    return redacted


def _names_member(lookup: str, fields: tuple[str, ...], columns: tuple[str, ...]) -> bool:
    path = lookup.lstrip("=^@")
    return path in columns or path.split("__", 1)[0] in fields


def _filter_path(item: Any) -> str:
    """The field path a list_filter entry filters on ("" for a filter class of its own)."""
    if isinstance(item, (list, tuple)):
        return str(item[0])
    return item if isinstance(item, str) else ""


def _column_field(name: Any) -> str | None:
    """The field a list / change-page entry shows: its name, or the field of a `truncated`
    column (linli.admin_utils)."""
    return name if isinstance(name, str) else getattr(name, "field_name", None)


# A run of digits standing alone in a search term, spaced or dashed as people type phone
# numbers, of at least 7 digits (the masked form, 138****1234, shows 7): a whole or partial
# phone number. A date (2026-11-20) is not one.
_PHONE_LIKE_RUN = re.compile(
    r"(?<![0-9０-９A-Za-z])[+＋]?[0-9０-９](?:[\s-]*[0-9０-９]){6,}(?![0-9０-９A-Za-z])"
)
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")


def phone_like_runs_removed(term: str) -> str:
    """`term` without the runs of 7 or more digits that could be (part of) a phone number."""
    return _PHONE_LIKE_RUN.sub(
        lambda match: match.group() if _DATE.match(match.group()) else " ", term
    ).strip()


def phones_masked_column(
    request: HttpRequest, *, name: Any, model_admin: Any
) -> Callable[[Any], str]:
    """A list_display / readonly callable showing what `name` shows (a field of the admin's
    model, a column of the admin's own, or a column callable) with every mobile number in it
    masked (`phones_masked_in`), for staff with member data but without
    `customers.view_phone`. An HTML column (a truncated text with its tooltip) stays HTML: only
    digits change."""
    opts = model_admin.model._meta
    key = name if isinstance(name, str) else f"{getattr(name, '__name__', '')}:{id(name)}"

    def build() -> Callable[[Any], str]:
        ordering = None
        if callable(name):
            source, description = name, getattr(name, "short_description", None)
            ordering = getattr(name, "admin_order_field", None)
        elif hasattr(model_admin, name):  # a column of the admin's own (`body_shown`)
            source = getattr(model_admin, name)
            description = getattr(source, "short_description", name)
        else:
            source = _field_value(name)
            description = opts.get_field(name).verbose_name
            ordering = name

        def column(obj: Any) -> str:
            value = source(obj)
            masked = phones_masked_in("" if value is None else str(value))
            return mark_safe(masked) if isinstance(value, SafeData) else masked  # noqa: S308

        column.short_description = description  # type: ignore[attr-defined]
        if ordering:
            column.admin_order_field = ordering  # type: ignore[attr-defined]
        column.__name__ = f"{getattr(name, '__name__', name)}_phones_masked"
        return column

    return request_cached(request, f"phones_masked_column:{opts.label}:{key}", build)


def _field_value(name: str) -> Callable[[Any], Any]:
    def value(obj: Any) -> Any:
        return getattr(obj, name)

    return value


class MemberMaskingAdminMixin:
    """For staff without `customers.view_member` (docs/access.md, member data): every member
    foreign key in `member_fields` is shown as `member_column` in lists and on the change page
    (out of the form, so neither editable nor looked up by raw id), the `member_columns` that
    show a member's number or name are left out, the `member_text_fields` (text a member wrote
    or that names one) are shown as `member_text_column` (hidden, or as
    `member_text_redacted` returns), searches and filters through a member or on that text are
    dropped, and a row that needs a member cannot be added.

    For staff with member data but without `customers.view_phone` the `member_text_fields` are
    shown with every mobile number masked (`phones_masked_column`: lists, and read-only on an
    existing row's page, out of the form), and a search on that text drops the phone-like
    digit runs of the term (`phone_like_runs_removed`): a hit would say who wrote the number.
    With both permissions nothing changes. Works on inlines too (`member_fields = ()`)."""

    member_fields: tuple[str, ...] = ("member",)
    # Other list / change-page names that show a member's number or name (custom columns).
    member_columns: tuple[str, ...] = ()
    # Text a member wrote, or that names a member (chat messages, comments, complaints,
    # messages to a member): model fields, or the admin's own column showing one.
    member_text_fields: tuple[str, ...] = ()

    def member_text_redacted(self, obj: Any, field: str) -> str | None:
        """What staff without member data see of `field` on `obj`; None hides it
        (`MEMBER_TEXT_HIDDEN`). An admin whose deciders need the text returns it redacted."""
        return None

    def _hides_members(self, request: HttpRequest) -> bool:
        return not may_see_members(request.user)

    def _masks_phones(self, request: HttpRequest) -> bool:
        """Member text shown with phone numbers masked (member data, no customers.view_phone)."""
        return (
            bool(self.member_text_fields)
            and not self._hides_members(request)
            and not request.user.has_perm(PHONE_PERMISSION)
        )

    def _member_text_column(self, request: HttpRequest, field: str) -> Callable[[Any], str]:
        def shown(obj: Any) -> str:
            text = self.member_text_redacted(obj, field)
            return str(MEMBER_TEXT_HIDDEN) if text is None else text

        return member_text_column(request, field=field, model_admin=self, shown=shown)

    def _member_masked(self, request: HttpRequest, name: Any, *, texts: bool) -> Any:
        if self._hides_members(request) and isinstance(name, str) and name in self.member_fields:
            return member_column(request, field=name)
        field = _column_field(name)
        if not texts or field is None or field not in self.member_text_fields:
            return name
        if self._hides_members(request):
            return self._member_text_column(request, field)
        return phones_masked_column(request, name=name, model_admin=self)

    def _masks(self, request: HttpRequest) -> bool:
        return self._hides_members(request) or self._masks_phones(request)

    def _without_members(
        self, request: HttpRequest, names: Any, *, texts: bool = True
    ) -> list[Any]:
        """`names` without member columns, member foreign keys and (with `texts`: lists and
        existing rows; an add form has no member's text to hide) member text masked — or,
        for staff with member data, only the phone numbers in member text masked."""
        hidden = self.member_columns if self._hides_members(request) else ()
        return [
            self._member_masked(request, name, texts=texts)
            for name in names
            if not (isinstance(name, str) and name in hidden)
        ]

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        columns = list(super().get_list_display(request))  # type: ignore[misc]
        if not self._masks(request):
            return columns
        return self._without_members(request, columns)

    def _searches_member_text(self, request: HttpRequest) -> bool:
        return any(
            _names_member(name, (), self.member_text_fields)
            for name in super().get_search_fields(request)  # type: ignore[misc]
        )

    def member_search_term(self, request: HttpRequest, search_term: str) -> str | None:
        """The search term as this viewer may search with it: without its phone-like digit
        runs when the viewer reads member text with phones masked and the search looks in that
        text; None when nothing is left of a term that was only such runs (it finds
        nothing)."""
        if not self._masks_phones(request) or not self._searches_member_text(request):
            return search_term
        kept = phone_like_runs_removed(search_term)
        if search_term.strip() and not kept:
            return None
        return kept

    def get_search_results(
        self, request: HttpRequest, queryset: Any, search_term: str
    ) -> tuple[Any, bool]:
        term = self.member_search_term(request, search_term)
        if term is None:
            return queryset.none(), False
        return super().get_search_results(request, queryset, term)  # type: ignore[misc]

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        fields = list(super().get_search_fields(request))  # type: ignore[misc]
        if not self._hides_members(request):
            return fields
        hidden_columns = self.member_columns + self.member_text_fields
        return [
            name for name in fields if not _names_member(name, self.member_fields, hidden_columns)
        ]

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        filters = list(super().get_list_filter(request))  # type: ignore[misc]
        if not self._hides_members(request):
            return filters
        hidden_columns = self.member_columns + self.member_text_fields
        return [
            item
            for item in filters
            if not _names_member(_filter_path(item), self.member_fields, hidden_columns)
        ]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str] | None:
        excluded = super().get_exclude(request, obj)  # type: ignore[misc]
        if not self._masks(request):
            return excluded
        texts = self.member_text_fields if obj is not None else ()
        members = self.member_fields if self._hides_members(request) else ()
        return [*(excluded or []), *members, *texts]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        readonly = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if not self._masks(request):
            return readonly
        readonly = self._without_members(request, readonly, texts=obj is not None)
        if self._hides_members(request):
            shown = [member_column(request, field=name) for name in self.member_fields]
            if obj is not None:
                shown += [
                    self._member_text_column(request, name) for name in self.member_text_fields
                ]
        else:
            shown = (
                [
                    phones_masked_column(request, name=name, model_admin=self)
                    for name in self.member_text_fields
                ]
                if obj is not None
                else []
            )
        return readonly + [column for column in shown if column not in readonly]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        fields = list(super().get_fields(request, obj))  # type: ignore[misc]
        if not self._masks(request):
            return fields
        return self._without_members(request, fields, texts=obj is not None)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        fieldsets = super().get_fieldsets(request, obj)  # type: ignore[misc]
        if not self._masks(request) or not getattr(self, "fieldsets", None):
            return fieldsets
        return [
            (
                title,
                {
                    **options,
                    "fields": self._without_members(
                        request, options["fields"], texts=obj is not None
                    ),
                },
            )
            for title, options in fieldsets
        ]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if self._hides_members(request) and any(
            not self.model._meta.get_field(name).null  # type: ignore[attr-defined]
            for name in self.member_fields
        ):
            return False
        return super().has_add_permission(request, *args)  # type: ignore[misc]


class ActionFormErrorsAdminMixin:
    """Django answers "No action selected." for any invalid action form; an extra field of
    the admin's `action_form` (a note or answer over its length, a choice not on the list)
    is named instead — "<label>: <error> Nothing was changed." — and the action does not
    run. Django's own fields ("action", "select_across") are answered as before."""

    def response_action(self, request: HttpRequest, queryset: Any) -> Any:
        form = self.action_form(request.POST, auto_id=None)  # type: ignore[attr-defined]
        form.fields["action"].choices = self.get_action_choices(request)  # type: ignore[attr-defined]
        form.is_valid()
        wrong = {
            name: errors
            for name, errors in form.errors.items()
            if name in form.fields and name not in ActionForm.base_fields
        }
        for name, errors in wrong.items():
            for error in errors:
                self.message_user(  # type: ignore[attr-defined]
                    request,
                    gettext("%(field)s: %(error)s Nothing was changed.")
                    % {"field": capfirst(form.fields[name].label), "error": error},
                    level=messages.ERROR,
                )
        if wrong:
            return None
        return super().response_action(request, queryset)  # type: ignore[misc]


def bulk_steps(
    modeladmin: Any,
    request: HttpRequest,
    rows: Iterable[Any],
    step: Callable[[Any], object],
    done: Callable[[int], str],
    *,
    refused: type[Exception],
    label: Callable[[Any], object] | None = None,
) -> None:
    """A bulk admin action through a service: `step(row)` for each row, then one message with
    how many were done (`done(count)`) and a warning per row the service refused (an
    exception of type `refused`, its `message`, after `label(row)` when given).

    When the service refused every row, the warnings are the whole answer: a green
    "Approved 0 cases." above them would read as success."""
    changed, warnings = 0, []
    for row in rows:
        try:
            step(row)
            changed += 1
        except refused as error:
            text = getattr(error, "message", str(error))
            warnings.append(labelled(label(row), text) if label else text)
    if changed or not warnings:
        modeladmin.message_user(request, done(changed))
    for text in warnings:
        modeladmin.message_user(request, text, level=messages.WARNING)


class UndeletableAdminMixin:
    """Records whose state only services change (ledgers, orders, purchase orders, cases,
    alerts, enrolments…): nobody deletes them in the admin, not even a superuser.

    A hard delete would skip what the service does around a state change (the supplier told,
    the member orders released, the stock ledger kept in step) and leave the other side
    believing the record still exists. With the delete permission refused here, Django also
    drops the "delete selected" bulk action and answers the delete page with 403. Records
    leave their life cycle through their actions instead (cancel, reject, resolve, erase);
    docs/admin.md lists which admins are undeletable and why.
    """

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _HoldsEveryPermission:
    """A stand-in staff user holding every permission: what an admin still refuses it, the
    admin refuses everyone (`undeletable_models`)."""

    is_active = is_staff = is_superuser = True
    is_anonymous = False
    is_authenticated = True

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return True

    def has_perms(self, perm_list: Iterable[str], obj: Any = None) -> bool:
        return True

    def has_module_perms(self, app_label: str) -> bool:
        return True


def undeletable_models() -> set[tuple[str, str]]:
    """(app label, model name) of every model whose registered admin deletes for nobody, not
    even a superuser: `UndeletableAdminMixin` and the read-only admins (docs/admin.md). The
    HQ groups hold no `delete_*` permission on them (`linli.roles`): it would grant nothing.
    Read from the admin site's registry (filled when Django starts, by the admin's
    autodiscover), asking each admin with a user who holds every permission."""
    request = HttpRequest()
    request.user = _HoldsEveryPermission()
    return {
        (model._meta.app_label, model._meta.model_name)
        for model, model_admin in admin.site._registry.items()
        if not model_admin.has_delete_permission(request)
    }


class _RowRawIdWidget(ForeignKeyRawIdWidget):
    """A raw-id widget that labels its value with the row's own related object when the
    formset handed it one (`known`), instead of fetching that object again."""

    known: Any = None

    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        known = self.known
        by_pk = self.rel.get_related_field().primary_key
        if known is None or not by_pk or str(known.pk) != str(value):
            return super().label_and_url_for_value(value)
        try:
            url = reverse(
                f"{self.admin_site.name}:{known._meta.app_label}_{known._meta.model_name}_change",
                args=(known.pk,),
            )
        except NoReverseMatch:
            url = ""
        return Truncator(known).words(14), url


class _RowAutocompleteSelect(AutocompleteSelect):
    """An autocomplete box whose selected option is the row's own related object when the
    formset handed it one (`known`), instead of fetching that object again."""

    known: Any = None

    def optgroups(self, name: str, value: Any, attr: Any = None) -> list[Any]:
        known = self.known
        selected = {str(v) for v in value if str(v) not in self.choices.field.empty_values}
        by_pk = self.field.target_field.primary_key
        if known is None or not by_pk or selected != {str(known.pk)}:
            return super().optgroups(name, value, attr)
        options = []
        if not self.is_required:
            options.append(self.create_option(name, "", "", False, 0))
        label = self.choices.field.label_from_instance(known)
        options.append(self.create_option(name, known.pk, label, selected, len(options)))
        return [(None, options, 0)]


class RelatedLabelsFromRowsInlineMixin:
    """For an inline whose `raw_id_fields` and `autocomplete_fields` are select_related in
    its `get_queryset`: each row's raw-id label ("云南蓝莓 125g") and autocomplete choice come
    from the row's loaded object, so the change page costs the same queries for 2 rows or
    30. Django's widgets fetch the object of every row with one query each. A submitted
    value other than the row's own (a POST with errors) is still looked up."""

    raw_id_fields: Any = ()
    autocomplete_fields: Any = ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        site = self.admin_site  # type: ignore[attr-defined]
        using = kwargs.get("using")
        if db_field.name in self.raw_id_fields:
            kwargs["widget"] = _RowRawIdWidget(db_field.remote_field, site, using=using)
        elif db_field.name in self.autocomplete_fields:
            kwargs["widget"] = _RowAutocompleteSelect(db_field, site, using=using)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)  # type: ignore[misc]

        class RowLabelledFormSet(formset):  # type: ignore[misc, valid-type]
            def _construct_form(self, i: int, **form_kwargs: Any) -> Any:
                form = super()._construct_form(i, **form_kwargs)
                loaded = form.instance._state.fields_cache
                for name, field in form.fields.items():
                    widget = getattr(field.widget, "widget", field.widget)  # unwrap the admin's
                    if isinstance(widget, _RowRawIdWidget | _RowAutocompleteSelect):
                        widget.known = loaded.get(name)
                return form

        return RowLabelledFormSet
