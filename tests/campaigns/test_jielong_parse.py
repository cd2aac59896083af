"""The 接龙 parser (pure Python): the variants owners paste, and the lines it must refuse."""

from __future__ import annotations

import pytest

from apps.campaigns.analytics.jielong import (
    QUANTITY_MAX,
    JielongLine,
    jielong_parse,
    normalise,
)

PRODUCTS = ["蓝莓", "樱桃", "阳光玫瑰"]


def _one(line: str) -> tuple[int, str, str, int]:
    result = jielong_parse(line, products=PRODUCTS)
    assert result.problems == [], result.problems
    assert len(result.lines) == 1, result.lines
    entry = result.lines[0]
    return entry.number, entry.name, entry.product, entry.quantity


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("1. 李阿姨 蓝莓×2", (1, "李阿姨", "蓝莓", 2)),
        ("2、王姐 蓝莓 x3", (2, "王姐", "蓝莓", 3)),
        ("3.张三 蓝莓*1", (3, "张三", "蓝莓", 1)),
        ("4．赵六　蓝莓＋１", (4, "赵六", "蓝莓", 1)),
        ("１２、孙阿姨 樱桃×２", (12, "孙阿姨", "樱桃", 2)),
        ("5) 周姐 蓝莓2盒", (5, "周姐", "蓝莓", 2)),
        ("6: 吴叔 蓝莓 3", (6, "吴叔", "蓝莓", 3)),
        ("7 郑阿姨 蓝莓 X4", (7, "郑阿姨", "蓝莓", 4)),
        ("8. 王先生 蓝莓 ✕2", (8, "王先生", "蓝莓", 2)),
        ("9. 冯姐 蓝莓 ＊5", (9, "冯姐", "蓝莓", 5)),
        ("10. 陈叔 蓝莓 +2", (10, "陈叔", "蓝莓", 2)),
        ("11张三蓝莓*1", (11, "张三", "蓝莓", 1)),
        ("12. 林姐: 阳光玫瑰 2份", (12, "林姐", "阳光玫瑰", 2)),
        ("13. @小李 蓝莓×1", (13, "小李", "蓝莓", 1)),
        ("14. 周姐", (14, "周姐", "", 1)),
        ("15. 周姐 +3", (15, "周姐", "", 3)),
        ("16. Max 蓝莓 x2 (自提)", (16, "Max", "蓝莓", 2)),
        ("17. 何阿姨 蓝莓×2（晚上来拿）", (17, "何阿姨", "蓝莓", 2)),
        ("  18.   钱姐   蓝莓 × 2  ", (18, "钱姐", "蓝莓", 2)),
        ("19. 宋姐 蓝莓", (19, "宋姐", "蓝莓", 1)),
        ("20. Alex blueberry x2", (20, "Alex", "blueberry", 2)),
        ("21. 黄姐 阳光玫瑰 2 串", (21, "黄姐", "阳光玫瑰", 2)),
    ],
)
def test_common_jielong_variants_are_read(line: str, expected: tuple[int, str, str, int]):
    assert _one(line) == expected


def test_a_whole_chat_skips_the_header_example_and_empty_lines():
    text = "\n".join(
        [
            "#接龙",
            "夏季水果季 · 云南蓝莓 19.9元/盒",
            "7月1日 20点开团，满10盒成团",
            "例：1. 张三 蓝莓×2",
            "",
            "1. 李阿姨 蓝莓×2",
            "   ",
            "2、王姐 蓝莓 x3",
            "———",
        ]
    )
    result = jielong_parse(text, products=PRODUCTS)
    assert result.problems == []
    assert result.lines == [
        JielongLine(
            line_no=6, number=1, name="李阿姨", product="蓝莓", quantity=2, raw="1. 李阿姨 蓝莓×2"
        ),
        JielongLine(
            line_no=8, number=2, name="王姐", product="蓝莓", quantity=3, raw="2、王姐 蓝莓 x3"
        ),
    ]
    assert result.is_clean


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("3.", "no_name"),
        ("4. ×2", "no_name"),
        ("5. 钱 蓝莓×2 樱桃×3", "several_quantities"),
        ("6. 陈 蓝莓×0", "zero_quantity"),
        (f"7. 冯 蓝莓×{QUANTITY_MAX + 1}", "too_large"),
        ("大家好，明天几点取货？", "no_number"),
        ("8. " + "长" * 61 + " 蓝莓×1", "name_too_long"),
    ],
)
def test_unreadable_lines_after_the_first_entry_are_reported_with_line_and_code(
    line: str, code: str
):
    result = jielong_parse(f"1. 李阿姨 蓝莓×2\n{line}", products=PRODUCTS)
    assert [(problem.line_no, problem.code) for problem in result.problems] == [(2, code)]
    assert result.problems[0].raw == line.strip()
    assert result.problems[0].reason
    assert [entry.number for entry in result.lines] == [1]
    assert not result.is_clean


def test_quantity_at_the_maximum_is_read():
    assert _one(f"1. 冯 蓝莓×{QUANTITY_MAX}") == (1, "冯", "蓝莓", QUANTITY_MAX)


def test_every_bad_line_is_reported_not_only_the_first():
    text = "1. 李阿姨 蓝莓×2\n2.\n闲聊一句\n3. 王姐 蓝莓×0\n4. 张三 蓝莓×1"
    result = jielong_parse(text, products=PRODUCTS)
    assert [(problem.line_no, problem.code) for problem in result.problems] == [
        (2, "no_name"),
        (3, "no_number"),
        (4, "zero_quantity"),
    ]
    assert [entry.number for entry in result.lines] == [1, 4]


def test_prices_and_dates_in_the_header_are_not_entries():
    result = jielong_parse("19.9元一盒\n7月1日开团\n20点直播\n1. 李阿姨 蓝莓×2")
    assert result.problems == []
    assert [(entry.number, entry.name) for entry in result.lines] == [(1, "李阿姨")]


def test_glued_name_and_product_stay_one_name_without_known_products():
    result = jielong_parse("1.张三蓝莓*1")
    assert [(entry.name, entry.product, entry.quantity) for entry in result.lines] == [
        ("张三蓝莓", "", 1)
    ]


def test_an_x_inside_a_word_is_not_a_quantity():
    assert _one("1. Maxx 蓝莓") == (1, "Maxx", "蓝莓", 1)


def test_empty_text_reads_nothing():
    result = jielong_parse("")
    assert (result.lines, result.problems) == ([], [])


def test_normalise_turns_full_width_into_ascii_and_collapses_spaces():
    assert normalise("１２．　李阿姨　　蓝莓＊２") == "12. 李阿姨 蓝莓*2"
