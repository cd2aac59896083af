"""Member and community-message imports (CSV formats in docs/csv-formats.md).

Both follow `linli.imports.contract`: every row is validated, every problem is reported with its row
and column, and the file is written in one transaction only when there is no problem at all.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.customers.models import MEMBER_PERSONAL_FIELDS, CommunityMessage, Member, MemberIdentity
from apps.customers.services.identity import identity_value_normalise, member_no_generate
from apps.stores.models import Store
from linli.imports.contract import (
    ACTION_NEW,
    ACTION_SKIP,
    ACTION_UPDATE,
    HEADER_ROW,
    NUL,
    UNKNOWN_STORE,
    CellError,
    CodeCells,
    Column,
    ErrorLog,
    FirstSeen,
    ImportReport,
    RowCells,
    Table,
    cell_unescape,
    choices_with_labels,
    duplicate_reason,
    header_check,
    import_transaction,
    in_chunks,
    moment_latest,
    nul_reason,
    parse_phone,
)
from linli.phones import phone_mask

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Kind = MemberIdentity.Kind

MEMBER_COLUMNS = (
    Column("phone"),
    Column("name"),
    Column("member_no"),
    Column("gender"),
    Column("birth_year"),
    Column("home_store"),
    Column("joined_at"),
    Column("marketing_consent"),
    Column("member_card"),
    Column("wechat"),
)
# A member row is identified by at least one of these (a phone, a member card, a WeChat id).
MEMBER_KEY_COLUMNS = ("phone", "member_card", "wechat")
MESSAGE_COLUMNS = (
    Column("store_code", required=True),
    Column("group_name", required=True),
    Column("member_identity"),
    Column("text", required=True),
    Column("sent_at", required=True),
)
# The one free-text column of the message format: a chat message may span lines.
MESSAGE_MULTILINE_COLUMNS = frozenset({"text"})

# `kind:value` prefixes accepted in `member_identity` cells (sales history, chat messages).
IDENTITY_PREFIXES: dict[str, str] = {
    "phone": Kind.PHONE,
    "card": Kind.MEMBER_CARD,
    "member_card": Kind.MEMBER_CARD,
    "pos_card": Kind.POS_CARD,
    "wechat": Kind.WECHAT,
    "mini_program": Kind.MINI_PROGRAM,
}

# A phone as a members export shows it to staff without customers.view_phone (`phone_mask`).
MASKED_PHONE = re.compile(r"1[0-9]{2}\*{4}[0-9]{4}")

GENDERS = choices_with_labels(
    Member.Gender.choices, 男="male", 女="female", 未知="unknown", m="male", f="female"
)
WRITE_BATCH = 2000


def member_identity_parse(value: str) -> tuple[str, str]:
    """`phone:138 0013 8000` → ("phone", "+8613800138000"), `card:C123` → ("member_card",
    "C123"); raises CellError for anything else. Values are normalised exactly as
    `member_resolve` stores them, so lookups by (kind, value) match."""
    if NUL in value:
        raise CellError("invalid_identity", nul_reason())
    prefix, separator, raw = value.partition(":")
    kind = IDENTITY_PREFIXES.get(prefix.strip().lower()) if separator else None
    if kind is None:
        raise CellError(
            "invalid_identity",
            _("“%(value)s” is not a member identity; write kind:value with kind one of %(kinds)s.")
            % {"value": value, "kinds": ", ".join(IDENTITY_PREFIXES)},
        )
    if kind == Kind.PHONE:
        # What identity_value_normalise does for phones, without its per-call enum lookups
        # (a sales file has a million of these).
        return kind, parse_phone(raw)
    try:
        return kind, identity_value_normalise(kind=kind, value=raw)
    except ValidationError as error:
        code = "invalid_phone" if kind == Kind.PHONE else "invalid_identity"
        raise CellError(code, error.messages[0]) from error


def _identity_value_parse(value: str, *, kind: str) -> str:
    try:
        return identity_value_normalise(kind=kind, value=cell_unescape(value))
    except ValidationError as error:
        raise CellError("invalid_identity", error.messages[0]) from error


# --- members -----------------------------------------------------------------------------------


@dataclass
class _MemberRow:
    number: int
    phone: str  # "" when the row has no phone (a card or WeChat id identifies it)
    # A masked phone from an export ("138****8000"): must be the mask of the stored phone of
    # the member the row names by member_no, and then changes nothing.
    masked_phone: str
    member_no: str
    card: str
    wechat: str
    home_store_code: str
    # Fields to set; None means "not given: keep what the member has".
    values: dict[str, Any]


def _member_numbers_new(count: int, *, taken: set[str]) -> list[str]:
    """`count` fresh member numbers, unique among themselves, `taken` and the database."""
    numbers: list[str] = []
    while len(numbers) < count:
        candidates = {member_no_generate() for _i in range(count - len(numbers))} - taken
        candidates -= set(
            in_chunks(Member.objects.values_list("member_no", flat=True), "member_no", candidates)
        )
        numbers.extend(candidates)
        taken |= candidates
    return numbers


def members_import(
    *, table: Table, dry_run: bool = False, by: AbstractBaseUser | None = None
) -> ImportReport:
    """Create or update members from a members CSV; all rows or none.

    A row needs at least one of a phone, a member card or a WeChat id (stores that never
    asked for a phone know their members by card or WeChat), or the `member_no` of an
    existing member (so an export imports back whole: its rows for members known by a POS
    card or mini-program id alone, and for erased members, carry only the number; a number of
    nobody is `no_identity`). A masked phone (`138****8000`, as exported to staff who may not
    see phones) is accepted only as the mask of the stored phone of the member the row's
    `member_no` names, and keeps that phone (`masked_phone` otherwise). A row with a phone is
    matched by its phone (phone identity or `Member.phone`), else by its `member_no`; a row
    without one by its `member_no`, else its member card, else its WeChat id. Unmatched rows
    create members. A row that would give an erased member personal data again (an
    identity, a masked phone, a personal field other than what erasure left) is `erased`.
    Given cells overwrite the member's fields, empty cells leave them as they are.
    Identities are kept consistent with `member_resolve`: an imported member with a phone ends
    with a `phone` identity for it, `member_card` is attached as a `member_card` identity and
    `wechat` as a `wechat` identity, so re-importing a card or WeChat id updates the same
    member. An identity that belongs to another member is an error (merging is a human
    decision), never a silent move.
    """
    report = ImportReport(kind="members", dry_run=dry_run)
    log = ErrorLog()
    positions = header_check(table.header, MEMBER_COLUMNS, log)
    keyed = any(column in positions for column in MEMBER_KEY_COLUMNS)
    if table.header and not keyed:
        # The header as a whole is wrong (no one column is missing): reported without a column.
        log.add(
            HEADER_ROW,
            "",
            "missing_column",
            _(
                "The header has none of the columns that identify a member; give at least one "
                "of: %(columns)s."
            )
            % {"columns": ", ".join(MEMBER_KEY_COLUMNS)},
        )
    width = len(table.header)
    duplicates = {column: FirstSeen() for column in ("phone", "member_no", *MEMBER_KEY_COLUMNS)}
    # Every row's home store, bad rows included, so an unknown one is reported with the rest.
    store_cells = CodeCells("home_store", UNKNOWN_STORE)
    parsed: list[_MemberRow] = []
    latest = moment_latest()
    for number, cells in table.rows:
        report.rows += 1
        row = RowCells(number, cells, positions, log, width=width)
        masked_phone = row.raw("phone") if MASKED_PHONE.fullmatch(row.raw("phone")) else ""
        phone = "" if masked_phone else row.phone("phone")
        member_no = row.text("member_no", max_length=20)
        card = row.parse("member_card", _identity_value_parse, kind=Kind.MEMBER_CARD) or ""
        wechat = row.parse("wechat", _identity_value_parse, kind=Kind.WECHAT) or ""
        if masked_phone and not member_no:
            row.error(
                "phone",
                "masked_phone",
                _(
                    "“%(value)s” is a masked phone, as an export shows phones to staff who may "
                    "not see them: it names no member. Give the row's member_no (the stored "
                    "phone is kept), or export with access to phones to import phones."
                )
                % {"value": masked_phone},
            )
        elif keyed and row.valid and not (phone or card or wechat or member_no):
            row.error(
                "phone",
                "no_identity",
                _(
                    "The row names no member: give a phone, a member card, a WeChat id or the "
                    "member_no of an existing member."
                ),
            )
        keys = (
            ("phone", phone),
            ("member_no", member_no),
            ("member_card", card),
            ("wechat", wechat),
        )
        for column, key in keys:
            first = duplicates[column].seen(key, number) if key else None
            if first is not None:
                row.error(
                    column, "duplicate", duplicate_reason(value=row.raw(column), first_row=first)
                )
        values = {
            "name": row.text("name", max_length=60) or None,
            "gender": row.choice("gender", choices=GENDERS) or None,
            "birth_year": row.integer("birth_year", minimum=1900, maximum=2100),
            "joined_at": row.moment("joined_at", latest=latest),
            "marketing_consent": row.boolean("marketing_consent"),
        }
        home_store_code = row.raw("home_store")
        store_cells.add(number, home_store_code)
        if row.valid:
            parsed.append(
                _MemberRow(
                    number=number,
                    phone=phone,
                    masked_phone=masked_phone,
                    member_no=member_no,
                    card=card,
                    wechat=wechat,
                    home_store_code=home_store_code,
                    values=values,
                )
            )
    with import_transaction(log):
        _members_write(
            parsed=parsed,
            store_cells=store_cells,
            report=report,
            log=log,
            dry_run=dry_run,
            owners_named=_phone_owners_named(by),
        )
        if log:
            transaction.set_rollback(True)
    return report.finish(log)


def _fills_erased(row: _MemberRow, member: Member) -> bool:
    """Whether `row` would give the erased `member` personal data again: an identity (a
    masked phone too: an erased member has none, so it comes from an export made before the
    erasure), or a value of an erased field other than what erasure left (an export of the
    erased member imports back as it is)."""
    if row.phone or row.masked_phone or row.card or row.wechat:
        return True
    return any(
        value is not None and getattr(member, key) != value
        for key, value in row.values.items()
        if key in MEMBER_PERSONAL_FIELDS
    )


def _phone_owners_named(by: AbstractBaseUser | None) -> bool:
    """Whether an error may name the member a phone belongs to: for users with
    `customers.view_phone` (and the command line, run with no user). Without it, naming the
    owner told an importer whose phone a number was — what a masked phone hides."""
    return by is None or by.has_perm("customers.view_phone")


def _members_write(
    *,
    parsed: list[_MemberRow],
    store_cells: CodeCells,
    report: ImportReport,
    log: ErrorLog,
    dry_run: bool,
    owners_named: bool,
) -> None:
    stores = store_cells.resolve(queryset=Store.objects.all(), field="code", log=log)
    phones = [row.phone for row in parsed if row.phone]
    phone_identity_owner = dict(
        in_chunks(
            MemberIdentity.objects.filter(kind=Kind.PHONE).values_list("value", "member_id"),
            "value",
            phones,
        )
    )
    phone_owner = dict(phone_identity_owner)
    for member_id, phone in in_chunks(Member.objects.values_list("pk", "phone"), "phone", phones):
        phone_owner.setdefault(phone, member_id)
    number_owner = dict(
        in_chunks(
            Member.objects.values_list("member_no", "pk"),
            "member_no",
            [row.member_no for row in parsed if row.member_no],
        )
    )
    card_owner = dict(
        in_chunks(
            MemberIdentity.objects.filter(kind=Kind.MEMBER_CARD).values_list("value", "member_id"),
            "value",
            [row.card for row in parsed if row.card],
        )
    )
    wechat_owner = dict(
        in_chunks(
            MemberIdentity.objects.filter(kind=Kind.WECHAT).values_list("value", "member_id"),
            "value",
            [row.wechat for row in parsed if row.wechat],
        )
    )
    involved = (
        set(phone_owner.values())
        | set(number_owner.values())
        | set(card_owner.values())
        | set(wechat_owner.values())
    )
    members_query = Member.objects.all()
    if not dry_run:
        members_query = members_query.select_for_update().order_by("pk")
    members = {member.pk: member for member in in_chunks(members_query, "pk", involved)}

    matched: list[tuple[_MemberRow, Member | None]] = []
    for row in parsed:
        member_id = phone_owner.get(row.phone) if row.phone else None
        by_number = number_owner.get(row.member_no) if row.member_no else None
        if member_id is not None and by_number is not None and by_number != member_id:
            message = (
                _("This phone belongs to member %(owner)s, not to %(number)s.")
                % {"owner": members[member_id].member_no, "number": row.member_no}
                if owners_named
                else _("This phone belongs to another member, not to %(number)s.")
                % {"number": row.member_no}
            )
            log.add(row.number, "member_no", "conflict", message)
            continue
        if member_id is None and by_number is not None:
            if row.phone and members[by_number].phone:
                log.add(
                    row.number,
                    "phone",
                    "conflict",
                    _("Member %(number)s already has another phone (%(phone)s).")
                    % {"number": row.member_no, "phone": phone_mask(members[by_number].phone)},
                )
                continue
            member_id = by_number
        card_member = card_owner.get(row.card) if row.card else None
        wechat_member = wechat_owner.get(row.wechat) if row.wechat else None
        if not row.phone and member_id is None:
            # No phone: the card, else the WeChat id, names the member.
            member_id = card_member if card_member is not None else wechat_member
        if member_id is None and row.member_no and not (row.phone or row.card or row.wechat):
            # Only a member number: it must name a member (an export's row for a member known
            # by a POS card or mini-program id alone, or an erased one); a new member needs
            # an identity a till can find her by.
            log.add(
                row.number,
                "member_no",
                "no_identity",
                _(
                    "No member has the number “%(number)s”; a new member needs a phone, a "
                    "member card or a WeChat id."
                )
                % {"number": row.member_no},
            )
            continue
        if card_member is not None and card_member != member_id:
            log.add(
                row.number,
                "member_card",
                "conflict",
                _("Member card “%(card)s” belongs to another member (%(owner)s).")
                % {"card": row.card, "owner": members[card_member].member_no},
            )
            continue
        if wechat_member is not None and wechat_member != member_id:
            log.add(
                row.number,
                "wechat",
                "conflict",
                _("WeChat id “%(wechat)s” belongs to another member (%(owner)s).")
                % {"wechat": row.wechat, "owner": members[wechat_member].member_no},
            )
            continue
        member = members.get(member_id) if member_id is not None else None
        # Erased first: a masked phone on an erased member's row (an export from before the
        # erasure) is told that the member was erased, not that the mask is not her phone.
        if member is not None and member.is_erased and _fills_erased(row, member):
            log.add(
                row.number,
                "member_no",
                "erased",
                _(
                    "The personal data of member %(number)s was erased; an import does not "
                    "fill it in again. To record this person anew, leave member_no empty."
                )
                % {"number": member.member_no},
            )
            continue
        if row.masked_phone and (member is None or phone_mask(member.phone) != row.masked_phone):
            log.add(
                row.number,
                "phone",
                "masked_phone",
                _(
                    "“%(value)s” is a masked phone and not that of member %(number)s: a masked "
                    "phone cannot be imported. Leave the cell empty to keep the stored phone, "
                    "or export with access to phones to import phones."
                )
                % {"value": row.masked_phone, "number": row.member_no},
            )
            continue
        matched.append((row, member))
    if log:
        return

    now = timezone.now()
    new_members: list[Member] = []
    changed_members: list[Member] = []
    identities: list[tuple[Member, str, str]] = []
    given_numbers = {row.member_no for row, member in matched if member is None and row.member_no}
    fresh_numbers = iter(
        _member_numbers_new(
            sum(1 for row, member in matched if member is None and not row.member_no),
            taken=set(given_numbers),
        )
    )
    for row, member in matched:
        values = {key: value for key, value in row.values.items() if value is not None}
        if row.home_store_code:
            values["home_store_id"] = stores[row.home_store_code]
        if member is None:
            values.setdefault("joined_at", now)
            member = Member(
                member_no=row.member_no or next(fresh_numbers), phone=row.phone, **values
            )
            new_members.append(member)
            report.created += 1
            report.row_actions[row.number] = ACTION_NEW
        else:
            if not member.phone and row.phone:
                values["phone"] = row.phone
            changed = {key for key, value in values.items() if getattr(member, key) != value}
            for key in changed:
                setattr(member, key, values[key])
            attaching = (
                (row.phone and row.phone not in phone_identity_owner)
                or (row.card and row.card not in card_owner)
                or (row.wechat and row.wechat not in wechat_owner)
            )
            if changed:
                member.updated_at = now
                changed_members.append(member)
            if changed or attaching:
                report.updated += 1
                report.row_actions[row.number] = ACTION_UPDATE
            else:
                report.unchanged += 1
                report.row_actions[row.number] = ACTION_SKIP
        if row.phone and row.phone not in phone_identity_owner:
            identities.append((member, Kind.PHONE, row.phone))
        if row.card and row.card not in card_owner:
            identities.append((member, Kind.MEMBER_CARD, row.card))
        if row.wechat and row.wechat not in wechat_owner:
            identities.append((member, Kind.WECHAT, row.wechat))
    if dry_run:
        return
    Member.objects.bulk_create(new_members, batch_size=WRITE_BATCH)
    Member.objects.bulk_update(
        changed_members,
        fields=[
            "phone",
            "name",
            "gender",
            "birth_year",
            "home_store",
            "joined_at",
            "marketing_consent",
            "updated_at",
        ],
        batch_size=WRITE_BATCH,
    )
    MemberIdentity.objects.bulk_create(
        [
            MemberIdentity(member=member, kind=kind, value=value)
            for member, kind, value in identities
        ],
        batch_size=WRITE_BATCH,
    )


# --- community chat messages -------------------------------------------------------------------


@dataclass
class _MessageRow:
    number: int
    store_code: str
    group_name: str
    identity: tuple[str, str] | None
    text: str
    sent_at: dt.datetime


def community_messages_import(
    *, table: Table, dry_run: bool = False, by: AbstractBaseUser | None = None
) -> ImportReport:
    """Import chat messages; all rows or none.

    The member is found by `member_identity` (kind:value); a message whose identity is not
    known yet is kept without a member (counted in the report's notes). A message already in
    the database (same store, group, time and text) is skipped, so re-importing a file (or an
    overlapping export of the same chat) adds nothing twice.
    """
    report = ImportReport(kind="chat_messages", dry_run=dry_run)
    log = ErrorLog()
    positions = header_check(table.header, MESSAGE_COLUMNS, log)
    width = len(table.header)
    duplicates = FirstSeen()
    latest = moment_latest()
    store_cells = CodeCells("store_code", UNKNOWN_STORE)
    parsed: list[_MessageRow] = []
    for number, cells in table.rows:
        report.rows += 1
        row = RowCells(
            number, cells, positions, log, width=width, multiline=MESSAGE_MULTILINE_COLUMNS
        )
        store_code = row.text("store_code", required=True)
        store_cells.add(number, store_code)
        group_name = row.text("group_name", required=True, max_length=80)
        identity = row.parse("member_identity", member_identity_parse)
        text = row.text("text", required=True)
        sent_at = row.moment("sent_at", required=True, latest=latest)
        if store_code and group_name and text and sent_at:
            first = duplicates.seen((store_code, group_name, sent_at, text), number)
            if first is not None:
                row.error(
                    "text",
                    "duplicate",
                    _("The same message (store, group, time, text) already appears on row %(row)d.")
                    % {"row": first},
                )
        if row.valid:
            parsed.append(
                _MessageRow(
                    number=number,
                    store_code=store_code,
                    group_name=group_name,
                    identity=identity,
                    text=text,
                    sent_at=sent_at,
                )
            )
    stores = store_cells.resolve(queryset=Store.objects.all(), field="code", log=log)
    if not log and parsed:
        with transaction.atomic():
            _messages_write(parsed=parsed, stores=stores, report=report, dry_run=dry_run)
    report.errors_take(log)
    return report


def _messages_write(
    *, parsed: list[_MessageRow], stores: dict[str, int], report: ImportReport, dry_run: bool
) -> None:
    owners: dict[tuple[str, str], int] = {}
    by_kind: dict[str, set[str]] = {}
    for row in parsed:
        if row.identity:
            by_kind.setdefault(row.identity[0], set()).add(row.identity[1])
    for kind, values in by_kind.items():
        identities = MemberIdentity.objects.filter(kind=kind).values_list("value", "member_id")
        owners.update(
            {(kind, value): member for value, member in in_chunks(identities, "value", values)}
        )
    existing = set(
        CommunityMessage.objects.filter(
            store_id__in=set(stores.values()),
            sent_at__gte=min(row.sent_at for row in parsed),
            sent_at__lte=max(row.sent_at for row in parsed),
        ).values_list("store_id", "group_name", "sent_at", "text")
    )
    new_messages: list[CommunityMessage] = []
    anonymous = 0
    for row in parsed:
        store_id = stores[row.store_code]
        if (store_id, row.group_name, row.sent_at, row.text) in existing:
            report.unchanged += 1
            report.row_actions[row.number] = ACTION_SKIP
            continue
        member_id = owners.get(row.identity) if row.identity else None
        if row.identity and member_id is None:
            anonymous += 1
        new_messages.append(
            CommunityMessage(
                store_id=store_id,
                group_name=row.group_name,
                member_id=member_id,
                text=row.text,
                sent_at=row.sent_at,
            )
        )
        report.created += 1
        report.row_actions[row.number] = ACTION_NEW
    if anonymous:
        report.notes.append(
            ngettext(
                "%(count)d message names an unknown member identity; it is kept without a member.",
                "%(count)d messages name an unknown member identity; "
                "they are kept without a member.",
                anonymous,
            )
            % {"count": anonymous}
        )
    if not dry_run:
        CommunityMessage.objects.bulk_create(new_messages, batch_size=WRITE_BATCH)
