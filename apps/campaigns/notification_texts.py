"""The campaigns' kinds of notification, with their labels: messages to members, sent once as
text in Chinese (no renderer). Registered in `CampaignsConfig.ready()`
(`apps.campaigns.notifications.texts`); the labels name the kinds in the admin."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

KINDS = {
    "preview": _("Campaign preview"),
    "group_buy_failed": _("Group buy not formed"),
    # A campaign's 接龙 results to its members (a kind `campaign_notifications_enqueue`
    # documents).
    "jielong_result": _("Group-order list result"),
}
