"""Demo knowledge base and training: a few real-sounding articles and FAQ entries (blueberry
storage, cold chain, after-sales rules, selling points), five training paths with short
courses, lessons and quizzes, and the demo owner enrolled on one path with a lesson read.

Cheap (a few hundred rows, one jieba dictionary load for the search tokens) and idempotent by
title / code, so a rerun changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from apps.catalog.models import Category, Product
from apps.stores.models import Store
from apps.training import services as training
from apps.training.models import (
    Article,
    Choice,
    Course,
    Lesson,
    PathCourse,
    Question,
    Skill,
    TrainingPath,
)


@dataclass(frozen=True)
class ArticleSpec:
    kind: str
    title: str
    summary: str
    body: str
    selling_points: str = ""
    product_names: tuple[str, ...] = ()
    category_codes: tuple[str, ...] = ()


BLUEBERRIES = ("低糖蓝莓（云南蓝莓）125g", "云南蓝莓 大果 250g", "蓝莓 家庭装 500g")

ARTICLES: tuple[ArticleSpec, ...] = (
    ArticleSpec(
        Article.Kind.STORAGE,
        "蓝莓的保存方法：冷藏不洗，三天内吃完",
        "蓝莓怕水怕压，到店后 0–4 ℃ 冷藏，吃之前再洗。",
        "到货验收：看果粉（白霜）是否完整、果实是否饱满，压伤、渗汁的整盒挑出。\n"
        "保存：原盒放入 0–4 ℃ 冷藏柜，不要洗，不要叠压；湿了的蓝莓一两天就会发软长毛。\n"
        "陈列：白天上架 2–3 小时轮换，其余时间放回冷藏；切勿放在阳光直射的门口。\n"
        "告诉顾客：回家放冰箱冷藏，吃前用淡盐水泡 5 分钟再冲洗，3 天内吃完口感最好。",
        product_names=BLUEBERRIES,
        category_codes=("FRUIT-BERRY",),
    ),
    ArticleSpec(
        Article.Kind.SELLING_POINTS,
        "云南蓝莓卖点：高原日照，甜度高",
        "直播和社群里介绍云南蓝莓时的三句话。",
        "云南高原日照充足、昼夜温差大，糖分积累多；冷链直发，从果园到门店 48 小时内。",
        selling_points="云南高原直采，昼夜温差大，甜度 14 以上\n"
        "冷链直发，果园到门店 48 小时\n"
        "颗颗带白霜，新鲜看得见",
        product_names=BLUEBERRIES,
    ),
    ArticleSpec(
        Article.Kind.STORAGE,
        "草莓的保存与陈列",
        "草莓比蓝莓更娇气：单层摆放，冷藏保存。",
        "草莓不能叠压，到货后单层摆放，0–2 ℃ 冷藏；带蒂保存，吃前再去蒂清洗。",
        category_codes=("FRUIT-BERRY",),
    ),
    ArticleSpec(
        Article.Kind.STORAGE,
        "冷链收货标准：温度、时限与拒收",
        "冷藏品 0–4 ℃，冷冻品 -18 ℃ 以下；超温拒收并拍照。",
        "收货时先测温：冷藏品中心温度 0–4 ℃，冷冻品 -18 ℃ 以下，超出 2 ℃ 的整件拒收。\n"
        "从车厢到冷柜不超过 15 分钟，冷柜门不要长时间敞开。\n"
        "温度计每天校准一次；冷柜温度异常时在设备页面确认告警并记录处理。",
        category_codes=("DAIRY-MILK", "DAIRY-YOGURT"),
    ),
    ArticleSpec(
        Article.Kind.AFTER_SALES,
        "生鲜售后规则：坏果包赔，48 小时内可申请",
        "生鲜商品签收后 48 小时内凭照片申请售后，坏果按比例退款。",
        "顾客在签收或自提后 48 小时内提交照片即可申请。\n"
        "坏果按重量或个数比例退款，整盒超过一半坏果可整盒退款或换货。\n"
        "店主在门户的售后页面登记，总部审核后原路退款。非质量问题（口味不喜欢）不退。",
        category_codes=("FRUIT",),
    ),
    ArticleSpec(
        Article.Kind.FAQ,
        "顾客问：蓝莓表面有白霜，是不是打了药？",
        "白霜是果粉，是新鲜的标志。",
        "蓝莓表面的白霜是果实自己长出的果粉，能保护果实、减少水分流失，越完整越新鲜；"
        "不是农药残留。吃前用清水冲洗即可。",
        product_names=BLUEBERRIES,
    ),
    ArticleSpec(
        Article.Kind.FAQ,
        "西瓜怎么挑？",
        "看纹路、听声音、看瓜蒂。",
        "纹路清晰、颜色深绿；拍起来声音清脆；瓜蒂弯曲新鲜。切开的西瓜要保鲜膜封好冷藏，当天卖完。",
        product_names=("8424西瓜 约5kg",),
        category_codes=("FRUIT-MELON",),
    ),
)


@dataclass(frozen=True)
class CourseSpec:
    title: str
    skill: str
    summary: str
    lessons: tuple[tuple[str, str], ...]
    # (question, (choice, ...), index of the correct choice, why it is the right one)
    questions: tuple[tuple[str, tuple[str, ...], int, str], ...]
    inspection_section: str = ""


COURSES: tuple[CourseSpec, ...] = (
    CourseSpec(
        "直播带货入门：开场与节奏",
        Skill.LIVE_SELLING,
        "一场 40 分钟社区直播怎么排：开场、逐个讲品、接龙、收尾。",
        (
            (
                "开场三分钟",
                "先打招呼、报今天的主题和福利时间点，让刚进来的邻居知道要留到什么时候。",
            ),
            ("逐个讲品", "每个商品 8 分钟：卖点、价格对比、库存，最后说清楚怎么下单。"),
            ("接龙收尾", "发接龙链接，念出已经成团的商品，提醒自提时间。"),
        ),
        (
            (
                "每个商品建议讲多久？",
                ("1 分钟", "8 分钟左右", "半小时"),
                1,
                "40 分钟讲 4–5 个商品，每个 8 分钟左右：卖点、价格对比、库存、怎么下单都说清。",
            ),
            (
                "开场最重要的是？",
                ("报主题和福利时间", "先讲价格", "直接发链接"),
                0,
                "刚进来的邻居先要知道今天卖什么、福利几点放，才会留下来。",
            ),
        ),
    ),
    CourseSpec(
        "直播话术：卖点与答疑",
        Skill.LIVE_SELLING,
        "用知识库里的卖点回答“甜不甜”“能放多久”。",
        (
            ("卖点从哪里来", "每个商品的卖点在知识库里维护，直播脚本会自动带上。"),
            ("常见问题", "甜不甜、能放多久、怎么保存：先答事实，再给建议。"),
        ),
        (
            (
                "顾客问“能放多久”，应该先说？",
                ("保存方法和天数", "现在下单", "不知道"),
                0,
                "先答事实（怎么保存、能放几天），再给建议；知识库里每个商品都有。",
            ),
        ),
    ),
    CourseSpec(
        "社群运营：预热与接龙",
        Skill.COMMUNITY,
        "群里发什么、什么时候发，让接龙自然成团。",
        (
            ("预热", "直播前一天晚上和当天中午各发一次预热文案，带上主推商品和价格。"),
            ("接龙", "接龙格式统一：序号、名字、商品×数量；成团后及时在群里公布。"),
        ),
        (
            (
                "预热文案建议发几次？",
                ("一次都不发", "两次：前一晚和当天中午", "每小时一次"),
                1,
                "前一晚让大家知道，当天中午再提醒一次；发得太勤会被屏蔽。",
            ),
        ),
    ),
    CourseSpec(
        "生鲜损耗控制",
        Skill.FRESH_GOODS,
        "订货、陈列、临期处理三步把损耗率降下来。",
        (
            ("按预测订货", "参考系统的建议订货量，宁可少订勤补，不要一次压货。"),
            ("先进先出", "新货放后面，老货放前面；每天早晚各检查一次。"),
            ("临期处理", "保质期剩 1 天的水果做果切或打折，记得在损耗页面登记。"),
        ),
        (
            (
                "陈列应遵循？",
                ("先进先出", "后进先出", "随便放"),
                0,
                "老货放前面先卖掉，新货放后面，临期和损耗都会少。",
            ),
            (
                "临期水果怎么处理？",
                ("直接扔掉不登记", "做果切或打折并登记损耗", "继续原价卖"),
                1,
                "做果切或打折能收回一部分成本；登记损耗后，系统的损耗率和订货建议才准。",
            ),
        ),
    ),
    CourseSpec(
        "冷链温控标准",
        Skill.COLD_CHAIN,
        "收货测温、冷柜温度、告警处理。",
        (
            ("收货测温", "冷藏品 0–4 ℃，冷冻品 -18 ℃ 以下，超温整件拒收并拍照。"),
            ("冷柜巡查", "每天开店和闭店各看一次温度，告警在设备页面确认。"),
        ),
        (
            (
                "冷藏品收货温度应在？",
                ("0–4 ℃", "10–15 ℃", "-18 ℃ 以下"),
                0,
                "冷藏品 0–4 ℃；-18 ℃ 以下是冷冻品的标准。超温整件拒收并拍照。",
            ),
        ),
        inspection_section="cold_chain",
    ),
    CourseSpec(
        "巡检标准：陈列与价签",
        Skill.INSPECTION,
        "督导怎么打分：陈列饱满、价签齐全准确。",
        (
            ("陈列", "主推商品放在门口第一排，缺货位当天补齐。"),
            ("价签", "每个商品都有价签，促销价签写明活动时间。"),
        ),
        (
            (
                "促销价签必须写明？",
                ("活动时间", "店主电话", "进价"),
                0,
                "写明活动时间，顾客和督导都能核对价格是否还有效。",
            ),
        ),
        inspection_section="shelf_display",
    ),
    CourseSpec(
        "巡检标准：卫生与新鲜度",
        Skill.INSPECTION,
        "台面、冷柜、地面的清洁标准，烂果当天下架。",
        (
            ("卫生", "台面和冷柜每天清洁，地面无积水。"),
            ("新鲜度", "烂果、压伤果当天下架并登记损耗。"),
        ),
        (
            (
                "发现烂果应该？",
                ("当天下架并登记", "放到最下面", "等顾客挑走"),
                0,
                "烂果会带坏整箱，当天下架并登记损耗。",
            ),
        ),
        inspection_section="hygiene",
    ),
)

# (code, name, skill, KPI it should move, course titles in order)
PATHS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    (
        "live-selling",
        "直播带货",
        Skill.LIVE_SELLING,
        "live_conversion",
        ("直播带货入门：开场与节奏", "直播话术：卖点与答疑"),
    ),
    ("community", "社群运营", Skill.COMMUNITY, "", ("社群运营：预热与接龙",)),
    ("fresh-goods", "生鲜处理与损耗", Skill.FRESH_GOODS, "loss_rate", ("生鲜损耗控制",)),
    ("cold-chain", "冷链", Skill.COLD_CHAIN, "", ("冷链温控标准",)),
    (
        "inspection-standards",
        "巡检标准",
        Skill.INSPECTION,
        "inspection_score",
        ("巡检标准：陈列与价签", "巡检标准：卫生与新鲜度"),
    ),
)


def _articles() -> int:
    products = {product.name: product for product in Product.objects.all()}
    categories = {category.code: category for category in Category.objects.all()}
    count = 0
    for spec in ARTICLES:
        article, _created = Article.objects.update_or_create(
            title=spec.title,
            defaults={
                "kind": spec.kind,
                "summary": spec.summary,
                "body": spec.body,
                "selling_points": spec.selling_points,
                "is_published": True,
            },
        )
        article.products.set([products[name] for name in spec.product_names if name in products])
        article.categories.set(
            [categories[code] for code in spec.category_codes if code in categories]
        )
        training.article_index(article=article)
        count += 1
    return count


def _courses() -> dict[str, Course]:
    made = {}
    for spec in COURSES:
        course, created = Course.objects.update_or_create(
            title=spec.title,
            defaults={
                "skill": spec.skill,
                "summary": spec.summary,
                "inspection_section": spec.inspection_section,
            },
        )
        if created:
            Lesson.objects.bulk_create(
                Lesson(course=course, position=position, title=title, body=body)
                for position, (title, body) in enumerate(spec.lessons)
            )
            for position, (text, choices, right, explanation) in enumerate(spec.questions):
                question = Question.objects.create(
                    course=course, position=position, text=text, explanation=explanation
                )
                Choice.objects.bulk_create(
                    Choice(question=question, text=choice, is_correct=index == right)
                    for index, choice in enumerate(choices)
                )
        made[spec.title] = course
    return made


def _paths(courses: dict[str, Course]) -> dict[str, TrainingPath]:
    made = {}
    for code, name, skill, metric, titles in PATHS:
        path, _created = TrainingPath.objects.update_or_create(
            code=code, defaults={"name": name, "skill": skill, "metric_code": metric}
        )
        for position, title in enumerate(titles):
            PathCourse.objects.update_or_create(
                path=path, course=courses[title], defaults={"position": position}
            )
        made[code] = path
    return made


def demo_training_seed(*, stores: list[Store]) -> dict[str, int]:
    """Articles, courses and paths; the demo owner (when there is one) enrolled on the live
    selling path with its first lesson read. Returns counts for the seed's summary."""
    articles = _articles()
    courses = _courses()
    paths = _paths(courses)
    owner = get_user_model().objects.filter(username="owner").first()
    if owner is not None and stores:
        path = paths["live-selling"]
        training.enrolment_create(user=owner, store=stores[0], path=path)
        first = Lesson.objects.filter(course=courses[COURSES[0].title]).first()
        if first is not None:
            training.lesson_complete(user=owner, lesson=first)
    return {"articles": articles, "courses": len(courses), "paths": len(paths)}
