"""Serializer fields the API's machine endpoints share."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from rest_framework import serializers

from linli.imports.contract import FUTURE_TOLERANCE, CellError, moment_check, moment_latest


class CheckedMomentField(serializers.DateTimeField):
    """A date-time in the imports' range (`moment_check`: not before 2000, not after now +
    `future_tolerance`), checked before any time-zone conversion; without an offset it is
    the site's local time. Year 1 would overflow a conversion (DRF's own check of a naive
    moment converts it to UTC), so a naive moment is only given its zone (no arithmetic)
    before the range check, and converted after it: 400 `too_early`, never a 500."""

    future_tolerance: dt.timedelta = FUTURE_TOLERANCE

    def enforce_timezone(self, value: dt.datetime) -> dt.datetime:
        if timezone.is_aware(value):
            aware = value
        else:
            zone = getattr(self, "timezone", None) or self.default_timezone()
            aware = value.replace(tzinfo=zone)
        try:
            moment_check(
                aware,
                value=value.isoformat(),
                latest=moment_latest(tolerance=self.future_tolerance),
            )
        except CellError as problem:
            raise serializers.ValidationError(problem.reason, code=problem.code) from problem
        return super().enforce_timezone(value)
