"""Every KPI, defined once: its code, label, unit, direction, how it is computed and where its
data comes from. docs/kpis.md says the same in prose; the computation lives in
`apps.stores.kpis.services`, the reads in `apps.stores.kpis.selectors`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# How a region's or the network's figure comes from its parts.
POOLED = "pooled"  # sum of numerators / sum of denominators (a weighted mean)
SUM = "sum"  # plain sum of the stores' values
MEMBERS = "members"  # recounted over members in the whole region / network (repurchase)


@dataclass(frozen=True)
class KpiDefinition:
    code: str
    label: Promise
    unit: Promise
    higher_is_better: bool
    # value = numerator / denominator × scale (scale None: the value is the numerator).
    scale: int | None
    aggregation: str
    definition: Promise
    source: str
    # Admin changelist behind the figure (app_label, model_name).
    admin_model: tuple[str, str]
    # An admin page (URL name) that reads the figure in detail for a month given as
    # `?month=YYYY-MM`, with the changelist's view permission: the dashboard's card links
    # there instead of the changelist.
    admin_report: str = ""

    def display(self, value: Decimal | None) -> str:
        """The value as a person reads it: "¥12,345", "12.3%", "0.42", "—" for no figure."""
        if value is None:
            return "—"
        if self.code == "gmv":
            return f"¥{value:,.0f}"
        if str(self.unit) == "%":
            return f"{value:.1f}%"
        if self.code == "inventory_turnover":
            return f"{value:.2f}"
        return f"{value:.1f}"

    def display_change(self, change: Decimal | None) -> str:
        """A month-on-month change, signed ("+3.2 pp" for percentages, "-¥53,589" for money,
        with the currency as `display` shows the value)."""
        if change is None:
            return ""
        if self.code == "gmv":
            signed = f"{change:+,.0f}"
            return f"{signed[0]}¥{signed[1:]}"
        if str(self.unit) == "%":
            return gettext("%(change)s pp") % {"change": f"{change:+.1f}"}
        if self.code == "inventory_turnover":
            return f"{change:+.2f}"
        return f"{change:+.1f}"


KPIS: tuple[KpiDefinition, ...] = (
    KpiDefinition(
        code="gmv",
        label=_("GMV"),
        unit=_("yuan"),
        higher_is_better=True,
        scale=None,
        aggregation=SUM,
        definition=_(
            "What the month's orders (not cancelled or refunded) sold: their totals less the "
            "refunds given on them (after-sales cases approved or resolved with a refund)."
        ),
        source="stores.Order, procurement.AfterSalesCase",
        admin_model=("stores", "order"),
    ),
    KpiDefinition(
        code="gross_margin",
        label=_("Gross margin"),
        unit="%",
        higher_is_better=True,
        scale=100,
        aggregation=POOLED,
        definition=_(
            "(Sales − cost of goods sold) / sales, over the month's order lines whose product "
            "has a cost; cost is the product's cost price."
        ),
        source="stores.OrderLine × catalog.Product.cost",
        admin_model=("stores", "order"),
    ),
    KpiDefinition(
        code="inventory_turnover",
        label=_("Inventory turnover"),
        unit=_("times per month"),
        higher_is_better=True,
        scale=1,
        aggregation=POOLED,
        definition=_(
            "Stock sold through the ledger in the month, at cost / stock value at cost at the "
            "month's end, rebuilt from the stock ledger; empty for a store whose sales do not "
            "take stock through the ledger that month."
        ),
        source="stores.StockMovement (sale), stores.StockLevel",
        admin_model=("stores", "stocklevel"),
    ),
    KpiDefinition(
        code="loss_rate",
        label=_("Loss rate"),
        unit="%",
        higher_is_better=False,
        scale=100,
        aggregation=POOLED,
        definition=_(
            "Value lost (loss movements) / (value sold + value lost), both at the product's "
            "price; empty for a month with no loss recorded anywhere in the network."
        ),
        source="stores.StockMovement (loss), stores.OrderLine",
        admin_model=("stores", "stockmovement"),
        admin_report="admin:stores_stockmovement_loss_report",
    ),
    KpiDefinition(
        code="repurchase_rate",
        label=_("Monthly repurchase"),
        unit="%",
        higher_is_better=True,
        scale=100,
        aggregation=MEMBERS,
        definition=_(
            "Of the members who bought in the previous month, the share who bought again this "
            "month (next-month return rate; a region or the network counts a return anywhere "
            "in it)."
        ),
        source="stores.Order (member orders)",
        admin_model=("customers", "member"),
    ),
    KpiDefinition(
        code="repeat_buyer_share",
        label=_("Repeat buyers in the month"),
        unit="%",
        higher_is_better=True,
        scale=100,
        aggregation=MEMBERS,
        definition=_("Of the members who bought this month, the share who bought at least twice."),
        source="stores.Order (member orders)",
        admin_model=("customers", "member"),
    ),
    KpiDefinition(
        code="group_buy_success_rate",
        label=_("Group-buy success rate"),
        unit="%",
        higher_is_better=True,
        scale=100,
        aggregation=POOLED,
        definition=_(
            "Group-buy offers whose deadline fell in the month: formed / (formed + not formed)."
        ),
        source="campaigns.GroupBuyOffer",
        admin_model=("campaigns", "groupbuyoffer"),
    ),
    KpiDefinition(
        code="nps",
        label=_("NPS"),
        unit=_("points"),
        higher_is_better=True,
        scale=100,
        aggregation=POOLED,
        definition=_(
            "(Promoters 9–10 − detractors 0–6) / answers × 100, over the month's answers."
        ),
        source="customers.NpsAnswer",
        admin_model=("customers", "npsanswer"),
    ),
    KpiDefinition(
        code="live_conversion",
        label=_("Live broadcast conversion"),
        unit="%",
        higher_is_better=True,
        scale=100,
        aggregation=POOLED,
        definition=_(
            "Buyers of the broadcasts that started in the month (distinct members with a "
            "group-buy join that was not cancelled, at most the broadcast's peak viewers) / the "
            "sum of those broadcasts' peak viewers, so never more than one buyer per viewer."
        ),
        source="campaigns.Broadcast, campaigns.GroupBuyJoin",
        admin_model=("campaigns", "broadcast"),
    ),
    KpiDefinition(
        code="community_activity",
        label=_("Community activity"),
        unit=_("messages per 100 buyers"),
        higher_is_better=True,
        scale=100,
        aggregation=POOLED,
        definition=_(
            "Chat-group messages of the month per 100 members who bought at the store that "
            "month; empty for a month with no message anywhere in the network."
        ),
        source="customers.CommunityMessage",
        admin_model=("customers", "communitymessage"),
    ),
    KpiDefinition(
        code="inspection_score",
        label=_("Inspection score"),
        unit=_("points"),
        higher_is_better=True,
        scale=1,
        aggregation=POOLED,
        definition=_("Mean score (0–100) of the inspections submitted in the month."),
        source="stores.Inspection",
        admin_model=("stores", "inspection"),
    ),
)

KPI_BY_CODE: dict[str, KpiDefinition] = {kpi.code: kpi for kpi in KPIS}
KPI_CODES: tuple[str, ...] = tuple(KPI_BY_CODE)


def kpi_label(code: str) -> str:
    """The KPI's translated label; a code no definition knows is shown as it is."""
    definition = KPI_BY_CODE.get(code)
    return str(definition.label) if definition is not None else code


def kpi_value(code: str, value: Decimal | None) -> str:
    """The value in the KPI's format, as the KPI pages show it ("¥12,345", "12.3%"); "—" for
    none, and a code no definition knows as the plain number."""
    definition = KPI_BY_CODE.get(code)
    if definition is None:
        return "—" if value is None else str(value)
    return definition.display(value)
