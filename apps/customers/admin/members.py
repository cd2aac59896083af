from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext_lazy as _

from apps.customers.admin import identity as admin_identity
from apps.customers.models import (
    MEMBER_PERSONAL_FIELDS,
    Member,
    MemberIdentity,
    MemberTag,
    Tag,
    tag_evidence_text,
)
from apps.customers.resources import MemberResource
from apps.customers.services.members import member_lock
from linli.admin_helpers import (
    PHONE_PERMISSION,
    MemberMaskingAdminMixin,
    PhoneMaskingAdminMixin,
    RelatedLabelsFromRowsInlineMixin,
    UndeletableAdminMixin,
    may_see_members,
    phone_column,
    request_cached,
)
from linli.admin_utils import BigTableAdminMixin, truncated, truncated_text
from linli.imports.admin import ImportExportAdminMixin
from linli.phones import phone_for_viewer, phone_normalise


class MemberIdentityInline(admin.TabularInline):
    """Identities are shown, not edited here: resolution and merging own them."""

    model = MemberIdentity
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Member | None = None) -> bool:
        return False

    def _value_column(self, request: HttpRequest) -> object:
        user = request.user

        def build() -> object:
            @admin.display(description=_("value"))
            def shown_value(identity: MemberIdentity) -> str:
                if identity.kind == MemberIdentity.Kind.PHONE:
                    return phone_for_viewer(identity.value, user=user)
                return identity.value

            return shown_value

        # The same callable for get_fields() and get_readonly_fields() within one request.
        return request_cached(request, "identity_value_column", build)

    def get_fields(self, request: HttpRequest, obj: Member | None = None) -> list[object]:
        return ["kind", self._value_column(request), "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Member | None = None) -> list[object]:
        return self.get_fields(request, obj)


@admin.display(description=_("recorded evidence"))
def recorded_evidence(member_tag: MemberTag) -> str:
    """What the recompute found (chat, purchases), worded in the reader's language."""
    return tag_evidence_text(facts=member_tag.evidence_facts)


@admin.display(description=_("evidence"), ordering="evidence")
def evidence_column(member_tag: MemberTag) -> str:
    return truncated_text(member_tag.evidence_text)


# They show the tag's evidence: a quote of the member's chat message, a note about the member.
# Named for the member masking mixin (`member_text_fields`), which hides them like the chat
# messages themselves from staff without member data, and masks the phone numbers in them for
# staff without customers.view_phone (docs/access.md).
recorded_evidence.field_name = "evidence"  # type: ignore[attr-defined]
evidence_column.field_name = "evidence"  # type: ignore[attr-defined]


def _erased(member: Member | None) -> bool:
    return member is not None and member.is_erased


class MemberTagInline(
    MemberMaskingAdminMixin, RelatedLabelsFromRowsInlineMixin, admin.TabularInline
):
    """The member page's tags. The evidence note may quote the member's chat (a phone number
    in it): read-only with phone numbers masked for staff without customers.view_phone (the
    member masking mixin; the page itself needs member data)."""

    model = MemberTag
    member_fields = ()
    member_text_fields = ("evidence",)
    extra = 0
    fields = ["tag", "source", recorded_evidence, "evidence", "created_at"]
    readonly_fields = [recorded_evidence, "created_at"]
    autocomplete_fields = ["tag"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[MemberTag]:
        # Each row's title and autocomplete box name its tag.
        return super().get_queryset(request).select_related("tag")

    # Erasure deletes the member's tags, and a tag's free-text evidence is personal data: an
    # erased member's page adds, changes and deletes none (Django then ignores such rows in
    # a form sent from the page as it was before the erasure; the member form refuses it).
    def has_add_permission(self, request: HttpRequest, obj: Member | None = None) -> bool:
        return not _erased(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Member | None = None) -> bool:
        return not _erased(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Member | None = None) -> bool:
        return not _erased(obj) and super().has_delete_permission(request, obj)


def _non_phone_identities(term: str) -> QuerySet:
    """Identities other than phones whose value contains `term` (for staff who may not look
    members up by phone number)."""
    return MemberIdentity.objects.exclude(kind=MemberIdentity.Kind.PHONE).filter(
        value__icontains=term
    )


class PhoneSearchAdminMixin:
    """Staff without customers.view_phone cannot search by phone number (a hit would confirm
    whose number it is); member cards, WeChat and mini-program IDs stay searchable through
    `non_phone_identity_key`, the field of the listed model holding the identity's key."""

    phone_search_fields: tuple[str, ...] = ()
    non_phone_identity_key = "pk"

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        fields = list(super().get_search_fields(request))  # type: ignore[misc]
        if request.user.has_perm(PHONE_PERMISSION):
            return fields
        return [field for field in fields if field not in self.phone_search_fields]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        found, may_have_duplicates = super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )
        term = search_term.strip()
        if term and not request.user.has_perm(PHONE_PERMISSION):
            identities = _non_phone_identities(term).values(self.non_phone_identity_key)
            found |= queryset.filter(pk__in=identities)
        return found, may_have_duplicates


# A search lists at most this many members found through their identities.
IDENTITY_HITS = 500


def _identity_values(term: str) -> list[str]:
    """The stored forms `term` may have as an identity value: as typed, and as a phone."""
    values = [term]
    try:
        values.append(phone_normalise(term))
    except ValidationError:
        pass
    return values


class MemberAdminForm(forms.ModelForm):
    """The member's change form. Its clean locks the member's row and re-reads it
    (`member_lock`; the admin's change view is one transaction, so the lock holds until the
    save): the form was filled from the member as read before, and an erasure committed since
    must not get the personal fields typed or shown there written back. A form that carries
    personal fields (the page was loaded before the erasure) for a member erased by now is
    refused with a message; a member merged away meanwhile likewise."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk is None:
            return cleaned
        locked = member_lock(member_id=self.instance.pk)
        if locked is None:
            raise ValidationError(
                _("This member was merged into another meanwhile; nothing was saved."),
                code="member_merged",
            )
        if locked.is_erased and any(name in self.data for name in MEMBER_PERSONAL_FIELDS):
            raise ValidationError(
                _(
                    "The personal data of member %(number)s was erased after this page was "
                    "opened; its name, phone, birth year, gender and consent cannot be saved "
                    "again. Nothing was saved: reload the page to edit the rest."
                )
                % {"number": locked.member_no},
                code="erased",
            )
        self.instance.is_erased = locked.is_erased
        return cleaned


@admin.register(Member)
class MemberAdmin(
    UndeletableAdminMixin,
    BigTableAdminMixin,
    ImportExportAdminMixin,
    PhoneMaskingAdminMixin,
    admin.ModelAdmin,
):
    resource_classes = [MemberResource]
    form = MemberAdminForm
    list_display = [
        "member_no",
        "name",
        "phone",
        "gender",
        "birth_year",
        "home_store",
        "marketing_consent",
        "joined_at",
    ]
    list_filter = ["gender", "marketing_consent", "is_erased", "home_store__region"]
    # Shown as the search box; get_search_results below does the searching.
    search_fields = ["=member_no", "name"]
    search_help_text = _(
        "Exact member number, phone, card or WeChat ID, or part of the member's name."
    )
    list_select_related = ["home_store"]
    raw_id_fields = ["home_store"]
    # Only the erase action sets `is_erased` (member_erase empties the data and keeps the
    # record): ticked by hand it flagged a member erased with every personal datum kept, and
    # unticked it brought an erased member back without them.
    readonly_fields = ["is_erased", "created_at", "updated_at"]
    date_hierarchy = "joined_at"
    inlines = [MemberIdentityInline, MemberTagInline]
    actions = ["merge_selected_members", "erase_selected_members"]

    def get_readonly_fields(self, request: HttpRequest, obj: Member | None = None) -> list[Any]:
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.is_erased:
            # Erasure is recorded as done: typing a name or phone into the erased record here
            # would bring personal data back on a member every page treats as anonymous.
            # (The phone of staff who may not see phones is already a read-only column.)
            shown_otherwise = {*readonly, *(self.get_exclude(request, obj) or [])}
            readonly += [name for name in MEMBER_PERSONAL_FIELDS if name not in shown_otherwise]
        return readonly

    def save_model(self, request: HttpRequest, obj: Member, form: Any, change: bool) -> None:
        """An edit writes only the fields the form changed, never `is_erased` (only the erase
        action sets it) and, on a member erased meanwhile, no personal field. The form's clean
        locked the row (`MemberAdminForm`); it is locked (and re-read) again here, so the
        write is safe however it was reached."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        locked = member_lock(member_id=obj.pk)
        if locked is None:  # merged away: the form's clean refused it already
            return
        erased = locked.is_erased
        fields = [
            name
            for name in form.changed_data
            if name != "is_erased" and not (erased and name in MEMBER_PERSONAL_FIELDS)
        ]
        obj.save(update_fields=[*fields, "updated_at"])

    def has_export_permission(self, request: HttpRequest) -> bool:
        # The export is the member list itself: never for staff refused member data.
        return may_see_members(request.user) and super().has_export_permission(request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Member], search_term: str
    ) -> tuple[QuerySet[Member], bool]:
        """Member number exactly or part of the name; an identity: part of a card, WeChat
        or mini-program ID, and — with customers.view_phone only — a phone number in any
        form or any identity value exactly. Identities are resolved to member ids first (one
        query), so the list's count, page and date range do not each scan them again."""
        term = search_term.strip()
        if not term:
            return queryset, False
        may_see_phones = request.user.has_perm(PHONE_PERMISSION)
        identities = _non_phone_identities(term)
        if may_see_phones:
            identities = identities | MemberIdentity.objects.filter(
                kind__in=MemberIdentity.Kind.values, value__in=_identity_values(term)
            )
        member_ids = list(
            identities.order_by().values_list("member_id", flat=True).distinct()[:IDENTITY_HITS]
        )
        condition = Q(member_no=term) | Q(name__icontains=term) | Q(pk__in=member_ids)
        if may_see_phones:
            condition |= Q(phone__in=_identity_values(term)[1:])
        return queryset.filter(condition), False

    def has_merge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("customers.merge_member")

    def has_erase_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("customers.erase_member")

    @admin.action(
        description=_("Merge selected members (choose which to keep)"), permissions=["merge"]
    )
    def merge_selected_members(self, request: HttpRequest, queryset: object) -> object:
        return admin_identity.members_merge(self, request, queryset)

    @admin.action(description=_("Erase selected members' personal data"), permissions=["erase"])
    def erase_selected_members(self, request: HttpRequest, queryset: object) -> object:
        return admin_identity.members_erase(self, request, queryset)


@admin.register(MemberIdentity)
class MemberIdentityAdmin(
    UndeletableAdminMixin,
    MemberMaskingAdminMixin,
    BigTableAdminMixin,
    PhoneSearchAdminMixin,
    admin.ModelAdmin,
):
    list_display = ["member", "kind", "value", "created_at"]
    list_filter = ["kind"]
    search_fields = ["value", "member__member_no", "member__name"]
    list_select_related = ["member"]
    raw_id_fields = ["member"]

    def get_list_display(self, request: HttpRequest) -> list[object]:
        user = request.user

        @admin.display(description=_("value"), ordering="value")
        def value_shown(obj: MemberIdentity) -> str:
            if obj.kind == MemberIdentity.Kind.PHONE:
                return phone_for_viewer(obj.value, user=user)
            return obj.value

        columns = super().get_list_display(request)
        return [value_shown if name == "value" else name for name in columns]

    phone_search_fields = ("value",)
    non_phone_identity_key = "pk"

    def _masks_value(self, request: HttpRequest, obj: MemberIdentity | None) -> bool:
        return (
            obj is not None
            and obj.kind == MemberIdentity.Kind.PHONE
            and not request.user.has_perm(PHONE_PERMISSION)
        )

    def get_exclude(self, request: HttpRequest, obj: MemberIdentity | None = None) -> list[str]:
        excluded = list(super().get_exclude(request, obj) or [])
        if self._masks_value(request, obj):
            excluded.append("value")
        return excluded

    def get_readonly_fields(
        self, request: HttpRequest, obj: MemberIdentity | None = None
    ) -> list[object]:
        readonly = list(super().get_readonly_fields(request, obj))
        if self._masks_value(request, obj):
            readonly.append(phone_column(request, field="value", description=_("value")))
        return readonly


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "category", truncated("description", model=Tag)]
    list_filter = ["category"]
    search_fields = ["name", "description"]


@admin.register(MemberTag)
class MemberTagAdmin(MemberMaskingAdminMixin, BigTableAdminMixin, admin.ModelAdmin):
    # The evidence quotes the member's chat messages (the facts) or is a note about the
    # member (which may quote a chat, phone number included): hidden from staff without member
    # data, as the chat messages are, and not searched for them (neither the note nor the
    # facts); for staff without customers.view_phone shown with phone numbers masked, the
    # note read-only, and not searched by phone number (the member masking mixin).
    member_text_fields = ("evidence",)
    list_display = ["member", "tag", "source", evidence_column, "created_at"]
    # The facts are the recompute's; staff read them worded and may add a note in `evidence`.
    exclude = ["evidence_facts"]
    readonly_fields = [recorded_evidence]
    list_filter = ["source", "tag"]
    search_fields = ["member__member_no", "member__name", "tag__name", "evidence"]
    list_select_related = ["member", "tag"]
    raw_id_fields = ["member", "created_by"]
    autocomplete_fields = ["tag"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[MemberTag], search_term: str
    ) -> tuple[QuerySet[MemberTag], bool]:
        """Django's search (each word in part of one of `search_fields`), where a word may
        also be found in the automatic tags' evidence facts (a category, a chat message, a
        day): their JSON text as the database keeps it, the word written as JSON writes it —
        PostgreSQL's jsonb keeps non-ASCII characters as they are, Django's JSON on SQLite
        escapes them (猫砂 is stored as \\u732b\\u7802), so both forms are looked for. The
        facts' keys (code, text, day, category, count) are matched as well, harmlessly.
        For staff without member data Django's own search, on the fields left to them; for staff
        without customers.view_phone the term's phone-like digit runs are dropped
        (`member_search_term`)."""
        if self._hides_members(request):
            return super().get_search_results(request, queryset, search_term)
        search_term = self.member_search_term(request, search_term)
        if search_term is None:
            return queryset.none(), False
        words = [
            unescape_string_literal(bit) if bit[:1] in "\"'" and bit[0] == bit[-1] else bit
            for bit in smart_split(search_term)
        ]
        if not words:
            return queryset, False
        queryset = queryset.alias(evidence_facts_json=Cast("evidence_facts", TextField()))
        fields = self.get_search_fields(request)
        condition = Q()
        for word in words:
            json_forms = {json.dumps(word)[1:-1], json.dumps(word, ensure_ascii=False)[1:-1]}
            condition &= Q.create(
                [(f"{field}__icontains", word) for field in fields]
                + [("evidence_facts_json__icontains", form) for form in sorted(json_forms)],
                connector=Q.OR,
            )
        return queryset.filter(condition), False
