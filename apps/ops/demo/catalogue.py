"""The demo catalogue: category tree, ~190 products and the suppliers that sell them.

Fixed data (independent of the seed), so SKUs and names are the same in every demo database.
Only popularity weights are drawn per seed, in the generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class CategorySpec:
    code: str
    name: str
    parent: str | None = None
    is_fresh: bool = False
    # Share of basket lines of a shopper without any scene (leaf categories only).
    share: float = 0.0


@dataclass(frozen=True)
class ProductSpec:
    category: str
    name: str
    unit: str
    price: str
    shelf_life_days: int
    weight: float = 1.0  # popularity within its category (the generator cubes it, see orders.py)
    key: str = ""  # symbolic name used by planted patterns and group buys
    is_new: bool = False
    is_high_value: bool = False
    is_active: bool = True
    season: tuple[int, ...] = ()  # months in season (fruit); empty = all year
    audience: str = ""  # "cat" / "dog" for pet treats


@dataclass(frozen=True)
class SupplierSpec:
    code: str
    name: str
    kind: str
    province: str
    contact: str
    lead_time_days: int
    categories: tuple[str, ...]  # leaf categories it is the preferred supplier of
    backup_for: tuple[str, ...] = ()  # leaf categories it also offers (not preferred)
    key: str = ""


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec("FRUIT", "水果", is_fresh=True),
    CategorySpec("FRUIT-BERRY", "浆果", "FRUIT", True, 0.035),
    CategorySpec("FRUIT-MELON", "瓜类", "FRUIT", True, 0.030),
    CategorySpec("FRUIT-CITRUS", "柑橘", "FRUIT", True, 0.030),
    CategorySpec("FRUIT-POME", "苹果梨", "FRUIT", True, 0.035),
    CategorySpec("FRUIT-TROP", "热带水果", "FRUIT", True, 0.050),
    CategorySpec("FRUIT-GRAPE", "葡萄提子", "FRUIT", True, 0.025),
    CategorySpec("FRUIT-STONE", "桃李枣", "FRUIT", True, 0.020),
    CategorySpec("FRUIT-CUT", "鲜切果盒", "FRUIT", True, 0.010),
    CategorySpec("DAIRY", "乳品", is_fresh=True),
    CategorySpec("DAIRY-MILK", "牛奶", "DAIRY", True, 0.080),
    CategorySpec("DAIRY-YOGURT", "酸奶", "DAIRY", True, 0.055),
    CategorySpec("DAIRY-OTHER", "奶酪黄油", "DAIRY", True, 0.015),
    CategorySpec("BABY", "母婴"),
    CategorySpec("BABY-FORMULA", "婴儿奶粉", "BABY"),
    CategorySpec("BABY-FOOD", "婴儿辅食", "BABY"),
    CategorySpec("BABY-CARE", "婴儿用品", "BABY"),
    CategorySpec("GRAIN", "粮油"),
    CategorySpec("GRAIN-RICE", "大米", "GRAIN", share=0.020),
    CategorySpec("GRAIN-OIL", "食用油", "GRAIN", share=0.020),
    CategorySpec("GRAIN-NOODLE", "面粉面条", "GRAIN", share=0.020),
    CategorySpec("GRAIN-MISC", "杂粮", "GRAIN", share=0.015),
    CategorySpec("GRAIN-SEASON", "调味品", "GRAIN", share=0.025),
    CategorySpec("COFFEE", "咖啡"),
    CategorySpec("COFFEE-BEAN", "精品咖啡豆", "COFFEE", share=0.008),
    CategorySpec("COFFEE-DRIP", "挂耳速溶咖啡", "COFFEE", share=0.022),
    CategorySpec("PET", "宠物食品"),
    CategorySpec("PET-CAT", "猫粮", "PET"),
    CategorySpec("PET-DOG", "狗粮", "PET"),
    CategorySpec("PET-TREAT", "宠物零食", "PET"),
    CategorySpec("SNACK", "零食"),
    CategorySpec("SNACK-NUT", "坚果炒货", "SNACK", share=0.030),
    CategorySpec("SNACK-BISCUIT", "饼干糕点", "SNACK", share=0.035),
    CategorySpec("SNACK-CANDY", "糖果巧克力", "SNACK", share=0.020),
    CategorySpec("SNACK-PUFF", "膨化食品", "SNACK", share=0.030),
    CategorySpec("SNACK-MEAT", "肉干卤味", "SNACK", share=0.025),
    CategorySpec("HEALTH", "健康轻食"),
    CategorySpec("HEALTH-PROTEIN", "运动营养", "HEALTH"),
    CategorySpec("HEALTH-LOWSUGAR", "低糖轻食", "HEALTH", share=0.012),
    CategorySpec("DRINK", "饮料"),
    CategorySpec("DRINK-WATER", "饮用水", "DRINK", share=0.040),
    CategorySpec("DRINK-JUICE", "果汁", "DRINK", share=0.025),
    CategorySpec("DRINK-TEA", "茶饮料", "DRINK", share=0.030),
    CategorySpec("DRINK-SODA", "碳酸饮料", "DRINK", share=0.030),
    CategorySpec("DRINK-RTD", "即饮咖啡", "DRINK", share=0.015),
    CategorySpec("DAILY", "日用品"),
    CategorySpec("DAILY-PAPER", "纸品", "DAILY", share=0.030),
    CategorySpec("DAILY-CLEAN", "清洁用品", "DAILY", share=0.030),
    CategorySpec("DAILY-CARE", "个人护理", "DAILY", share=0.030),
    CategorySpec("DAILY-LITTER", "猫砂", "DAILY"),
)

# Margin: cost = price × ratio of the top-level category.
COST_RATIO: dict[str, Decimal] = {
    "FRUIT": Decimal("0.62"),
    "DAIRY": Decimal("0.72"),
    "BABY": Decimal("0.78"),
    "GRAIN": Decimal("0.80"),
    "COFFEE": Decimal("0.55"),
    "PET": Decimal("0.68"),
    "SNACK": Decimal("0.62"),
    "HEALTH": Decimal("0.60"),
    "DRINK": Decimal("0.65"),
    "DAILY": Decimal("0.70"),
}

P = ProductSpec
SUMMER = (5, 6, 7, 8, 9)
WINTER = (11, 12, 1, 2, 3)

PRODUCTS: tuple[ProductSpec, ...] = (
    # 浆果
    P("FRUIT-BERRY", "低糖蓝莓（云南蓝莓）125g", "box", "19.90", 10, 3.0, "blueberry_low_sugar"),
    P("FRUIT-BERRY", "云南蓝莓 大果 250g", "box", "35.90", 10, 1.5, "blueberry_large"),
    P("FRUIT-BERRY", "蓝莓 家庭装 500g", "box", "59.90", 10, 0.6, is_high_value=True),
    P("FRUIT-BERRY", "丹东草莓 500g", "box", "39.90", 4, 1.5, season=(12, 1, 2, 3, 4)),
    P("FRUIT-BERRY", "树莓 125g", "box", "22.90", 5, 0.5),
    P(
        "FRUIT-BERRY",
        "智利车厘子 JJ级 1kg",
        "box",
        "128.00",
        12,
        0.4,
        is_high_value=True,
        season=(12, 1, 2),
    ),
    # 瓜类
    P("FRUIT-MELON", "山东甜瓜 约1.5kg", "piece", "16.80", 7, 2.0, "melon_shandong"),
    P("FRUIT-MELON", "8424西瓜 约5kg", "piece", "39.90", 10, 2.0, "watermelon", season=SUMMER),
    P("FRUIT-MELON", "麒麟西瓜 约3kg", "piece", "29.90", 10, 1.5, season=SUMMER),
    P("FRUIT-MELON", "冰镇西瓜 半个", "piece", "15.90", 2, 1.0, season=(6, 7, 8, 9)),
    P("FRUIT-MELON", "新疆哈密瓜 约2kg", "piece", "29.90", 10, 1.0, season=(7, 8, 9, 10)),
    P("FRUIT-MELON", "玉菇甜瓜 约1.2kg", "piece", "22.80", 7, 1.0, season=SUMMER),
    P("FRUIT-MELON", "羊角蜜 500g", "bag", "12.90", 5, 0.8, season=(4, 5, 6, 7, 8)),
    # 柑橘
    P("FRUIT-CITRUS", "赣南脐橙 2.5kg", "box", "29.90", 30, 1.5, season=(11, 12, 1, 2, 3)),
    P("FRUIT-CITRUS", "砂糖橘 2.5kg", "box", "26.90", 20, 1.5, season=(11, 12, 1, 2)),
    P("FRUIT-CITRUS", "丑橘（不知火）1.5kg", "box", "32.90", 20, 0.8, season=(1, 2, 3, 4)),
    P("FRUIT-CITRUS", "广西沃柑 2kg", "box", "25.90", 25, 1.0, season=(12, 1, 2, 3, 4)),
    P("FRUIT-CITRUS", "黄柠檬 4个装", "pack", "9.90", 30, 1.0),
    P("FRUIT-CITRUS", "红心柚 1个", "piece", "15.90", 30, 0.8, season=(9, 10, 11, 12)),
    # 苹果梨
    P("FRUIT-POME", "烟台红富士苹果 2kg", "box", "25.90", 30, 2.0, "apple_yantai"),
    P("FRUIT-POME", "阿克苏冰糖心苹果 2.5kg", "box", "39.90", 30, 1.2, season=(10, 11, 12, 1, 2)),
    P("FRUIT-POME", "库尔勒香梨 1.5kg", "box", "26.90", 30, 1.0, season=(9, 10, 11, 12, 1)),
    P("FRUIT-POME", "砀山酥梨 2kg", "box", "15.90", 20, 0.8),
    P("FRUIT-POME", "丑苹果 家庭装 5kg", "box", "49.90", 30, 0.5),
    # 热带水果
    P("FRUIT-TROP", "香蕉 约1kg", "bag", "8.90", 5, 4.0, "banana"),
    P("FRUIT-TROP", "海南贵妃芒 1.5kg", "box", "29.90", 7, 1.0, season=(3, 4, 5, 6, 7, 8)),
    P("FRUIT-TROP", "台农芒果 1kg", "box", "19.90", 7, 1.0, season=(4, 5, 6, 7, 8)),
    P("FRUIT-TROP", "海南菠萝 1个", "piece", "12.90", 7, 0.8, season=(2, 3, 4, 5, 6)),
    P("FRUIT-TROP", "红心火龙果 2个", "pack", "19.90", 10, 1.0),
    P("FRUIT-TROP", "金枕榴莲 约2.5kg", "piece", "168.00", 5, 0.3, is_high_value=True),
    P("FRUIT-TROP", "泰国山竹 1kg", "box", "49.90", 7, 0.5, season=(5, 6, 7, 8)),
    P("FRUIT-TROP", "海南椰青 2个", "pack", "19.90", 14, 0.8),
    P("FRUIT-TROP", "绿心猕猴桃 6个", "pack", "24.90", 21, 1.0),
    # 葡萄提子
    P("FRUIT-GRAPE", "阳光玫瑰青提 1kg", "box", "39.90", 10, 1.5, season=(7, 8, 9, 10, 11, 12)),
    P("FRUIT-GRAPE", "巨峰葡萄 1kg", "box", "19.90", 7, 1.0, season=(7, 8, 9, 10)),
    P("FRUIT-GRAPE", "夏黑葡萄 1kg", "box", "22.90", 7, 1.0, season=(6, 7, 8, 9)),
    P("FRUIT-GRAPE", "红提 1kg", "box", "24.90", 10, 1.0),
    # 桃李枣
    P("FRUIT-STONE", "奉化水蜜桃 6个", "box", "39.90", 5, 1.0, season=(6, 7, 8)),
    P("FRUIT-STONE", "黄桃 1.5kg", "box", "19.90", 7, 0.8, season=(7, 8, 9)),
    P("FRUIT-STONE", "油桃 1kg", "box", "15.90", 7, 0.8, season=(5, 6, 7, 8)),
    P("FRUIT-STONE", "沾化冬枣 1kg", "box", "19.90", 10, 1.2, season=(9, 10, 11)),
    P("FRUIT-STONE", "新疆骏枣 500g", "bag", "25.90", 180, 0.6),
    # 鲜切果盒
    P("FRUIT-CUT", "鲜切西瓜盒 400g", "box", "12.90", 1, 1.5, season=(5, 6, 7, 8, 9, 10)),
    P("FRUIT-CUT", "什锦果切盒 350g", "box", "15.90", 1, 1.0),
    P("FRUIT-CUT", "菠萝蜜果肉盒 300g", "box", "16.90", 2, 0.6),
    P("FRUIT-CUT", "蓝莓草莓双拼果盒 300g", "box", "18.90", 1, 0.8, is_new=True),
    # 牛奶
    P("DAIRY-MILK", "鲜牛奶 950ml", "bottle", "16.90", 7, 2.5, "milk_fresh_950"),
    P("DAIRY-MILK", "鲜牛奶 250ml", "bottle", "5.50", 7, 1.5),
    P("DAIRY-MILK", "纯牛奶 250ml×12", "box", "39.90", 180, 2.0),
    P("DAIRY-MILK", "低脂牛奶 250ml×12", "box", "42.90", 180, 0.8),
    P("DAIRY-MILK", "有机纯牛奶 250ml×10", "box", "59.90", 180, 0.6),
    P("DAIRY-MILK", "A2β-酪蛋白牛奶 250ml×10", "box", "69.90", 180, 0.4),
    P("DAIRY-MILK", "无乳糖牛奶 220ml×12", "box", "45.90", 180, 0.5),
    P("DAIRY-MILK", "燕麦奶 1L", "bottle", "19.90", 270, 0.6, is_new=True),
    # 酸奶
    P("DAIRY-YOGURT", "无蔗糖原味酸奶 180g", "bottle", "6.90", 21, 2.0, "yogurt_no_sugar"),
    P("DAIRY-YOGURT", "原味酸奶 100g×8", "pack", "15.90", 21, 1.5),
    P("DAIRY-YOGURT", "希腊酸奶 135g", "bottle", "8.90", 21, 1.0),
    P("DAIRY-YOGURT", "老酸奶 160g×6", "pack", "19.90", 21, 0.8),
    P("DAIRY-YOGURT", "草莓果粒酸奶 200g", "bottle", "7.50", 21, 1.0),
    P("DAIRY-YOGURT", "常温酸奶 200g×12", "box", "59.90", 150, 0.8),
    P("DAIRY-YOGURT", "益生菌酸奶 1kg", "bottle", "22.90", 21, 0.6),
    # 奶酪黄油
    P("DAIRY-OTHER", "儿童奶酪棒 500g", "pack", "39.90", 180, 1.5, "cheese_sticks"),
    P("DAIRY-OTHER", "动物黄油 200g", "pack", "29.90", 180, 0.6),
    P("DAIRY-OTHER", "马苏里拉芝士碎 250g", "pack", "25.90", 180, 0.6),
    P("DAIRY-OTHER", "淡奶油 250ml", "box", "19.90", 30, 0.5),
    # 婴儿奶粉
    P("BABY-FORMULA", "婴儿配方奶粉 1段 800g", "piece", "298.00", 720, 1.0, is_high_value=True),
    P("BABY-FORMULA", "较大婴儿配方奶粉 2段 800g", "piece", "288.00", 720, 1.2, is_high_value=True),
    P("BABY-FORMULA", "幼儿配方奶粉 3段 800g", "piece", "268.00", 720, 1.5, is_high_value=True),
    P("BABY-FORMULA", "有机婴儿奶粉 2段 800g", "piece", "358.00", 720, 0.5, is_high_value=True),
    P("BABY-FORMULA", "幼儿羊奶粉 3段 800g", "piece", "328.00", 720, 0.4, is_high_value=True),
    P("BABY-FORMULA", "儿童成长奶粉 4段 800g", "piece", "198.00", 720, 0.8, is_high_value=True),
    # 婴儿辅食
    P("BABY-FOOD", "婴儿高铁米粉 225g", "box", "45.00", 540, 3.0, "baby_rice_cereal"),
    P("BABY-FOOD", "有机婴儿米粉 250g", "box", "59.00", 540, 1.0),
    P("BABY-FOOD", "苹果胡萝卜果泥 90g×4", "pack", "39.90", 365, 1.2),
    P("BABY-FOOD", "香蕉果泥 90g", "pack", "12.90", 365, 1.0),
    P("BABY-FOOD", "婴儿营养面条 200g", "pack", "19.90", 365, 1.0),
    P("BABY-FOOD", "宝宝鳕鱼肉松 100g", "piece", "29.90", 270, 0.6),
    P("BABY-FOOD", "宝宝手指泡芙 40g", "bag", "19.90", 270, 0.8),
    P("BABY-FOOD", "婴儿磨牙饼干 64g", "box", "22.90", 270, 0.6, is_new=True),
    # 婴儿用品
    P("BABY-CARE", "婴儿纸尿裤 M码 60片", "pack", "119.00", 1095, 1.2),
    P("BABY-CARE", "婴儿纸尿裤 L码 52片", "pack", "119.00", 1095, 1.0),
    P("BABY-CARE", "婴儿手口湿巾 80抽×3", "pack", "29.90", 1095, 1.5),
    P("BABY-CARE", "婴儿洗发沐浴露 300ml", "bottle", "49.90", 1095, 0.5),
    # 大米
    P("GRAIN-RICE", "五常大米 5kg", "bag", "79.90", 365, 1.0),
    P("GRAIN-RICE", "东北珍珠米 10kg", "bag", "69.90", 365, 1.5),
    P("GRAIN-RICE", "泰国香米 5kg", "bag", "59.90", 365, 0.8),
    P("GRAIN-RICE", "胚芽米 2.5kg", "bag", "49.90", 270, 0.4, is_new=True),
    # 食用油
    P("GRAIN-OIL", "压榨一级花生油 5L", "bottle", "129.90", 540, 1.0),
    P("GRAIN-OIL", "非转基因菜籽油 5L", "bottle", "89.90", 540, 1.0),
    P("GRAIN-OIL", "玉米胚芽油 5L", "bottle", "79.90", 540, 0.8),
    P("GRAIN-OIL", "特级初榨橄榄油 750ml", "bottle", "89.90", 720, 0.4),
    P("GRAIN-OIL", "稻米油 4L", "bottle", "69.90", 540, 0.5),
    P("GRAIN-OIL", "粮油年货礼盒", "box", "168.00", 365, 0.2, is_high_value=True),
    # 面粉面条
    P("GRAIN-NOODLE", "高筋小麦粉 2.5kg", "bag", "19.90", 365, 0.8),
    P("GRAIN-NOODLE", "鸡蛋挂面 1kg", "bag", "12.90", 365, 1.5),
    P("GRAIN-NOODLE", "龙须面 500g", "bag", "6.90", 365, 1.0),
    P("GRAIN-NOODLE", "手擀宽面 400g", "bag", "9.90", 180, 0.6),
    # 杂粮
    P("GRAIN-MISC", "黄小米 1kg", "bag", "15.90", 365, 1.0),
    P("GRAIN-MISC", "即食燕麦片 1kg", "bag", "25.90", 365, 1.2),
    P("GRAIN-MISC", "红小豆 500g", "bag", "9.90", 365, 0.6),
    P("GRAIN-MISC", "绿豆 500g", "bag", "8.90", 365, 0.6),
    P("GRAIN-MISC", "五谷杂粮组合 2kg", "bag", "39.90", 365, 0.5),
    # 调味品
    P("GRAIN-SEASON", "特级生抽 500ml", "bottle", "12.90", 540, 1.5),
    P("GRAIN-SEASON", "红烧老抽 500ml", "bottle", "13.90", 540, 0.8),
    P("GRAIN-SEASON", "镇江香醋 500ml", "bottle", "8.90", 720, 1.0),
    P("GRAIN-SEASON", "加碘精制盐 400g", "bag", "3.50", 1095, 1.0),
    P("GRAIN-SEASON", "绵白糖 500g", "bag", "6.90", 720, 0.6),
    P("GRAIN-SEASON", "蚝油 700g", "bottle", "15.90", 540, 0.8),
    P("GRAIN-SEASON", "绍兴料酒 500ml", "bottle", "7.90", 720, 0.8),
    # 精品咖啡豆
    P(
        "COFFEE-BEAN",
        "云南保山小粒咖啡豆 454g",
        "bag",
        "128.00",
        180,
        1.5,
        "coffee_yunnan",
        is_high_value=True,
    ),
    P("COFFEE-BEAN", "耶加雪菲咖啡豆 250g", "bag", "98.00", 180, 1.0, is_high_value=True),
    P("COFFEE-BEAN", "哥伦比亚咖啡豆 250g", "bag", "88.00", 180, 1.0, is_high_value=True),
    P("COFFEE-BEAN", "意式拼配咖啡豆 1kg", "bag", "168.00", 180, 0.8, is_high_value=True),
    P(
        "COFFEE-BEAN",
        "巴拿马瑰夏咖啡豆 100g",
        "bag",
        "158.00",
        180,
        0.4,
        is_new=True,
        is_high_value=True,
    ),
    # 挂耳速溶咖啡
    P("COFFEE-DRIP", "挂耳咖啡 10g×10", "box", "39.90", 365, 1.5),
    P("COFFEE-DRIP", "冻干咖啡粉 2g×24", "box", "59.90", 540, 1.0),
    P("COFFEE-DRIP", "速溶三合一咖啡 15条", "box", "22.90", 540, 1.2),
    P("COFFEE-DRIP", "冷萃咖啡液 25ml×7", "box", "35.90", 180, 0.8, is_new=True),
    # 猫粮
    P("PET-CAT", "全价成猫粮 2kg", "bag", "89.00", 540, 2.0, "cat_food_adult"),
    P("PET-CAT", "全价幼猫粮 1.5kg", "bag", "79.00", 540, 1.0),
    P("PET-CAT", "无谷冻干双拼猫粮 1.8kg", "bag", "168.00", 540, 0.6, is_high_value=True),
    P("PET-CAT", "猫主食罐头 85g×12", "box", "69.00", 720, 1.2),
    # 狗粮
    P("PET-DOG", "全价成犬粮 5kg", "bag", "139.00", 540, 1.5),
    P("PET-DOG", "小型犬幼犬粮 2kg", "bag", "79.00", 540, 1.0),
    P("PET-DOG", "狗罐头 375g×6", "box", "89.00", 720, 0.8),
    P("PET-DOG", "大型犬成犬粮 10kg", "bag", "229.00", 540, 0.4, is_high_value=True),
    # 宠物零食
    P("PET-TREAT", "猫条 15g×20", "pack", "29.90", 540, 1.5, audience="cat"),
    P("PET-TREAT", "冻干鸡胸肉粒 100g", "bag", "39.90", 365, 1.0, audience="cat"),
    P("PET-TREAT", "猫薄荷饼干 60g", "bag", "15.90", 365, 0.6, audience="cat"),
    P("PET-TREAT", "牛皮洁齿骨 180g", "bag", "25.90", 540, 1.0, audience="dog"),
    P("PET-TREAT", "鸡肉干 200g", "bag", "32.90", 365, 1.0, audience="dog"),
    # 坚果炒货
    P("SNACK-NUT", "每日坚果 25g×30", "box", "89.00", 240, 1.2),
    P("SNACK-NUT", "临安手剥山核桃 250g", "bag", "59.90", 240, 1.0),
    P("SNACK-NUT", "盐焗开心果 500g", "bag", "49.90", 240, 0.8),
    P("SNACK-NUT", "奶油味夏威夷果 400g", "bag", "39.90", 240, 0.8),
    P("SNACK-NUT", "焦糖瓜子 500g", "bag", "15.90", 240, 1.2),
    # 饼干糕点
    P("SNACK-BISCUIT", "苏打饼干 400g", "pack", "12.90", 270, 1.2),
    P("SNACK-BISCUIT", "黄油曲奇礼盒 500g", "box", "45.00", 270, 0.5),
    P("SNACK-BISCUIT", "蛋黄酥 6枚", "box", "29.90", 30, 1.0),
    P("SNACK-BISCUIT", "定胜糕 4个", "pack", "12.00", 3, 0.8),
    P("SNACK-BISCUIT", "全麦吐司 400g", "pack", "12.90", 7, 1.5),
    P("SNACK-BISCUIT", "桂花糕 200g", "box", "15.90", 15, 0.6, is_new=True),
    # 糖果巧克力
    P("SNACK-CANDY", "72%黑巧克力 100g", "piece", "19.90", 365, 1.0),
    P("SNACK-CANDY", "手工牛轧糖 500g", "bag", "39.90", 270, 0.6),
    P("SNACK-CANDY", "话梅硬糖 200g", "bag", "9.90", 540, 0.8),
    P("SNACK-CANDY", "水果软糖 200g", "bag", "12.90", 365, 1.0),
    # 膨化食品
    P("SNACK-PUFF", "原味薯片 104g", "bag", "9.90", 270, 2.0),
    P("SNACK-PUFF", "番茄味虾条 80g", "bag", "6.50", 270, 1.0),
    P("SNACK-PUFF", "雪米饼 520g", "bag", "19.90", 270, 0.8),
    P("SNACK-PUFF", "焦糖爆米花 100g", "bag", "12.90", 180, 0.6),
    # 肉干卤味
    P("SNACK-MEAT", "风干牛肉干 200g", "bag", "39.90", 270, 1.0),
    P("SNACK-MEAT", "卤鸭脖 250g", "box", "29.90", 5, 1.2),
    P("SNACK-MEAT", "靖江猪肉脯 200g", "bag", "29.90", 270, 1.0),
    P("SNACK-MEAT", "虎皮凤爪 200g", "bag", "19.90", 180, 0.8),
    # 运动营养
    P(
        "HEALTH-PROTEIN",
        "乳清蛋白粉 2磅",
        "piece",
        "299.00",
        720,
        0.6,
        "whey_protein",
        is_high_value=True,
    ),
    P("HEALTH-PROTEIN", "蛋白棒 60g×6", "box", "59.90", 270, 1.5, "protein_bar"),
    P("HEALTH-PROTEIN", "即食鸡胸肉 100g×5", "pack", "39.90", 30, 2.0),
    P("HEALTH-PROTEIN", "高蛋白牛奶 250ml×10", "box", "59.90", 180, 1.2),
    P("HEALTH-PROTEIN", "植物蛋白饮 330ml×6", "pack", "35.90", 270, 0.6, is_new=True),
    # 低糖轻食
    P("HEALTH-LOWSUGAR", "无糖全麦面包 400g", "pack", "14.90", 7, 1.5),
    P("HEALTH-LOWSUGAR", "0卡魔芋面 3袋", "pack", "19.90", 270, 1.0),
    P("HEALTH-LOWSUGAR", "低GI燕麦代餐饼干 300g", "box", "29.90", 270, 1.0),
    P("HEALTH-LOWSUGAR", "0糖气泡水 480ml", "bottle", "4.50", 270, 2.0),
    P("HEALTH-LOWSUGAR", "低糖坚果燕麦片 500g", "bag", "32.90", 270, 0.8, is_new=True),
    # 饮用水
    P("DRINK-WATER", "饮用天然水 550ml×24", "box", "29.90", 365, 2.0),
    P("DRINK-WATER", "饮用天然水 550ml", "bottle", "2.00", 365, 3.0),
    P("DRINK-WATER", "苏打水 350ml×24", "box", "59.90", 365, 0.6),
    P("DRINK-WATER", "桶装饮用水 5L", "bottle", "9.90", 365, 1.0),
    # 果汁
    P("DRINK-JUICE", "NFC鲜榨橙汁 1L", "bottle", "19.90", 30, 1.0),
    P("DRINK-JUICE", "100%苹果汁 1L", "bottle", "12.90", 365, 1.0),
    P("DRINK-JUICE", "椰子水 1L", "bottle", "15.90", 365, 0.8),
    P("DRINK-JUICE", "杨梅汁 300ml", "bottle", "6.90", 270, 0.8),
    # 茶饮料
    P("DRINK-TEA", "无糖乌龙茶 500ml", "bottle", "5.50", 365, 1.5),
    P("DRINK-TEA", "冰红茶 500ml", "bottle", "3.50", 365, 1.5),
    P("DRINK-TEA", "茉莉花茶 500ml", "bottle", "4.50", 365, 1.0),
    P("DRINK-TEA", "龙井绿茶饮料 500ml", "bottle", "5.00", 365, 0.8),
    # 碳酸饮料
    P("DRINK-SODA", "可乐 330ml×24", "box", "49.90", 365, 1.0),
    P("DRINK-SODA", "可乐 330ml", "piece", "3.00", 365, 2.0),
    P("DRINK-SODA", "零度可乐 330ml×6", "pack", "19.90", 365, 1.0),
    P("DRINK-SODA", "柠檬味汽水 500ml", "bottle", "3.50", 365, 1.0),
    P("DRINK-SODA", "老汽水 275ml", "bottle", "4.00", 365, 0.6, is_active=False),
    # 即饮咖啡
    P("DRINK-RTD", "拿铁即饮咖啡 268ml", "bottle", "6.90", 270, 1.5),
    P("DRINK-RTD", "美式即饮咖啡 270ml", "bottle", "6.50", 270, 1.0),
    P("DRINK-RTD", "生椰拿铁 250ml", "bottle", "7.90", 180, 0.8, is_new=True),
    # 纸品
    P("DAILY-PAPER", "抽纸 3层100抽×18包", "box", "49.90", 1095, 1.5),
    P("DAILY-PAPER", "卷纸 4层27卷", "pack", "59.90", 1095, 1.0),
    P("DAILY-PAPER", "厨房用纸 2卷", "pack", "12.90", 1095, 0.8),
    P("DAILY-PAPER", "湿厕纸 40片×3", "pack", "25.90", 1095, 0.6),
    # 清洁用品
    P("DAILY-CLEAN", "洗洁精 1.5kg", "bottle", "15.90", 1095, 1.0),
    P("DAILY-CLEAN", "洗衣液 3kg", "bottle", "49.90", 1095, 1.0),
    P("DAILY-CLEAN", "84消毒液 1.2kg", "bottle", "12.90", 720, 0.6),
    P("DAILY-CLEAN", "加厚垃圾袋 100只", "pack", "15.90", 1095, 1.5),
    P("DAILY-CLEAN", "洗衣凝珠 52颗", "box", "39.90", 1095, 0.6, is_active=False),
    # 个人护理
    P("DAILY-CARE", "含氟牙膏 120g", "piece", "15.90", 1095, 1.0),
    P("DAILY-CARE", "软毛牙刷 4支", "pack", "19.90", 1095, 0.8),
    P("DAILY-CARE", "控油洗发水 500ml", "bottle", "45.90", 1095, 0.6),
    P("DAILY-CARE", "沐浴露 720ml", "bottle", "39.90", 1095, 0.6),
    P("DAILY-CARE", "一次性口罩 50只", "box", "19.90", 720, 0.8),
    # 猫砂
    P("DAILY-LITTER", "原味豆腐猫砂 6L", "bag", "29.90", 720, 3.0, "litter_tofu"),
    P("DAILY-LITTER", "膨润土猫砂 10kg", "bag", "39.90", 1095, 1.0),
    P("DAILY-LITTER", "混合猫砂 2.5kg×4", "bag", "69.90", 720, 1.0),
)

SUPPLIERS: tuple[SupplierSpec, ...] = (
    SupplierSpec(
        "SUP-YN-BERRY",
        "云南高原蓝莓果园",
        "farm",
        "云南",
        "杨丽华",
        3,
        ("FRUIT-BERRY",),
        key="blueberry_farm",
    ),
    SupplierSpec(
        "SUP-YN-COFFEE", "云南普洱咖啡庄园", "farm", "云南", "李文涛", 4, ("COFFEE-BEAN",)
    ),
    SupplierSpec(
        "SUP-SD-MELON", "山东寿光瓜果合作社", "farm", "山东", "王建国", 2, ("FRUIT-MELON",)
    ),
    SupplierSpec(
        "SUP-SD-APPLE",
        "山东烟台栖霞苹果园",
        "farm",
        "山东",
        "孙志强",
        2,
        ("FRUIT-POME", "FRUIT-STONE"),
    ),
    SupplierSpec(
        "SUP-XJ-FRUIT",
        "新疆阿克苏果业合作社",
        "farm",
        "新疆",
        "艾力·买买提",
        5,
        ("FRUIT-GRAPE",),
        backup_for=("FRUIT-POME", "FRUIT-MELON"),
    ),
    SupplierSpec(
        "SUP-HN-TROP", "海南热带水果种植基地", "farm", "海南", "符海燕", 4, ("FRUIT-TROP",)
    ),
    SupplierSpec(
        "SUP-JX-CITRUS", "江西赣南脐橙合作社", "farm", "江西", "刘春生", 3, ("FRUIT-CITRUS",)
    ),
    SupplierSpec(
        "SUP-ZJ-FRESH",
        "杭州鲜果集配中心",
        "distributor",
        "浙江",
        "陈晓东",
        1,
        ("FRUIT-CUT",),
        backup_for=(
            "FRUIT-BERRY",
            "FRUIT-MELON",
            "FRUIT-CITRUS",
            "FRUIT-POME",
            "FRUIT-TROP",
            "FRUIT-GRAPE",
            "FRUIT-STONE",
        ),
    ),
    SupplierSpec(
        "SUP-SH-DAIRY",
        "华东乳业工厂",
        "factory",
        "上海",
        "周海明",
        1,
        ("DAIRY-MILK", "DAIRY-YOGURT", "DAIRY-OTHER"),
    ),
    SupplierSpec(
        "SUP-HL-BABY",
        "贝贝星婴童营养品有限公司",
        "factory",
        "黑龙江",
        "赵雪梅",
        5,
        ("BABY-FORMULA", "BABY-FOOD"),
    ),
    SupplierSpec(
        "SUP-FJ-BABYCARE", "福建爱宝婴童用品厂", "factory", "福建", "林志明", 4, ("BABY-CARE",)
    ),
    SupplierSpec(
        "SUP-HL-RICE",
        "黑龙江五常稻米合作社",
        "farm",
        "黑龙江",
        "张玉林",
        5,
        ("GRAIN-RICE", "GRAIN-MISC"),
    ),
    SupplierSpec(
        "SUP-SD-OIL",
        "山东金穗粮油加工厂",
        "factory",
        "山东",
        "马国庆",
        3,
        ("GRAIN-OIL", "GRAIN-NOODLE"),
    ),
    SupplierSpec(
        "SUP-ZJ-SEASON", "浙江味源调味品有限公司", "factory", "浙江", "沈佳琪", 2, ("GRAIN-SEASON",)
    ),
    SupplierSpec(
        "SUP-JS-PET",
        "江苏萌宠食品工厂",
        "factory",
        "江苏",
        "吴倩",
        3,
        ("PET-CAT", "PET-DOG", "PET-TREAT", "DAILY-LITTER"),
    ),
    SupplierSpec(
        "SUP-ZJ-SNACK",
        "浙江零食优选供应链",
        "distributor",
        "浙江",
        "俞晓峰",
        2,
        (
            "SNACK-NUT",
            "SNACK-BISCUIT",
            "SNACK-CANDY",
            "SNACK-PUFF",
            "SNACK-MEAT",
            "HEALTH-LOWSUGAR",
        ),
    ),
    SupplierSpec(
        "SUP-GD-SPORT",
        "广东健优运动营养品有限公司",
        "factory",
        "广东",
        "黄俊杰",
        4,
        ("HEALTH-PROTEIN",),
    ),
    SupplierSpec(
        "SUP-ZJ-DRINK",
        "华东饮料配送中心",
        "distributor",
        "浙江",
        "徐丽娟",
        1,
        ("DRINK-WATER", "DRINK-JUICE", "DRINK-TEA", "DRINK-SODA", "DRINK-RTD", "COFFEE-DRIP"),
    ),
    SupplierSpec(
        "SUP-ZJ-DAILY",
        "杭州日化百货批发",
        "distributor",
        "浙江",
        "楼建华",
        2,
        ("DAILY-PAPER", "DAILY-CLEAN", "DAILY-CARE"),
    ),
)

# Pack size (units per supplier case) by top-level category.
PACK_SIZE: dict[str, int] = {
    "FRUIT": 10,
    "DAIRY": 12,
    "BABY": 6,
    "GRAIN": 4,
    "COFFEE": 10,
    "PET": 4,
    "SNACK": 12,
    "HEALTH": 6,
    "DRINK": 12,
    "DAILY": 6,
}


@dataclass(frozen=True)
class PlantedRule:
    """A co-purchase pattern planted at the basket level.

    Among all baskets that hold at least one antecedent product, exactly `confidence` (up to
    one basket of rounding over the whole run) also hold a consequent product; see
    docs/demo-data.md.
    """

    name: str
    antecedent_category: str = ""
    antecedent_key: str = ""
    consequent_category: str = ""
    confidence: float = 0.0
    primary_key: str = ""  # the consequent product most often added
    primary_share: float = 0.6


PLANTED_RULES: tuple[PlantedRule, ...] = (
    PlantedRule(
        "婴儿奶粉 → 婴儿辅食", "BABY-FORMULA", "", "BABY-FOOD", 0.70, "baby_rice_cereal", 0.5
    ),
    PlantedRule(
        "低糖蓝莓 → 酸奶", "", "blueberry_low_sugar", "DAIRY-YOGURT", 0.50, "yogurt_no_sugar", 0.6
    ),
    PlantedRule("精品咖啡豆 → 牛奶", "COFFEE-BEAN", "", "DAIRY-MILK", 0.40, "milk_fresh_950", 0.6),
    PlantedRule("猫粮 → 猫砂", "PET-CAT", "", "DAILY-LITTER", 0.60, "litter_tofu", 0.6),
)


def top_level(category_code: str) -> str:
    return category_code.split("-", 1)[0]
