from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.campaigns.notifications.models import Notification
from apps.campaigns.notifications.services import notifications_retry_failed
from apps.campaigns.notifications.texts import notification_kind_label, notification_kinds
from apps.stores.models import OrderFulfilment, Store
from linli.admin_helpers import MemberMaskingAdminMixin, UndeletableAdminMixin, request_cached
from linli.admin_utils import BigTableAdminMixin, exact_key_search, truncated, truncated_text
from linli.phones import phone_for_viewer, phone_mask


def member_phone_column(request: HttpRequest) -> Callable[[Notification], str]:
    """The member's phone, masked unless the viewer has `customers.view_phone` (bound to this
    request's user, see linli.admin_helpers.phone_column)."""
    user = request.user

    def build() -> Callable[[Notification], str]:
        def member_phone(obj: Notification) -> str:
            return phone_for_viewer(obj.member.phone if obj.member_id else "", user=user)

        member_phone.short_description = _("member phone")  # type: ignore[attr-defined]
        return member_phone

    return request_cached(request, "notifications:member_phone", build)


class KindFilter(admin.SimpleListFilter):
    """By kind, named in the page's language; the choices are the known kinds (no
    `SELECT DISTINCT` over the outbox), the parameter the field's own (`?kind=…`)."""

    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # The registered kinds (`texts.notification_kind_register`: each app's own, with their
        # labels), named in the page's language.
        return sorted(
            ((entry.code, str(entry.label)) for entry in notification_kinds()),
            key=lambda item: item[1],
        )

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Notification)
class NotificationAdmin(
    UndeletableAdminMixin, MemberMaskingAdminMixin, BigTableAdminMixin, admin.ModelAdmin
):
    """The outbox is written by services; staff read it here: delivery status of SMS / WeChat
    rows per campaign, and "retry failed" after a gateway outage."""

    # The member's phone is member data too: not even masked without customers.view_member.
    member_columns = ("member_phone",)
    # A message to a member is about that member (their order, their after-sales request, an
    # owner's reason): hidden from staff without member data. Messages to staff stay.
    member_text_fields = ("body_shown",)

    list_display = [
        "created_at",
        "channel",
        "kind_shown",
        "title_shown",
        "recipient",
        "member_phone",
        "store",
        "store_campaign",
        "status",
        "attempts",
        truncated("last_error", model=Notification),
        "sent_at",
        "read_at",
    ]
    list_filter = [
        "channel",
        "status",
        KindFilter,
        # By campaign (a few), not by store campaign with RelatedOnlyFieldListFilter: that
        # reads every notification for the distinct store campaigns.
        "store_campaign__campaign",
        "store__region",
    ]
    # Exact keys only: each is an index probe on the outbox (see get_search_results).
    search_fields = ["=dedupe_key", "=provider_ref", "=recipient__username", "=store__code"]
    search_help_text = _("Exact dedupe key, provider reference, username or store code.")
    list_select_related = [
        "recipient",
        "store",
        "member",
        "store_campaign",
        "store_campaign__campaign",
        "store_campaign__store",
    ]
    raw_id_fields = ["recipient", "store", "member", "store_campaign"]
    # Every field read-only, and no add form: the outbox is the services' (dispatch sets the
    # status with its attempt, sending time and provider reference; "retry failed" is the one
    # change staff make). A status set by hand skipped all that, and "sent" without a sending
    # time broke `notification_sent_has_time` (an error page).
    readonly_fields = [
        "recipient",
        "store",
        "member",
        "channel",
        "kind_shown",
        "title",
        "payload",
        "status",
        "store_campaign",
        "dedupe_key",
        "created_at",
        "sent_at",
        "read_at",
        "attempts",
        "last_attempt_at",
        "next_attempt_at",
        "last_error",
        "provider_ref",
        "body_shown",
    ]
    # A message about a member's order carries its pickup code: shown as `body_shown`; the
    # kind's code as `kind_shown`, its name.
    exclude = ["body", "kind"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-pk"]
    actions = ["retry_failed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("kind"), ordering="kind")
    def kind_shown(self, obj: Notification) -> str:
        return notification_kind_label(obj.kind)

    @admin.display(description=_("member phone"))
    def member_phone(self, obj: Notification) -> str:
        """Always masked; get_list_display swaps in the column bound to the viewer."""
        return phone_mask(obj.member.phone if obj.member_id else "")

    @admin.display(description=_("title"), ordering="title")
    def title_shown(self, obj: Notification) -> str:
        """In the reader's language for a staff portal notification (`display_title`); the
        change page's `title` is the stored text, as sent."""
        return truncated_text(obj.display_title)

    @admin.display(description=_("body"))
    def body_shown(self, obj: Notification) -> str:
        """A staff portal notification's body in the reader's language (`display_body`). A
        member's message as sent, with the order's pickup code shown as its last two digits, to
        everyone: the whole code is the member's to bring (docs/access.md)."""
        if obj.member_id is None:
            return obj.display_body
        order_id = (obj.payload or {}).get("order_id")
        code = (
            OrderFulfilment.objects.filter(pk=order_id)
            .values_list("pickup_code", flat=True)
            .first()
            if isinstance(order_id, int)
            else None
        )
        if not code:
            return obj.body
        hint = OrderFulfilment(pickup_code=code).pickup_code_hint
        return obj.body.replace(code, hint)

    def member_text_redacted(self, obj: Notification, field: str) -> str | None:
        return None if obj.member_id else self.body_shown(obj)

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        # super() first: the member masking mixin (the phone is masked either way).
        return [
            member_phone_column(request) if name == "member_phone" else name
            for name in super().get_list_display(request)
        ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Notification], search_term: str
    ) -> tuple[QuerySet[Notification], bool]:
        found = exact_key_search(
            queryset,
            search_term,
            fields=["dedupe_key", "provider_ref"],
            related={
                "recipient_id": (get_user_model().objects.all(), lambda t: Q(username=t)),
                "store_id": (Store.objects.all(), lambda t: Q(code=t)),
            },
        )
        return found, False

    @admin.action(description=_("Retry failed SMS / WeChat notifications"), permissions=["change"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = notifications_retry_failed(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            ngettext(
                "%(count)d failed notification queued again.",
                "%(count)d failed notifications queued again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
