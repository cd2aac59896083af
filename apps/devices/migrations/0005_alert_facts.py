"""Device alerts store facts, not a sentence.

Until now an alert's detail was one sentence written once, in the language of the process that
raised it (Chinese), so HQ reading in English saw Chinese. `facts` holds what the sentence
states and the pages word it in the reader's language (`apps.devices.models.alert_detail_text`).

The backfill reads the facts back out of the sentences the previous code wrote, in English or
in Chinese (the exact formats below, frozen here: a migration must not depend on today's app
code). The detail text stays in its column: a row whose text does not parse (written by hand,
or in a format not listed) keeps `facts` empty and is still shown with that text. Rerunning the
backfill changes nothing (only rows with empty facts are read).

A sentence gives the day and the minute without the year ("07-01 14:03", local time): the year
is the one that puts it at or before the alert's own time.
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations, models

NUMBER = r"-?\d+(?:\.\d+)?"
MINUTE = r"(?P<month>\d\d)-(?P<day>\d\d) (?P<hour>\d\d):(?P<minute>\d\d)"

TEMPERATURE = [
    re.compile(
        rf"^(?P<value>{NUMBER}) °C, outside (?P<range>.+) for (?P<minutes>\d+) minutes "
        rf"\(since {MINUTE}\)$"
    ),
    re.compile(
        rf"^(?P<value>{NUMBER}) °C，已超出 (?P<range>.+) 达 (?P<minutes>\d+) 分钟"
        rf"（自 {MINUTE} 起）$"
    ),
]
RANGE_BOTH = [
    re.compile(rf"^(?P<low>{NUMBER}) to (?P<high>{NUMBER}) °C$"),
    re.compile(rf"^(?P<low>{NUMBER}) 至 (?P<high>{NUMBER}) °C$"),
]
RANGE_LOW = [
    re.compile(rf"^at least (?P<low>{NUMBER}) °C$"),
    re.compile(rf"^不低于 (?P<low>{NUMBER}) °C$"),
]
RANGE_HIGH = [
    re.compile(rf"^at most (?P<high>{NUMBER}) °C$"),
    re.compile(rf"^不高于 (?P<high>{NUMBER}) °C$"),
]
SILENT = [
    re.compile(rf"^no reading for (?P<minutes>\d+) minutes \(last seen {MINUTE}\)$"),
    re.compile(rf"^已 (?P<minutes>\d+) 分钟无读数（最后上报于 {MINUTE}）$"),
]
ENERGY = [
    re.compile(
        rf"^(?P<recent>{NUMBER}) Wh in the last hour, (?P<ratio>{NUMBER})× the usual "
        rf"(?P<median>{NUMBER}) Wh per hour$"
    ),
    re.compile(
        rf"^最近一小时 (?P<recent>{NUMBER}) Wh，是平时每小时 (?P<median>{NUMBER}) Wh 的 "
        rf"(?P<ratio>{NUMBER}) 倍$"
    ),
]


def _first_match(patterns, text):
    for pattern in patterns:
        match = pattern.match(text)
        if match:
            return match
    return None


def _moment(match, *, before):
    """The local minute named in `match`, in the year that puts it at or before `before`."""
    zone = ZoneInfo(settings.TIME_ZONE)
    local = before.astimezone(zone)
    for year in (local.year, local.year - 1):
        try:
            moment = dt.datetime(
                year,
                int(match["month"]),
                int(match["day"]),
                int(match["hour"]),
                int(match["minute"]),
                tzinfo=zone,
            )
        except ValueError:  # 02-29 in a year without it
            continue
        if moment <= before + dt.timedelta(minutes=1):
            return moment
    return None


def _range(text):
    match = _first_match(RANGE_BOTH, text)
    if match:
        return float(match["low"]), float(match["high"])
    match = _first_match(RANGE_LOW, text)
    if match:
        return float(match["low"]), None
    match = _first_match(RANGE_HIGH, text)
    if match:
        return None, float(match["high"])
    return None


def facts_from_detail(*, kind, detail, value, opened_at):
    """The facts stated by an old detail sentence, or None when it does not parse."""
    text = (detail or "").strip()
    if kind == "temperature_out_of_range":
        match = _first_match(TEMPERATURE, text)
        limits = _range(match["range"]) if match else None
        since = _moment(match, before=opened_at) if match else None
        if limits is None or since is None:
            return None
        return {
            # The row's value is the reading itself; the sentence rounded it.
            "value": value if value is not None else float(match["value"]),
            "unit": "°C",
            "min": limits[0],
            "max": limits[1],
            "minutes": int(match["minutes"]),
            "since": since.isoformat(),
        }
    if kind == "device_silent":
        match = _first_match(SILENT, text)
        last_seen = _moment(match, before=opened_at) if match else None
        if last_seen is None:
            return None
        return {"minutes": int(match["minutes"]), "last_seen": last_seen.isoformat()}
    if kind == "energy_spike":
        match = _first_match(ENERGY, text)
        if match is None:
            return None
        return {
            "recent_wh": value if value is not None else float(match["recent"]),
            "median_wh": float(match["median"]),
            "unit": "Wh",
        }
    return None


def backfill_facts(apps, schema_editor):
    DeviceAlert = apps.get_model("devices", "DeviceAlert")
    rows = DeviceAlert.objects.filter(facts={}).exclude(detail="")
    changed = []
    for alert in rows.only("pk", "kind", "detail", "value", "opened_at").iterator(chunk_size=2000):
        facts = facts_from_detail(
            kind=alert.kind, detail=alert.detail, value=alert.value, opened_at=alert.opened_at
        )
        if facts is not None:
            alert.facts = facts
            changed.append(alert)
    DeviceAlert.objects.bulk_update(changed, ["facts"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0004_alerts_evaluated_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="devicealert",
            name="facts",
            field=models.JSONField(blank=True, default=dict, verbose_name="facts"),
        ),
        migrations.AlterField(
            model_name="devicealert",
            name="detail",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                max_length=300,
                verbose_name="detail as first written",
            ),
        ),
        migrations.RunPython(backfill_facts, migrations.RunPython.noop, elidable=True),
    ]
