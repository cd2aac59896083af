"""Member tags keep their evidence as facts, not a sentence.

Until now the recompute wrote a tag's evidence as one sentence in the project language
("购买：猫砂 ×1", "聊天：“…”（2026-11-20）"), so English readers saw Chinese and the Chinese
page repeated the source ("购买记录 · 购买：…"). `evidence_facts` holds what the sentence
states and the pages word it in the reader's language
(`apps.customers.models.tag_evidence_text`).

The backfill reads the facts back out of the automatic tags' sentences in the formats the
previous code wrote, in Chinese or English (frozen here: a migration must not depend on
today's app code); a merge joined two sentences with "; ", and each part is read. A quote
may itself contain "; ": the text is cut at "; " into the shortest sentences that each read
(a chat sentence ends at its first closing quote and date that the rest of the text follows). A row read completely gets its facts and an empty
text; a row with any part that does not parse (a note typed by staff, a format not listed)
keeps its text, shown as written. Manual and
imported tags are not read. A category is named as written; its id is filled in when exactly
one category has that name. Rerunning changes nothing (only rows without facts are read);
the reverse writes the Chinese sentences back.
"""

import re

from django.db import migrations, models

CHAT = [
    re.compile(r"^聊天[：:]\s*[“\"](?P<text>.*)[”\"]\s*[（(](?P<day>\d{4}-\d\d-\d\d)[）)]$"),
    re.compile(r"^Chat:\s*\"(?P<text>.*)\"\s*\((?P<day>\d{4}-\d\d-\d\d)\)$"),
]
PURCHASES = [
    re.compile(r"^购买[：:]\s*(?P<category>.+?)\s*×\s*(?P<count>\d+)$"),
    re.compile(r"^Purchases:\s*(?P<category>.+?)\s*×\s*(?P<count>\d+)$"),
]
AUTO_SOURCES = ("chat", "purchase")
BATCH = 2_000


def _first_match(patterns, text):
    for pattern in patterns:
        match = pattern.match(text)
        if match:
            return match
    return None


def fact_from_sentence(text, *, category_ids):
    """The facts one old evidence sentence states, or None when it does not parse."""
    match = _first_match(CHAT, text)
    if match:
        return {"code": "chat", "text": match["text"], "day": match["day"]}
    match = _first_match(PURCHASES, text)
    if match:
        return {
            "code": "purchases",
            "category_id": category_ids.get(match["category"]),
            "category": match["category"],
            "count": int(match["count"]),
        }
    return None


def facts_from_evidence(evidence, *, category_ids):
    """The facts of an old evidence text (one sentence, or a merge's "; "-joined ones), or
    None when it cannot be read completely.

    Read whole, two joined chat sentences would parse as one quote, and a quote can contain
    "; ", so the text is cut at "; " into the shortest sentences that each parse and leave a
    rest that parses too (memoised on where the rest starts; evidence is ≤ 255 characters)."""
    text = (evidence or "").strip()
    if not text:
        return None
    pieces = text.split("; ")
    read = {len(pieces): []}

    def read_from(start):
        if start not in read:
            read[start] = None
            for end in range(start + 1, len(pieces) + 1):
                sentence = "; ".join(pieces[start:end]).strip()
                fact = fact_from_sentence(sentence, category_ids=category_ids)
                rest = None if fact is None else read_from(end)
                if rest is not None:
                    read[start] = [fact, *rest]
                    break
        return read[start]

    return read_from(0)


def _unique_category_ids(apps):
    Category = apps.get_model("catalog", "Category")
    ids = {}
    for pk, name in Category.objects.order_by("pk").values_list("pk", "name"):
        ids[name] = None if name in ids else pk
    return ids


def backfill_facts(apps, schema_editor):
    MemberTag = apps.get_model("customers", "MemberTag")
    category_ids = _unique_category_ids(apps)
    rows = (
        MemberTag.objects.filter(source__in=AUTO_SOURCES, evidence_facts=[])
        .exclude(evidence="")
        .only("pk", "evidence")
        .order_by("pk")
    )
    changed = []
    for member_tag in rows.iterator(chunk_size=BATCH):
        facts = facts_from_evidence(member_tag.evidence, category_ids=category_ids)
        if facts is None:
            continue
        member_tag.evidence_facts = facts
        member_tag.evidence = ""
        changed.append(member_tag)
        if len(changed) >= BATCH:
            MemberTag.objects.bulk_update(changed, ["evidence_facts", "evidence"])
            changed = []
    MemberTag.objects.bulk_update(changed, ["evidence_facts", "evidence"])


def _sentence(fact):
    if fact.get("code") == "chat":
        return f"聊天：“{fact['text']}”（{fact['day']}）"
    return f"购买：{fact['category']} ×{fact['count']}"


def write_sentences_back(apps, schema_editor):
    MemberTag = apps.get_model("customers", "MemberTag")
    changed = []
    for member_tag in (
        MemberTag.objects.exclude(evidence_facts=[])
        .only("pk", "evidence", "evidence_facts")
        .iterator(chunk_size=BATCH)
    ):
        parts = [_sentence(fact) for fact in member_tag.evidence_facts]
        if member_tag.evidence:
            parts.append(member_tag.evidence)
        member_tag.evidence = "; ".join(parts)[:255]
        changed.append(member_tag)
        if len(changed) >= BATCH:
            MemberTag.objects.bulk_update(changed, ["evidence"])
            changed = []
    MemberTag.objects.bulk_update(changed, ["evidence"])


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0013_decision_run_notes_as_codes"),
        ("customers", "0007_nps_answer_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="membertag",
            name="evidence_facts",
            field=models.JSONField(blank=True, default=list, verbose_name="evidence facts"),
        ),
        migrations.RunPython(backfill_facts, write_sentences_back, elidable=False),
    ]
