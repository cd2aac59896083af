"""Senders: how an SMS or WeChat outbox row leaves the building.

The dispatcher (`dispatch.py`) picks one sender per channel from settings
(`NOTIFY_SMS_SENDER`, `NOTIFY_WECHAT_SENDER`: dotted paths to a `Sender` subclass, instantiated
once per dispatch run) and calls `send(notification, address=...)` with the address it resolved
at send time (the member's normalised phone for SMS, their WeChat openid for WeChat). A sender:

- returns `SendResult(provider_ref=...)` when the gateway accepted the message (the reference is
  stored on the row, for support and delivery receipts);
- raises `TransientSendError` for anything worth retrying (timeouts, HTTP 5xx, the gateway's own
  rate limit): the dispatcher retries with exponential backoff, up to `NOTIFY_MAX_ATTEMPTS`;
- raises `PermanentSendError` for anything a retry cannot fix (invalid number, unsubscribed
  openid, template rejected): the row becomes FAILED at once.

Any other exception counts as transient (a bug in a sender must not lose messages silently; it
fails the row after the last attempt with the error in `last_error`).

A sender should pass `notification.dedupe_key` to its gateway as the client reference where the
gateway supports one, so a message re-sent after a worker crash (the dispatcher is at-least-once
in that case only) is dropped by the gateway. Senders never write to the database and never log
a full phone number or openid.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

from linli.phones import phone_mask

if TYPE_CHECKING:
    from apps.campaigns.notifications.models import Notification

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    """What the gateway answered for an accepted message."""

    provider_ref: str = ""


class SendError(Exception):
    """A message was not sent. `str(error)` is stored (shortened) as the row's `last_error`."""


class TransientSendError(SendError):
    """Not sent this time; worth retrying later."""


class PermanentSendError(SendError):
    """Not sent and never will be: the row fails at once."""


class Sender(abc.ABC):
    """The interface every channel's sender implements."""

    @abc.abstractmethod
    def send(self, notification: Notification, *, address: str) -> SendResult:
        """Send `notification` (title, body, kind, payload) to `address` (a `+86…` phone for
        SMS, an openid for WeChat). Raise TransientSendError or PermanentSendError on failure."""


def address_mask(address: str) -> str:
    """A phone as `138****8000`; anything else (an openid) as its first and last 4 characters."""
    if address.startswith("+86"):
        return phone_mask(address)
    if len(address) <= 8:
        return "*" * len(address)
    return f"{address[:4]}…{address[-4:]}"


class LoggingSender(Sender):
    """The default for both channels: writes one log line per message (channel, masked address,
    kind, title) and "sends" nothing. Development, demos, and production until a gateway is
    configured."""

    def send(self, notification: Notification, *, address: str) -> SendResult:
        logger.info(
            "notify: %s to %s (%s): %s",
            notification.channel,
            address_mask(address),
            notification.kind,
            notification.title,
        )
        return SendResult(provider_ref=f"log-{notification.pk}")


class SmsGatewaySender(Sender):
    """Placeholder for an SMS gateway (Aliyun SMS, Tencent Cloud SMS …). To implement:

    - read the gateway's credentials and signature from settings (environment variables);
    - map `notification.kind` to an approved SMS template code, fill it from `notification.title`
      / `body` / `payload`; send to `address` (`+86…`) with `notification.dedupe_key` as the
      caller's serial number;
    - return `SendResult(provider_ref=<the gateway's BizId / SerialNo>)`; raise
      TransientSendError on timeouts, 5xx and throttling codes, PermanentSendError on invalid
      number, blacklisted or template errors.

    Then set `NOTIFY_SMS_SENDER` to the implementing class's dotted path.
    """

    def send(self, notification: Notification, *, address: str) -> SendResult:
        raise PermanentSendError("SMS gateway not implemented; set NOTIFY_SMS_SENDER")


class WeChatTemplateSender(Sender):
    """Placeholder for WeChat template (subscribe) messages of the official account or
    mini-program. To implement:

    - get and cache the access token (appid / secret from settings), map `notification.kind` to
      a template id and its data fields, link to the campaign page from `notification.payload`;
    - send to `address` (the member's openid);
    - return `SendResult(provider_ref=<msgid>)`; raise TransientSendError on `-1` (system busy),
      an expired token or a network error, PermanentSendError on 43101 (the user refused
      subscription messages), invalid openid or template errors.

    Then set `NOTIFY_WECHAT_SENDER` to the implementing class's dotted path.
    """

    def send(self, notification: Notification, *, address: str) -> SendResult:
        raise PermanentSendError("WeChat template sender not implemented; set NOTIFY_WECHAT_SENDER")


def sender_for(channel: str) -> Sender:
    """A new instance of the sender configured for `channel` ("sms" or "wechat")."""
    paths = {"sms": settings.NOTIFY_SMS_SENDER, "wechat": settings.NOTIFY_WECHAT_SENDER}
    sender_class = import_string(paths[channel])
    return sender_class()
