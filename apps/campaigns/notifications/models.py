"""The notification outbox and the owner's inbox: one row per message to one recipient on one
channel. The one home of notifications: models, services, selectors, the inbox view, the store
notifications websocket and the admin all live in this package."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.campaigns.notifications.texts import notification_kind_label, notification_texts
from linli.wording import labelled


class Notification(models.Model):
    """The notification outbox: one row per message to one recipient on one channel.

    Writers go through `apps.campaigns.services.notification_enqueue` (or the bulk variant),
    which is idempotent by `dedupe_key`: the same event enqueued twice is one row.
    Portal notifications are delivered by being written (the owner's inbox reads them), so they
    are stored as sent; SMS / WeChat rows stay pending until a gateway dispatcher sends them.
    """

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Portal")
        SMS = "sms", _("SMS")
        WECHAT = "wechat", _("WeChat")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped (no consent or no address)")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    member = models.ForeignKey(
        "customers.Member",
        verbose_name=_("member"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.PORTAL
    )
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True, default="")
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    # Set for a campaign's member notifications (preview, 接龙 results): delivery per campaign.
    store_campaign = models.ForeignKey(
        "campaigns.StoreCampaign",
        verbose_name=_("store campaign"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    # The dispatcher's bookkeeping for SMS / WeChat rows.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When the dispatcher last claimed the row to send it: the per-channel rate limit counts
    # these within the current minute, across every worker.
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True, default="")
    provider_ref = models.CharField(_("provider reference"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["recipient", "store", "created_at"]),
            models.Index(fields=["channel", "status"]),
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["channel", "last_attempt_at"]),
            # The admin's list (newest first, ties by id) and its exact search by the
            # gateway's reference.
            models.Index(fields=["created_at", "id"], name="notification_created_id_idx"),
            models.Index(
                fields=["provider_ref"],
                name="notification_provider_ref_idx",
                condition=~models.Q(provider_ref=""),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(dedupe_key=""), name="notification_key_not_empty"),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="notification_sent_has_time",
                violation_error_message=_("A sent notification needs its sending time."),
            ),
            models.CheckConstraint(
                condition=Q(recipient__isnull=False) | Q(member__isnull=False),
                name="notification_has_recipient_or_member",
                violation_error_message=_("A notification needs a recipient or a member."),
            ),
        ]

    def __str__(self) -> str:
        return labelled(
            f"{self.get_channel_display()} {notification_kind_label(self.kind)}",
            self.display_title,
        )

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def display_texts(self) -> tuple[str, str]:
        """(title, body) in the active language: worded from `payload` by the kind's renderer
        (`texts.py`: staff portal notifications), else the stored `title` / `body` (messages to
        members, rows written before their kind had a renderer). The stored text stays what
        was sent."""
        return notification_texts(
            kind=self.kind, payload=self.payload, title=self.title, body=self.body
        )

    @property
    def display_title(self) -> str:
        return self.display_texts()[0]

    @property
    def display_body(self) -> str:
        return self.display_texts()[1]


# Messages about the member's own order (ready for pickup, short at receiving, out for delivery,
# delivered, cancelled, an after-sales decision, a group buy that did not form) are service
# messages: they go out without marketing consent. Everything else is marketing and needs it.
SERVICE_KIND_PREFIXES = ("order_", "after_sales.", "group_buy_failed")


def is_service_message(kind: str) -> bool:
    """True for a kind that is a service message (sent without marketing consent)."""
    return kind.startswith(SERVICE_KIND_PREFIXES)
