"""Demo campaigns: selling points for the fruit, the five scenario templates (Chinese copy with
realistic live-script openings, 预热 and 接龙 texts), and one 夏季水果季 campaign launched to the
first region's stores (drafts: the demo owner confirms one with one click and gets the pack).

Deterministic and fast: a few dozen rows, no randomness, no pack generation during the seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Case, Value, When

from apps.campaigns.models import Campaign, ScenarioTemplate
from apps.campaigns.services.campaigns import CampaignProductSpec, campaign_launch
from apps.catalog.models import Category, Product
from apps.customers.models import Tag
from apps.stores.models import Store

# Product name → selling points, one per line (what the host says about it on air).
SELLING_POINTS: dict[str, str] = {
    "低糖蓝莓（云南蓝莓）125g": (
        "云南高原种植，昼夜温差大\n低糖口感，孩子老人都能吃\n颗颗有果粉，当天到店"
    ),
    "云南蓝莓 大果 250g": "18mm+ 大果，一口一颗\n甜度14°以上，果肉紧实\n冷链直达，破损包赔",
    "蓝莓 家庭装 500g": "家庭装更划算，一周的量\n做酸奶碗、烘焙都合适\n冷藏可存5–7天",
    "丹东草莓 500g": "丹东99草莓，奶香浓郁\n个头匀称，适合送礼",
    "树莓 125g": "酸甜可口，富含膳食纤维\n配酸奶、做甜品都好看",
    "8424西瓜 约5kg": "皮薄脆甜，红瓤少籽\n到店现切可验，保甜\n夏天家庭必备",
    "麒麟西瓜 约3kg": "小家庭刚好一顿吃完\n沙瓤多汁，冰镇更好吃",
    "山东甜瓜 约1.5kg": "脆甜爽口，香味浓\n老少皆宜的消暑水果",
    "海南贵妃芒 1.5kg": "海南产地直采，果香浓\n自然成熟，不催熟",
    "奉化水蜜桃 6个": "奉化原产，软糯多汁\n一年只吃这几周",
    "夏黑葡萄 1kg": "无籽脆甜，洗洗就能吃\n孩子最爱的夏季葡萄",
    "蓝莓草莓双拼果盒 300g": "当天鲜切，开盖即食\n蓝莓+草莓双拼，办公室下午茶",
}


@dataclass(frozen=True)
class TemplateSpec:
    code: str
    name: str
    description: str
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    hour: int
    days: int
    discount: int
    live_script: str
    warmup: str
    jielong: str
    headline: str


# The months each template's copy fits (summer copy in summer); a template not named here
# fits all year. ScenarioTemplate.season_months holds them; live.py picks templates by them.
SEASONS: dict[str, tuple[int, ...]] = {
    "summer-fruit": (6, 7, 8, 9),
    "back-to-school": (2, 3, 8, 9),
    "dragon-boat": (5, 6),
    "season-skincare": (3, 4, 9, 10, 11),
}

_JIELONG = (
    "#接龙 {{ campaign.name }}｜{{ store.name }}\n"
    "{% for p in products %}{{ p.number }}️⃣ {{ p.name }} "
    "{% if p.discounted %}团购价¥{{ p.campaign_price }}（原价¥{{ p.price }}）"
    "{% else %}¥{{ p.campaign_price }}{% endif %}\n{% endfor %}"
    "格式：序号. 名字 商品编号×数量（例：1. 李阿姨 {{ products.0.number }}号×2）\n"
    "{{ cutoff_text }}截单，"
    "{% if pickup_date %}{{ pickup_text }}起到店自提{% else %}到货后通知自提{% endif %}"
)

TEMPLATES: tuple[TemplateSpec, ...] = (
    TemplateSpec(
        "summer-fruit",
        "夏季水果季",
        "高温天水果需求上涨：蓝莓、西瓜、桃子，晚间直播 + 社群接龙。",
        ("FRUIT",),
        ("有孩家庭",),
        20,
        3,
        15,
        "各位邻居晚上好，欢迎来到{{ store.name }}的直播间！\n"
        "今天是{{ campaign.name }}，{{ products|length }}款当季水果"
        "{% if discounted %}，团购价只在直播间{% endif %}。\n"
        "这场专为店里{{ target_count }}位老邻居准备，咱们马上开始！",
        "☀️ 天热了，来点甜的！{{ when_text }}，{{ store.name }}直播「{{ campaign.name }}」\n"
        "{% for p in products %}{{ p.emoji|default:'·' }} {{ p.name }} "
        "直播价¥{{ p.campaign_price }}\n{% endfor %}"
        "数量有限，先到先得，记得准时来哦～",
        _JIELONG,
        "{{ campaign.name }} · 甜蜜一夏",
    ),
    TemplateSpec(
        "family-weekend",
        "周末家庭日",
        "周末带娃家庭：牛奶、零食、水果组合，周六上午直播。",
        ("DAIRY", "SNACK"),
        ("有孩家庭",),
        10,
        2,
        10,
        "周末好呀！欢迎爸爸妈妈们来到{{ store.name }}周末家庭日。\n"
        "今天给孩子们准备了{{ products|length }}款好物，边看边下单，周末在家吃得开心。",
        "👨‍👩‍👧 周末家庭日｜{{ when_text }} {{ store.name }}直播\n"
        "{% for p in products %}· {{ p.name }} ¥{{ p.campaign_price }}\n{% endfor %}"
        "带娃的家庭来接龙，满3件店里送小礼物～",
        _JIELONG,
        "周末家庭日 · 一家人的好味道",
    ),
    TemplateSpec(
        "back-to-school",
        "开学季",
        "开学前一周：早餐奶、面包、零食，给孩子备货。",
        ("DAIRY", "SNACK", "GRAIN"),
        ("有孩家庭",),
        19,
        5,
        10,
        "开学倒计时！欢迎来到{{ store.name }}开学季直播。\n"
        "早餐、课间加餐一次备齐，今天{{ products|length }}款都是家长们回购最多的。",
        "🎒 开学季备货｜{{ when_text }} {{ store.name }}直播\n"
        "{% for p in products %}· {{ p.name }} ¥{{ p.campaign_price }}\n{% endfor %}"
        "早餐奶、小零食一次囤好，开学不慌～",
        _JIELONG,
        "开学季 · 早餐加餐一次备齐",
    ),
    TemplateSpec(
        "season-skincare",
        "换季护肤",
        "换季干燥：个人护理、清洁用品，面向年轻家庭与健身人群。",
        ("DAILY",),
        ("健身人群",),
        20,
        4,
        20,
        "换季啦，皮肤容易干！欢迎来到{{ store.name }}换季护肤专场。\n"
        "今天{{ products|length }}款好物，店长亲测，价格只在直播间。",
        "🧴 换季护肤专场｜{{ when_text }} {{ store.name }}\n"
        "{% for p in products %}· {{ p.name }} ¥{{ p.campaign_price }}\n{% endfor %}"
        "社群邻居专享价，直播间见～",
        _JIELONG,
        "换季护肤 · 水润过季",
    ),
    TemplateSpec(
        "dragon-boat",
        "端午节",
        "端午节前：粽子、咸鸭蛋、礼盒，节前三天社群预售。",
        ("GRAIN", "SNACK"),
        (),
        19,
        3,
        10,
        "端午安康！欢迎来到{{ store.name }}端午节直播。\n"
        "今天{{ products|length }}款节日好物，自家吃、走亲戚都合适。",
        "🐉 端午安康｜{{ starts_on|date:'n月j日' }}起 {{ store.name }}端午预售\n"
        "{% for p in products %}· {{ p.name }} ¥{{ p.campaign_price }}\n{% endfor %}"
        "{% if pickup_date %}{{ pickup_text }}起到店自提{% else %}到货后通知自提{% endif %}，"
        "接龙锁定名额～",
        _JIELONG,
        "端午安康 · 粽香邻里",
    ),
)

SUMMER_PRODUCTS: tuple[tuple[str, str | None, int], ...] = (
    # (product name, campaign price or None for the discount, stock per store)
    ("低糖蓝莓（云南蓝莓）125g", "16.90", 40),
    ("云南蓝莓 大果 250g", None, 20),
    ("8424西瓜 约5kg", "34.90", 15),
)


def _selling_points_set() -> int:
    """Give the demo's fruit their selling points (one UPDATE)."""
    return Product.objects.filter(name__in=SELLING_POINTS).update(
        selling_points=Case(
            *[When(name=name, then=Value(text)) for name, text in SELLING_POINTS.items()],
            default=Value(""),
        )
    )


def demo_templates_seed() -> dict[str, ScenarioTemplate]:
    """The five scenario templates, by code (written or updated: a second call changes
    nothing). The live history needs them before the order history is written."""
    return _templates()


def _templates() -> dict[str, ScenarioTemplate]:
    categories = {category.code: category for category in Category.objects.all()}
    tags = {tag.name: tag for tag in Tag.objects.all()}
    made: dict[str, ScenarioTemplate] = {}
    for spec in TEMPLATES:
        template, _created = ScenarioTemplate.objects.update_or_create(
            code=spec.code,
            defaults={
                "name": spec.name,
                "description": spec.description,
                "suggested_hour": spec.hour,
                "duration_days": spec.days,
                "default_discount_percent": spec.discount,
                "live_script_template": spec.live_script,
                "warmup_copy_template": spec.warmup,
                "jielong_copy_template": spec.jielong,
                "poster_headline_template": spec.headline,
                "season_months": ",".join(str(month) for month in SEASONS.get(spec.code, ())),
                "is_active": True,
            },
        )
        template.categories.set(
            [categories[code] for code in spec.categories if code in categories]
        )
        template.target_tags.set([tags[name] for name in spec.tags if name in tags])
        made[spec.code] = template
    return made


def demo_campaigns_seed(*, stores: list[Store], today: dt.date) -> dict[str, int]:
    """Selling points, the five templates (夏季水果季 with its products), and the 夏季水果季
    campaign from tomorrow for the open stores of the first store's region. Returns counts for
    the seed's summary."""
    points = _selling_points_set()
    templates = _templates()
    products = {
        product.name: product
        for product in Product.objects.filter(
            name__in=[name for name, _price, _stock in SUMMER_PRODUCTS]
        )
    }
    specs = [
        CampaignProductSpec(
            product=products[name],
            price=Decimal(price) if price else None,
            suggested_stock=stock,
        )
        for name, price, stock in SUMMER_PRODUCTS
        if name in products
    ]
    # The template's own products: what HQ gets when it launches 夏季水果季 naming none.
    templates["summer-fruit"].products.set(products.values())
    campaigns = 0
    if specs and stores:
        campaign_launch(
            template=templates["summer-fruit"],
            name="夏季水果季 · 蓝莓西瓜专场",
            starts_on=today + dt.timedelta(days=1),
            products=specs,
            regions=[stores[0].region],
            by=None,
        )
        campaigns = Campaign.objects.count()
    return {"selling_points": points, "templates": len(templates), "campaigns": campaigns}
