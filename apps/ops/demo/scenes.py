"""Life scenes planted in the demo members: who they are, what they buy, what they write.

The ground truth is a pure function of the member number (`planted_scenes`), the same for every
seed, so a later test of the profile/tagging feature can check its recall without any stored
answer key. See docs/demo-data.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

KIDS = "kids"
FITNESS = "fitness"
PETS = "pets"


@dataclass(frozen=True)
class SceneSpec:
    code: str
    tag_name: str
    description: str
    keywords: tuple[str, ...]
    # (leaf category code, minimum purchases in 90 days) for TagCategoryRule rows
    category_rules: tuple[tuple[str, int], ...]
    share_percent: int  # planted in this share of members


SCENES: tuple[SceneSpec, ...] = (
    SceneSpec(
        KIDS,
        "有孩家庭",
        "家里有婴幼儿或学龄儿童：买奶粉、辅食、纸尿裤，常聊孩子",
        ("孩子", "宝宝", "辅食", "奶粉", "纸尿裤"),
        (("BABY-FOOD", 1), ("BABY-FORMULA", 1), ("BABY-CARE", 1)),
        15,
    ),
    SceneSpec(
        FITNESS,
        "健身人群",
        "健身、减脂、增肌人群：买蛋白粉、鸡胸肉、低糖食品",
        ("健身", "减脂", "蛋白", "增肌", "卡路里"),
        (("HEALTH-PROTEIN", 2),),
        10,
    ),
    SceneSpec(
        PETS,
        "宠物主人",
        "养猫或养狗的家庭：买猫粮、狗粮、猫砂、宠物零食",
        ("猫粮", "狗粮", "猫砂", "铲屎", "遛狗"),
        (("PET-CAT", 1), ("PET-DOG", 1), ("DAILY-LITTER", 1)),
        12,
    ),
)

SCENE_BY_CODE = {scene.code: scene for scene in SCENES}
ALL_KEYWORDS: tuple[str, ...] = tuple(word for scene in SCENES for word in scene.keywords)


def _member_hash(member_no: str) -> int:
    return int.from_bytes(hashlib.sha256(member_no.encode()).digest()[:8], "big")


def planted_scenes(member_no: str) -> frozenset[str]:
    """The scenes planted in this member: the answer key for tagging recall.

    With h = the first 8 bytes of sha256(member_no) as a big-endian integer:
    kids iff h % 100 < 15, fitness iff (h // 100) % 100 < 10, pets iff (h // 10**4) % 100 < 12.
    """
    h = _member_hash(member_no)
    scenes = set()
    if h % 100 < SCENE_BY_CODE[KIDS].share_percent:
        scenes.add(KIDS)
    if (h // 100) % 100 < SCENE_BY_CODE[FITNESS].share_percent:
        scenes.add(FITNESS)
    if (h // 10**4) % 100 < SCENE_BY_CODE[PETS].share_percent:
        scenes.add(PETS)
    return frozenset(scenes)


def pet_kinds(member_no: str) -> tuple[bool, bool]:
    """(has a cat, has a dog) for a pet owner: digit d = (h // 10**6) % 10;
    cat iff d < 8, dog iff d >= 6 (so 60% cat only, 20% both, 20% dog only)."""
    if PETS not in planted_scenes(member_no):
        return False, False
    digit = (_member_hash(member_no) // 10**6) % 10
    return digit < 8, digit >= 6


# Leaf categories that only a scene's members buy (generic shoppers never do; docs/demo-data.md,
# "Guarantees"), and the pet a pet category needs.
SCENE_ONLY_CATEGORIES: dict[str, str] = {
    "BABY-FORMULA": KIDS,
    "BABY-FOOD": KIDS,
    "BABY-CARE": KIDS,
    "HEALTH-PROTEIN": FITNESS,
    "PET-CAT": PETS,
    "PET-DOG": PETS,
    "PET-TREAT": PETS,
    "DAILY-LITTER": PETS,
}
CAT_CATEGORIES = frozenset({"PET-CAT", "DAILY-LITTER"})
DOG_CATEGORIES = frozenset({"PET-DOG"})


def member_may_buy(member_no: str, category_codes: set[str]) -> bool:
    """Whether a member may buy from all these leaf categories without breaking the planted
    ground truth: a scene-only category needs the scene, a cat or dog category that pet."""
    scenes = planted_scenes(member_no)
    if any(
        code in SCENE_ONLY_CATEGORIES and SCENE_ONLY_CATEGORIES[code] not in scenes
        for code in category_codes
    ):
        return False
    has_cat, has_dog = pet_kinds(member_no)
    if category_codes & CAT_CATEGORIES and not has_cat:
        return False
    return not (category_codes & DOG_CATEGORIES and not has_dog)


# Chat lines written by planted members. Every line holds at least one keyword of its scene.
KIDS_MESSAGES: tuple[str, ...] = (
    "宝宝最近开始吃辅食了，店里的高铁米粉还有吗？",
    "孩子放学想吃蓝莓，明天几点到货？",
    "请问有没有适合一岁宝宝的果泥？",
    "家里孩子喝的3段奶粉快没了，能帮我留一罐吗",
    "宝宝辅食面条买哪种好，大家推荐一下",
    "周末带孩子来店里，顺便拿团购的水果",
    "纸尿裤M码还有货吗？宝宝长得太快了",
    "孩子特别喜欢奶酪棒，下次团购能不能多上点",
    "给孩子买的磨牙饼干很好，推荐给各位",
    "宝宝不爱吃辅食怎么办，求经验",
    "孩子感冒了今天不方便出门，能送货吗",
    "店长，奶粉到了麻烦通知我一下",
    "宝宝一岁了开始加辅食，求推荐",
    "有没有一起拼单纸尿裤的，宝宝用量太大了",
)
FITNESS_MESSAGES: tuple[str, ...] = (
    "今天健身完来买鸡胸肉，还有吗？",
    "减脂期间有没有推荐的低卡零食",
    "蛋白棒什么时候补货？健身房附近就你们家有",
    "求问乳清蛋白粉有没有团购",
    "最近在减脂，0糖气泡水帮我留一箱",
    "增肌期每天要吃好多鸡胸肉，能不能批量订",
    "希腊酸奶的蛋白含量高，运动完喝正好",
    "有没有一起健身的邻居，周末约起来",
    "减脂餐配魔芋面真不错，推荐",
    "控制卡路里的话，这个全麦面包可以吗？",
    "健身后喝高蛋白牛奶，明天帮我留两箱",
)
CAT_MESSAGES: tuple[str, ...] = (
    "猫粮快吃完了，成猫粮明天能到吗？",
    "家里主子挑食，猫粮有没有试吃装",
    "豆腐猫砂还有吗？要两包",
    "有没有一起拼单猫砂的邻居",
    "铲屎官们推荐一下猫条口味",
    "我家猫最近换了无谷猫粮，状态好多了",
    "猫砂团购什么时候开始？",
)
DOG_MESSAGES: tuple[str, ...] = (
    "遛狗路过店里，顺便买点狗粮",
    "狗粮5kg的能送货上门吗，太重了",
    "晚上遛狗的时候看到店里上了新的狗粮",
    "洁齿骨还有吗？狗粮也顺便来一袋",
    "铲屎的日常：每天早晚遛狗两次",
)

# Lines anyone writes; none holds a scene keyword (tests check this).
GENERIC_MESSAGES: tuple[str, ...] = (
    "今天的阳光玫瑰很甜，好评！",
    "西瓜还有吗？下班想带一个回家",
    "明天早上几点开门？",
    "团购的蓝莓收到了，很新鲜",
    "请问今天的鲜牛奶到了吗",
    "店长辛苦了，周末活动很热闹",
    "有没有人一起拼单大米",
    "下雨天能送货上门吗",
    "山东甜瓜真不错，再来两个",
    "昨天买的香蕉有点熟了，今天还有新的吗",
    "自提点在哪里？第一次用小程序",
    "谢谢店长帮忙留的橙子",
    "请问积分怎么兑换",
    "今天的鲜切果盒卖完了吗",
    "过节的礼盒有什么推荐",
    "咖啡豆是哪天烘焙的？",
    "家里老人喜欢喝小米粥，黄小米还有吗",
    "能开发票吗？单位团购用",
    "冬枣上新了吗",
    "好的收到，谢谢",
    "晚上八点还能自提吗",
    "今天的酸奶买一送一吗",
    "楼下快递柜旁边新开了自提点，挺方便",
    "蓝莓和酸奶一起吃太香了",
)

# Store announcements (no member); product names are drawn from these top-level categories only,
# so no announcement carries a scene keyword.
ANNOUNCEMENT_TEMPLATES: tuple[str, ...] = (
    "【{store}】今日到货：{product}，欢迎选购",
    "明天团购：{product}，今晚8点开团，数量有限",
    "温馨提示：上午10点前下单，下午4点后可到店自提。今日推荐{product}",
    "{product}补货啦，需要的邻居可以在群里接龙",
)
ANNOUNCEMENT_CATEGORIES: tuple[str, ...] = ("FRUIT", "DAIRY", "DRINK", "GRAIN")

NPS_COMMENTS: dict[str, tuple[str, ...]] = {
    "promoter": (
        "水果很新鲜，店长很热情",
        "自提很方便，团购价格实惠",
        "品类越来越全了，家门口就能买到",
        "服务好，群里回复很及时",
        "",
        "",
    ),
    "passive": (
        "总体不错，希望多上点新品",
        "价格还可以，有时候缺货",
        "晚上人多，排队有点久",
        "",
    ),
    "detractor": (
        "蓝莓有几颗坏的，希望改进",
        "自提等太久了",
        "价格比超市贵",
        "缺货太频繁了",
        "退款处理太慢",
    ),
}
