"""Decision runs keep their notes as codes with facts, not English sentences.

Until now a run stored in English: in `stats["forecast"]` why no model was trained
(`fallback`, beside its code `fallback_reason`) and why the backtest did not run
(`backtest_error`); in `error`, one line per event of its attempts (taken over, resumed,
abandoned) among the tracebacks; and, before the warnings' codes, `stats["warnings"]` as
sentences. HQ reads the admin in Chinese or English, so these are now facts worded when read
(`apps.catalog.models.decisions`: `run_warning_text`, `run_event_text`,
`backtest_skipped_text`).

The backfill reads the facts back out of the sentences the previous code wrote (the formats
below, frozen here: a migration must not depend on today's app code):

- `stats["forecast"]["fallback"]` is dropped (its code is in `fallback_reason`; parsed from the
  sentence where a run predates that code), `backtest_error` becomes `backtest_skipped`;
- the event lines of `error` move to `events`, in order, and each traceback adds a `failed`
  event with the exception's last line; `error` keeps the tracebacks;
- warning sentences become `{"code", "params"}`.

A sentence that does not parse stays as it is (a warning sentence is shown as stored; an
unknown line stays in `error`, shown when the run has no event). Rerunning changes nothing.
Backwards, the events are written back to `error` as English lines and the backtest's reason
to `backtest_error`, so nothing is lost.
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations

STORES = r"(?P<done>\d+)/(?P<total>\d+) stores done"
LAPSE = (
    r"attempt (?P<attempt>\d+) on (?P<worker>.*?) stopped renewing its lease at "
    r"(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \(" + STORES + r"\)"
)
TAKEN_OVER = re.compile(rf"^{LAPSE}; attempt \d+ on (?P<by>.+) took over$")
ABANDONED = re.compile(rf"^{LAPSE}; abandoned after \d+ attempts$")
RESUMED = re.compile(
    rf"^attempt (?P<attempt>\d+) failed; attempt \d+ on (?P<by>.+) resumed \({STORES}\)$"
)
TRACEBACK = "Traceback (most recent call last):"

MODEL_SHORT = re.compile(r"^(?P<days>\d+) days of history; the model needs (?P<needed>\d+)")
MODEL_NO_SERIES = "no series with sales or stock in the sampled stores"
BACKTEST_SHORT = re.compile(
    r"^no backtest origin fits the panel \((?P<days>\d+) days observed; it needs "
    r"(?P<needed>\d+)\)$"
)
BACKTEST_NO_SALES = "no sales in the sampled stores"
WARNING_MODEL = re.compile(
    r"^forecast model trained on 0 rows: every product is forecast by a baseline "
    r"\(moving average\) tonight(?: \((?P<reason>.+)\))?$"
)
WARNING_WEATHER = re.compile(
    r"^no weather for (?P<city>.+) \((?P<gaps>history and horizon|history|horizon)\): "
    r"stores (?P<stores>[\d, ]*) forecast without weather$"
)


def _model_reason(text):
    if not text:
        return {}
    if text == MODEL_NO_SERIES:
        return {"reason": "no_series"}
    match = MODEL_SHORT.match(text)
    if match:
        return {
            "reason": "short_history",
            "days": int(match["days"]),
            "needed": int(match["needed"]),
        }
    return {"reason": "fit_failed", "error": text}


def _backtest_reason(text):
    if text == BACKTEST_NO_SALES:
        return {"reason": "no_sales"}
    match = BACKTEST_SHORT.match(text)
    if match:
        return {"reason": "short_history", "days": int(match["days"]), "needed": int(match["needed"])}
    return {"reason": "failed", "error": text}


def _warning(sentence):
    if not isinstance(sentence, str):
        return sentence
    match = WARNING_MODEL.match(sentence)
    if match:
        return {"code": "model_untrained", "params": _model_reason(match["reason"])}
    match = WARNING_WEATHER.match(sentence)
    if match:
        city = "" if match["city"] == "(no city)" else match["city"]
        stores = [int(pk) for pk in re.findall(r"\d+", match["stores"])]
        return {
            "code": "weather_missing",
            "params": {
                "city": city,
                "stores": stores,
                "history": "history" in match["gaps"],
                "horizon": "horizon" in match["gaps"],
            },
        }
    return sentence


def _lapse(match):
    zone = ZoneInfo(settings.TIME_ZONE)
    moment = dt.datetime.strptime(match["time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
    worker = match["worker"]
    return {
        "attempt": int(match["attempt"]),
        "worker": "" if worker == "?" else worker,
        "heartbeat": moment.isoformat(),
        "stores_done": int(match["done"]),
        "stores_total": int(match["total"]),
    }


def _events(error):
    """(events, the error without its event lines) read from an `error` text."""
    events, kept, trace = [], [], []
    attempt = 1

    def close_trace():
        lines = [line for line in trace if line.strip()]
        if lines:
            events.append(
                {"code": "failed", "params": {"attempt": attempt, "exception": lines[-1][:300]}}
            )
        kept.extend(trace)
        trace.clear()

    for line in error.splitlines():
        for pattern, code in ((TAKEN_OVER, "taken_over"), (ABANDONED, "abandoned")):
            match = pattern.match(line)
            if match:
                close_trace()
                params = _lapse(match)
                if code == "taken_over":
                    params["by"] = match["by"]
                events.append({"code": code, "params": params})
                attempt = params["attempt"] + 1
                break
        else:
            match = RESUMED.match(line)
            if match:
                close_trace()
                events.append(
                    {
                        "code": "resumed",
                        "params": {
                            "attempt": int(match["attempt"]),
                            "by": match["by"],
                            "stores_done": int(match["done"]),
                            "stores_total": int(match["total"]),
                        },
                    }
                )
                attempt = int(match["attempt"]) + 1
            elif line.startswith(TRACEBACK):
                close_trace()
                trace.append(line)
            elif trace:
                trace.append(line)
            else:
                kept.append(line)
    close_trace()
    return events, "\n".join(kept)


def forwards(apps, schema_editor):
    DecisionRun = apps.get_model("catalog", "DecisionRun")
    for run in DecisionRun.objects.order_by("pk").iterator():
        stats = dict(run.stats or {})
        forecast = dict(stats.get("forecast") or {})
        changed = []
        if "fallback" in forecast:
            if not forecast.get("fallback_reason"):
                forecast["fallback_reason"] = _model_reason(forecast["fallback"]) or None
            del forecast["fallback"]
        if "backtest_error" in forecast:
            text = forecast.pop("backtest_error")
            forecast["backtest_skipped"] = _backtest_reason(text) if text else None
        if forecast != (stats.get("forecast") or {}):
            stats["forecast"] = forecast
        warnings = stats.get("warnings")
        if warnings:
            stats["warnings"] = [_warning(warning) for warning in warnings]
        if stats != (run.stats or {}):
            run.stats = stats
            changed.append("stats")
        if run.error and not run.events:
            events, error = _events(run.error)
            if events:
                run.events = events
                run.error = error
                changed += ["events", "error"]
        if changed:
            run.save(update_fields=changed)


def _lapse_line(params):
    zone = ZoneInfo(settings.TIME_ZONE)
    moment = dt.datetime.fromisoformat(params["heartbeat"]).astimezone(zone)
    return (
        f"attempt {params['attempt']} on {params['worker'] or '?'} stopped renewing its lease "
        f"at {moment:%Y-%m-%d %H:%M:%S} ({params['stores_done']}/{params['stores_total']} "
        "stores done)"
    )


def _event_line(event):
    params = event.get("params") or {}
    code = event.get("code")
    if code == "taken_over":
        return f"{_lapse_line(params)}; attempt {params['attempt'] + 1} on {params['by']} took over"
    if code == "abandoned":
        return f"{_lapse_line(params)}; abandoned after {params['attempt']} attempts"
    if code == "resumed":
        return (
            f"attempt {params['attempt']} failed; attempt {params['attempt'] + 1} on "
            f"{params['by']} resumed ({params['stores_done']}/{params['stores_total']} "
            "stores done)"
        )
    return None  # a failure: its traceback is in `error` already


def backwards(apps, schema_editor):
    DecisionRun = apps.get_model("catalog", "DecisionRun")
    for run in DecisionRun.objects.order_by("pk").iterator():
        changed = []
        lines = [line for line in map(_event_line, run.events or []) if line]
        if lines:
            run.error = "\n".join([run.error, *lines] if run.error else lines)[-4000:]
            changed.append("error")
        forecast = (run.stats or {}).get("forecast")
        if forecast and "backtest_skipped" in forecast:
            forecast = dict(forecast)
            skipped = forecast.pop("backtest_skipped") or {}
            reason = skipped.get("reason")
            forecast["backtest_error"] = (
                BACKTEST_NO_SALES
                if reason == "no_sales"
                else f"no backtest origin fits the panel ({skipped['days']} days observed; "
                f"it needs {skipped['needed']})"
                if reason == "short_history"
                else skipped.get("error")
            )
            run.stats = {**run.stats, "forecast": forecast}
            changed.append("stats")
        if changed:
            run.save(update_fields=changed)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0012_decision_run_events"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
