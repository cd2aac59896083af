"""The campaign pack: template rendering (plain text, the documented context), the timed live
script, the PNG poster (opens at 1080×1920), the PDF poster (its extracted text names the
product), and a missing font (a clear error; the rest of the pack is still made)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.translation import override
from PIL import Image
from pypdf import PdfReader

from apps.campaigns.models import Campaign, CampaignTarget, StoreCampaign
from apps.campaigns.services.campaigns import campaign_draft_from_insight
from apps.campaigns.services.packs import (
    campaign_price,
    pack_context,
    poster_layout,
    store_campaign_pack_generate,
    store_campaign_poster_pdf,
    template_check,
    template_render,
)
from apps.campaigns.services.poster import headline_wrapped
from apps.ops.demo.campaigns import SEASONS as DEMO_SEASONS
from apps.ops.demo.campaigns import TEMPLATES as DEMO_TEMPLATES
from tests.campaigns.factories import (
    BroadcastFactory,
    CampaignFactory,
    CampaignProductFactory,
    CampaignTargetFactory,
    ScenarioTemplateFactory,
    StoreCampaignFactory,
)
from tests.catalog.factories import InsightCardFactory
from tests.factories import ProductFactory, StockLevelFactory, StoreFactory


@pytest.fixture(autouse=True)
def _english(settings: object) -> None:
    """The pack is written in the site's language; these assertions read the English source."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def confirmed(db: None) -> StoreCampaign:
    """A confirmed store campaign at 和睦店 offering blueberries (stock 23, 15% off ¥19.90) and
    yogurt (campaign price ¥6.50), with two target members."""
    template = ScenarioTemplateFactory(
        code="summer-fruit",
        name="夏季水果季",
        live_script_template="大家好，欢迎来到{{ store.name }}！\n今天{{ hour_text }}开播 & 抢购",
        warmup_copy_template=(
            "今晚{{ hour }}点直播：{% for p in products %}{{ p.name }} 只要¥{{ p.campaign_price }}"
            "（库存{{ p.stock }}{{ p.unit }}）{% endfor %} 已有{{ target_count }}位邻居关注"
        ),
        jielong_copy_template=(
            "#接龙 {{ campaign.name }}\n{% for p in products %}{{ forloop.counter }}. {{ p.name }}"
            " ¥{{ p.campaign_price }}\n{% endfor %}"
        ),
        poster_headline_template="{{ campaign.name }} · 甜过初恋",
    )
    campaign = CampaignFactory(
        template=template, name="夏季水果季 第1期", broadcast_hour=20, discount_percent=15
    )
    store = StoreFactory(name="邻里优选·和睦店")
    blueberry = ProductFactory(
        name="低糖蓝莓 125g",
        price=Decimal("19.90"),
        unit="box",
        selling_points="云南高原直采\n\n甜度14+ 颗颗爆汁\n",
    )
    yogurt = ProductFactory(name="无糖酸奶 200g", price=Decimal("8.00"))
    CampaignProductFactory(campaign=campaign, product=blueberry, position=0)
    CampaignProductFactory(campaign=campaign, product=yogurt, price=Decimal("6.50"), position=1)
    StockLevelFactory(store=store, product=blueberry, on_hand=23)
    store_campaign = StoreCampaignFactory(
        campaign=campaign,
        store=store,
        status=StoreCampaign.Status.CONFIRMED,
        confirmed_at=timezone.now(),
    )
    CampaignTargetFactory.create_batch(2, store_campaign=store_campaign)
    return store_campaign


def test_template_renders_plain_text_without_escaping() -> None:
    rendered = template_render(
        source="{{ a }} & {{ b }}", context={"a": "<蓝莓>", "b": "\"酸奶\" & 'milk'"}
    )
    assert rendered == "<蓝莓> & \"酸奶\" & 'milk'"


def test_template_check_reports_a_syntax_error_and_accepts_a_good_template() -> None:
    assert template_check(source="{% for p in products %}{{ p.name }}") is not None
    assert template_check(source="{% for p in products %}{{ p.name }}{% endfor %}") is None


def test_pack_context_has_prices_stock_units_and_selling_points(confirmed: StoreCampaign) -> None:
    context = pack_context(store_campaign=confirmed)
    assert context["hour"] == 20
    assert context["hour_text"] == "20:00"
    assert context["target_count"] == 2
    assert context["store"] == confirmed.store
    assert context["products"] == [
        {
            "number": 1,
            "name": "低糖蓝莓 125g",
            "price": Decimal("19.90"),
            "campaign_price": Decimal("16.90"),
            "stock": 23,
            "suggested_stock": 40,
            "unit": "box",
            "unit_code": "box",
            "emoji": "🫐",
            "selling_points": ["云南高原直采", "甜度14+ 颗颗爆汁"],
            "discounted": True,
        },
        {
            "number": 2,
            "name": "无糖酸奶 200g",
            "price": Decimal("8.00"),
            "campaign_price": Decimal("6.50"),
            "stock": 0,
            "suggested_stock": 40,
            "unit": "piece",
            "unit_code": "piece",
            "emoji": "",
            "selling_points": [],
            "discounted": True,
        },
    ]
    assert context["discounted"] is True


def test_pack_renders_the_copy_from_the_templates(confirmed: StoreCampaign) -> None:
    result = store_campaign_pack_generate(store_campaign=confirmed)
    confirmed.refresh_from_db()
    assert result.errors == []
    assert confirmed.warmup_copy == (
        "今晚20点直播：低糖蓝莓 125g 只要¥16.90（库存23box）无糖酸奶 200g 只要¥6.50"
        "（库存0piece） 已有2位邻居关注"
    )
    assert (
        confirmed.jielong_copy
        == "#接龙 夏季水果季 第1期\n1. 低糖蓝莓 125g ¥16.90\n2. 无糖酸奶 200g ¥6.50"
    )
    assert confirmed.pack_generated_at is not None


def test_live_script_is_timed_with_selling_points_price_and_stock(confirmed: StoreCampaign) -> None:
    store_campaign_pack_generate(store_campaign=confirmed)
    confirmed.refresh_from_db()
    script = confirmed.live_script
    assert [step["at"] for step in script] == ["20:00", "20:05", "20:13", "20:21", "20:31"]
    assert script[0] == {
        "at": "20:00",
        "title": "Opening",
        "lines": ["大家好，欢迎来到邻里优选·和睦店！", "今天20:00开播 & 抢购"],
    }
    assert script[1] == {
        "at": "20:05",
        "title": "低糖蓝莓 125g",
        "lines": [
            "云南高原直采",
            "甜度14+ 颗颗爆汁",
            "List price ¥19.90, live price ¥16.90.",
            "In stock: 23 boxes.",
        ],
    }
    assert script[2]["title"] == "无糖酸奶 200g"
    assert script[3]["lines"] == [
        "#接龙 夏季水果季 第1期",
        "1. 低糖蓝莓 125g ¥16.90",
        "2. 无糖酸奶 200g ¥6.50",
    ]
    assert script[4]["lines"] == ["Thank you for watching! Pick up your order at 邻里优选·和睦店."]


def test_broken_template_falls_back_to_the_default_and_says_so(confirmed: StoreCampaign) -> None:
    template = confirmed.campaign.template
    template.warmup_copy_template = "{% for p in products %}{{ p.name }}"
    template.save()
    result = store_campaign_pack_generate(store_campaign=confirmed)
    confirmed.refresh_from_db()
    assert len(result.errors) == 1
    assert "warm-up copy" in result.errors[0]
    assert confirmed.warmup_copy.startswith("On July 1 20:00, 邻里优选·和睦店 goes live")
    assert confirmed.jielong_copy.startswith("#接龙 夏季水果季 第1期")


def test_png_poster_is_a_1080_by_1920_image(confirmed: StoreCampaign) -> None:
    result = store_campaign_pack_generate(store_campaign=confirmed)
    confirmed.refresh_from_db()
    assert result.poster is True
    with confirmed.poster.open("rb") as poster:
        image = Image.open(io.BytesIO(poster.read()))
        image.load()
    assert image.format == "PNG"
    assert image.size == (1080, 1920)


def test_pdf_poster_contains_the_product_name_and_price(confirmed: StoreCampaign) -> None:
    pdf = store_campaign_poster_pdf(store_campaign=confirmed)
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) == 1
    assert "低糖蓝莓 125g" in text
    assert "¥16.90" in text
    assert "邻里优选·和睦店" in text


def test_pdf_poster_headline_breaks_between_its_parts_leaving_no_dangling_separator(
    confirmed: StoreCampaign,
) -> None:
    pdf = store_campaign_poster_pdf(store_campaign=confirmed)
    lines = PdfReader(io.BytesIO(pdf)).pages[0].extract_text().splitlines()
    # The headline "夏季水果季 第1期 · 甜过初恋" is too wide for one line at its size.
    assert lines[:2] == ["夏季水果季 第1期", "甜过初恋"]


def test_headline_wraps_at_separators_and_cuts_only_a_part_too_long_for_a_line() -> None:
    def fits(line: str) -> bool:
        return len(line) <= 10

    assert headline_wrapped("夏季水果季 · 蓝莓西瓜专场 · 甜蜜一夏", fits=fits) == [
        "夏季水果季",
        "蓝莓西瓜专场",
        "甜蜜一夏",
    ]
    assert headline_wrapped("端午｜粽香邻里", fits=fits) == ["端午 · 粽香邻里"]
    # A part too long for a line is cut by characters; a comma never starts a line.
    assert headline_wrapped("开学季 · 早餐加餐一次备齐课间，不饿", fits=fits) == [
        "开学季",
        "早餐加餐一次备齐课间，",
        "不饿",
    ]


def test_png_poster_products_fill_the_space_down_to_the_footer(confirmed: StoreCampaign) -> None:
    store_campaign_pack_generate(store_campaign=confirmed)
    confirmed.refresh_from_db()
    with confirmed.poster.open("rb") as poster:
        image = Image.open(io.BytesIO(poster.read())).convert("RGB")
    background = image.getpixel((5, 1000))
    # Two products: the walkthrough's poster left everything between them and the footer
    # (which starts at 1720) empty.
    drawn = [
        y
        for y in range(1100, 1720, 10)
        if any(image.getpixel((x, y)) != background for x in range(100, 980, 4))
    ]
    assert len(drawn) > 20
    assert max(drawn) > 1550


def test_demo_warm_up_copy_gives_each_fruit_its_own_emoji(confirmed: StoreCampaign) -> None:
    watermelon = ProductFactory(name="8424西瓜 约5kg", price=Decimal("39.90"))
    CampaignProductFactory(campaign=confirmed.campaign, product=watermelon, position=2)
    summer = next(spec for spec in DEMO_TEMPLATES if spec.code == "summer-fruit")

    copy = template_render(
        source=summer.warmup, context=pack_context(store_campaign=confirmed)
    ).splitlines()

    assert copy[1:4] == [
        "🫐 低糖蓝莓 125g 直播价¥16.90",
        "· 无糖酸奶 200g 直播价¥6.50",
        "🍉 8424西瓜 约5kg 直播价¥33.90",
    ]
    assert "🍇" not in "".join(copy)


def test_copy_for_a_broadcast_tomorrow_names_its_day_and_time_not_tonight(
    confirmed: StoreCampaign,
) -> None:
    """The demo's 夏季水果季 texts rendered for a store whose broadcast is scheduled tomorrow
    at 20:00 (and a campaign of three days): the warm-up names the day, the 接龙 the cut-off the
    owner's offer form proposes, and the live script counts the target list as what it is."""
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    campaign = confirmed.campaign
    campaign.starts_on, campaign.ends_on = tomorrow, tomorrow + dt.timedelta(days=2)
    campaign.save()
    BroadcastFactory(
        store_campaign=confirmed,
        store=confirmed.store,
        scheduled_at=dt.datetime.combine(
            tomorrow, dt.time(20), tzinfo=timezone.get_current_timezone()
        ),
    )
    summer = next(spec for spec in DEMO_TEMPLATES if spec.code == "summer-fruit")
    with override("zh-hans"):
        context = pack_context(store_campaign=confirmed)
        warmup = template_render(source=summer.warmup, context=context)
        jielong = template_render(source=summer.jielong, context=context)
        opening = template_render(source=summer.live_script, context=context)
    day = f"{tomorrow.month}月{tomorrow.day}日"
    assert "今晚" not in warmup
    assert warmup.startswith(f"☀️ 天热了，来点甜的！{day} 20:00，邻里优选·和睦店直播「")
    last = tomorrow + dt.timedelta(days=2)
    assert jielong.endswith(f"{last.month}月{last.day}日 22:00截单，到货后通知自提")
    assert context["cutoff"] == dt.datetime.combine(
        last, dt.time(22), tzinfo=timezone.get_current_timezone()
    )
    assert "预约" not in opening
    assert "2位老邻居" in opening


def test_the_default_warm_up_copy_names_the_broadcasts_day(confirmed: StoreCampaign) -> None:
    template = confirmed.campaign.template
    template.warmup_copy_template = ""
    template.save()
    store_campaign_pack_generate(store_campaign=confirmed)
    confirmed.refresh_from_db()
    assert confirmed.warmup_copy.startswith("On July 1 20:00, 邻里优选·和睦店 goes live")


def test_regenerating_replaces_the_poster_file(confirmed: StoreCampaign) -> None:
    store_campaign_pack_generate(store_campaign=confirmed)
    confirmed.refresh_from_db()
    first = confirmed.poster.name
    store_campaign_pack_generate(store_campaign=confirmed)
    confirmed.refresh_from_db()
    assert confirmed.poster.name
    assert confirmed.poster.storage.exists(confirmed.poster.name)
    assert first == confirmed.poster.name or not confirmed.poster.storage.exists(first)


def test_missing_font_is_a_clear_error_and_the_rest_of_the_pack_is_made(
    confirmed: StoreCampaign, settings: object
) -> None:
    settings.CJK_FONT_PATH = "/nonexistent/wqy-zenhei.ttc"
    result = store_campaign_pack_generate(store_campaign=confirmed)
    confirmed.refresh_from_db()
    assert result.poster is False
    assert len(result.errors) == 1
    assert "CJK font not found at /nonexistent/wqy-zenhei.ttc" in result.errors[0]
    assert "fonts-wqy-zenhei" in result.errors[0]
    assert not confirmed.poster
    assert confirmed.warmup_copy.startswith("今晚20点直播")
    assert len(confirmed.live_script) == 5
    assert confirmed.pack_generated_at is not None


def test_pack_without_a_template_uses_the_defaults(db: None) -> None:
    campaign = CampaignFactory(template=None, name="蓝莓快闪", broadcast_hour=19)
    CampaignProductFactory(campaign=campaign, product=ProductFactory(name="蓝莓 250g"))
    store_campaign = StoreCampaignFactory(
        campaign=campaign, status=StoreCampaign.Status.CONFIRMED, confirmed_at=timezone.now()
    )
    result = store_campaign_pack_generate(store_campaign=store_campaign)
    store_campaign.refresh_from_db()
    assert result.errors == []
    assert "蓝莓 250g only ¥8.50" in store_campaign.warmup_copy
    assert store_campaign.jielong_copy.startswith("#接龙 蓝莓快闪")
    assert store_campaign.live_script[0]["at"] == "19:00"
    assert CampaignTarget.objects.filter(store_campaign=store_campaign).count() == 0


def test_the_chinese_poster_writes_its_dates_as_month_and_day_unpadded(
    confirmed: StoreCampaign,
) -> None:
    import datetime as dt

    from django.utils import translation

    from apps.campaigns.services.packs import poster_layout

    campaign = confirmed.campaign
    campaign.starts_on, campaign.ends_on = dt.date(2026, 9, 5), dt.date(2026, 9, 7)
    campaign.save(update_fields=["starts_on", "ends_on"])
    with translation.override("zh-hans"):
        layout = poster_layout(
            store_campaign=confirmed, context=pack_context(store_campaign=confirmed)
        )
    assert layout.when.startswith("9月5日 – 9月7日，")


def test_a_discounted_campaign_price_is_rounded_down_to_a_whole_jiao() -> None:
    """¥35.90 less 15 % is ¥30.515: a shop prints ¥30.50, never the unrounded ¥30.52; a price
    set by HQ is kept as written, and a tiny price keeps its cents rather than becoming ¥0."""
    assert campaign_price(list_price=Decimal("35.90"), price=None, discount_percent=15) == (
        Decimal("30.50")
    )
    assert campaign_price(list_price=Decimal("19.90"), price=None, discount_percent=0) == (
        Decimal("19.90")
    )
    assert campaign_price(
        list_price=Decimal("35.90"), price=Decimal("29.99"), discount_percent=15
    ) == Decimal("29.99")
    assert campaign_price(list_price=Decimal("0.09"), price=None, discount_percent=15) == (
        Decimal("0.08")
    )


def _insight_store_campaign(*, starts_on: dt.date) -> StoreCampaign:
    """An insight campaign for 云南蓝莓 大果 250g (¥35.90, 15 % off) on the demo's summer
    template (season June–September), as accepting the card names it for staff."""
    spec = next(spec for spec in DEMO_TEMPLATES if spec.code == "summer-fruit")
    template = ScenarioTemplateFactory(
        code=spec.code,
        name=spec.name,
        live_script_template=spec.live_script,
        warmup_copy_template=spec.warmup,
        jielong_copy_template=spec.jielong,
        poster_headline_template=spec.headline,
        season_months=",".join(str(month) for month in DEMO_SEASONS[spec.code]),
    )
    campaign = CampaignFactory(
        template=template,
        origin=Campaign.Origin.INSIGHT,
        name="云南蓝莓 大果 250g (insight)",
        starts_on=starts_on,
        discount_percent=15,
    )
    product = ProductFactory(name="云南蓝莓 大果 250g", price=Decimal("35.90"))
    CampaignProductFactory(campaign=campaign, product=product, position=0)
    return StoreCampaignFactory(
        campaign=campaign,
        store=StoreFactory(name="邻里优选·和睦店"),
        status=StoreCampaign.Status.CONFIRMED,
        confirmed_at=timezone.now(),
    )


def _pack_text(store_campaign: StoreCampaign) -> str:
    store_campaign.refresh_from_db()
    script = "\n".join(
        line for step in store_campaign.live_script for line in [step["title"], *step["lines"]]
    )
    headline = poster_layout(
        store_campaign=store_campaign, context=pack_context(store_campaign=store_campaign)
    ).headline
    return "\n".join([script, store_campaign.warmup_copy, store_campaign.jielong_copy, headline])


def test_an_insight_campaign_out_of_season_gets_neutral_copy_without_the_staff_label(
    db: None,
) -> None:
    """Accepted on 6 December: no "(insight)" for members, no summer weather, no 甜蜜一夏,
    and the rounded price."""
    store_campaign = _insight_store_campaign(starts_on=dt.date(2026, 12, 6))
    result = store_campaign_pack_generate(store_campaign=store_campaign)
    text = _pack_text(store_campaign)
    assert result.errors == []
    assert "insight" not in text
    assert "洞察" not in text
    assert "天热了" not in text
    assert "甜蜜一夏" not in text
    assert "当季水果" not in text
    assert "云南蓝莓 大果 250g ¥30.50" in store_campaign.jielong_copy
    assert "¥30.52" not in text
    assert pack_context(store_campaign=store_campaign)["campaign"].name == "云南蓝莓 大果 250g"


def test_an_insight_campaign_in_season_uses_its_template_copy_under_the_product_name(
    db: None,
) -> None:
    store_campaign = _insight_store_campaign(starts_on=dt.date(2026, 7, 6))
    with override("zh-hans"):
        store_campaign_pack_generate(store_campaign=store_campaign)
    text = _pack_text(store_campaign)
    assert "insight" not in text
    assert "洞察" not in text
    assert store_campaign.warmup_copy.startswith("☀️ 天热了，来点甜的！")
    assert "「云南蓝莓 大果 250g」" in store_campaign.warmup_copy
    assert "今天是云南蓝莓 大果 250g，1款当季水果" in text


def test_season_months_are_read_with_chinese_separators_too() -> None:
    from apps.campaigns.models.campaigns import months_parse

    assert months_parse("6,7,8,9") == frozenset({6, 7, 8, 9})
    assert months_parse("6，7、8 9") == frozenset({6, 7, 8, 9})
    assert months_parse("") == frozenset()
    with pytest.raises(ValueError, match="13"):
        months_parse("13")
    with pytest.raises(ValueError, match="六月"):
        months_parse("六月")


@pytest.fixture
def insight_without_template(store: object) -> StoreCampaign:
    """An owner accepted an insight card for a product no template covers: a one-store
    campaign at discount 0, so the price is the list price (¥59.00), with the default texts."""
    card = InsightCardFactory(
        store=store, product=ProductFactory(name="阳光玫瑰", price=Decimal("59.00"))
    )
    store_campaign = campaign_draft_from_insight(card=card, by=None).store_campaign
    StockLevelFactory(store=store, product=card.product, on_hand=12)
    return store_campaign


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_campaign_without_a_discount_claims_none_in_its_pack(
    insight_without_template: StoreCampaign, settings: object, language: str
) -> None:
    settings.LANGUAGE_CODE = language
    store_campaign = insight_without_template
    assert store_campaign.campaign.discount_percent == 0
    assert store_campaign.campaign.template is None

    store_campaign_pack_generate(store_campaign=store_campaign)
    store_campaign.refresh_from_db()

    script_text = "\n".join(line for step in store_campaign.live_script for line in step["lines"])
    product_step = store_campaign.live_script[1]
    for text in (script_text, store_campaign.warmup_copy):
        for claim in (
            "原价",
            "直播价",
            "团购价",
            "只要",
            "List price",
            "group-buy price",
            "only ¥",
        ):
            assert claim not in text
    if language == "zh-hans":
        assert product_step["lines"][-2] == "价格¥59.00。"
        assert "阳光玫瑰 ¥59.00；" in store_campaign.warmup_copy
        assert store_campaign.live_script[0]["lines"][-1] == "今天是阳光玫瑰。"
    else:
        assert product_step["lines"][-2] == "Price ¥59.00."
        assert "阳光玫瑰 ¥59.00; " in store_campaign.warmup_copy


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_discounted_campaign_still_compares_the_prices_in_its_pack(
    insight_without_template: StoreCampaign, settings: object, language: str
) -> None:
    settings.LANGUAGE_CODE = language
    store_campaign = insight_without_template
    Campaign.objects.filter(pk=store_campaign.campaign_id).update(discount_percent=10)
    store_campaign.campaign.refresh_from_db()

    store_campaign_pack_generate(store_campaign=store_campaign)
    store_campaign.refresh_from_db()

    product_step = store_campaign.live_script[1]
    if language == "zh-hans":
        assert product_step["lines"][-2] == "原价¥59.00，直播价¥53.10。"
        assert "阳光玫瑰 只要¥53.10；" in store_campaign.warmup_copy
        assert store_campaign.live_script[0]["lines"][-1] == "今天是阳光玫瑰，看到最后有团购价哦。"
    else:
        assert product_step["lines"][-2] == "List price ¥59.00, live price ¥53.10."
        assert "阳光玫瑰 only ¥53.10; " in store_campaign.warmup_copy


def test_the_poster_strikes_no_list_price_without_a_discount(
    insight_without_template: StoreCampaign,
) -> None:
    context = pack_context(store_campaign=insight_without_template)
    layout = poster_layout(store_campaign=insight_without_template, context=context)
    assert layout.products == [("阳光玫瑰", "¥59.00", "")]
