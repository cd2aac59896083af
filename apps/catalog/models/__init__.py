"""Catalog models: master data (`master`: categories, products, weather observations) and
the decision engine's tables (`decisions`). They name each other lazily ("catalog.Product"),
so the order does not matter."""

from __future__ import annotations

from apps.catalog.models.decisions import (
    RUN_WARNING_MODEL_UNTRAINED,
    RUN_WARNING_WEATHER_MISSING,
    CoPurchaseRule,
    DailyListEntry,
    DecisionRun,
    DecisionSettings,
    DemandForecast,
    ForecastBacktest,
    ForecastMethod,
    ForecastMethodChoice,
    InsightCard,
    ListKind,
    MemberSuggestion,
    ProductRepurchaseInterval,
    ReasonKind,
    RuleRun,
    RuleScope,
    run_warning,
    run_warning_text,
    weather_missing_text,
)
from apps.catalog.models.master import Category, Product, WeatherObservation

__all__ = [
    "RUN_WARNING_MODEL_UNTRAINED",
    "RUN_WARNING_WEATHER_MISSING",
    "Category",
    "CoPurchaseRule",
    "DailyListEntry",
    "DecisionRun",
    "DecisionSettings",
    "DemandForecast",
    "ForecastBacktest",
    "ForecastMethod",
    "ForecastMethodChoice",
    "InsightCard",
    "ListKind",
    "MemberSuggestion",
    "Product",
    "ProductRepurchaseInterval",
    "ReasonKind",
    "RuleRun",
    "RuleScope",
    "WeatherObservation",
    "run_warning",
    "run_warning_text",
    "weather_missing_text",
]
