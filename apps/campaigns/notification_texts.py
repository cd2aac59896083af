"""The campaigns' kinds of notification, with their labels: messages to members, sent once as
text in Chinese (no renderer). Registered in `CampaignsConfig.ready()`
(`apps.campaigns.notifications.texts`); the labels name the kinds in the admin."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

KINDS = {
    "preview": _("Campaign preview"),
    "group_buy_failed": _("Group buy not formed"),
}
# No "jielong_result": a pasted 接龙's result is the owner's (the broadcast page shows each
# line's fate at once), and the joined members hear the outcome at settlement
# (`group_buy_failed`, or `order_ready` with the pickup code). docs/notifications.md.
