"""Demo members: names, phones, identities, scenes, shopping habits (pure numpy, no ORM)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from apps.ops.demo.names import GIVEN_FEMALE, GIVEN_MALE, GIVEN_NEUTRAL, SURNAMES
from apps.ops.demo.scenes import FITNESS, KIDS, pet_kinds, planted_scenes

# Segment bits: a member's segment is the sum of the bits of their scenes.
SEGMENT_KIDS = 1
SEGMENT_FITNESS = 2
SEGMENT_CAT = 4
SEGMENT_DOG = 8
SEGMENT_COUNT = 16

# Usual shopping hour: each member has one peak hour; a visit falls at peak ± N(0, 1 h).
PEAK_HOURS = np.array([8, 10, 12, 17, 18, 19, 20, 21])
PEAK_HOUR_SHARE = np.array([0.12, 0.10, 0.12, 0.14, 0.18, 0.16, 0.11, 0.07])
HOUR_SPREAD = 1.0
OPEN_HOUR, CLOSE_HOUR = 7, 22  # last order starts at 22:59

_MOBILE_PREFIXES = np.array(
    [130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158]
    + [159, 166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191]
    + [193, 195, 198, 199]
)


_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)


def member_no_for(sequence: int) -> str:
    """ "M" + 11 digits: a bijection of the sequence number modulo 10**11, so numbers are unique
    but not consecutive (like real ones, which are random)."""
    return f"M{(sequence * 7_654_321 + 20_260_000_001) % 10**11:011d}"


def member_card_for(sequence: int) -> str:
    return f"LL{(sequence * 3_141_593 + 8_800_000_000) % 10**10:010d}"


def pos_card_for(sequence: int) -> str:
    return f"POS{(sequence * 2_718_281 + 10_000_000) % 10**8:08d}"


@dataclass(frozen=True)
class MemberDraft:
    """All members as parallel arrays; index i is the i-th member created."""

    member_no: list[str]
    name: list[str]
    gender: list[str]
    birth_year: list[int | None]
    phone: list[str]
    home_store: np.ndarray  # store index
    segment: np.ndarray  # 0..15, see SEGMENT_*
    activity: np.ndarray  # relative visit rate
    peak_hour: np.ndarray
    join_day: np.ndarray  # day index of the window when they joined; -1 = before the window
    joined_offset_days: np.ndarray  # for join_day == -1: days before the window start
    marketing_consent: np.ndarray
    has_card: np.ndarray
    has_wechat: np.ndarray
    has_mini_program: np.ndarray
    has_pos_card: np.ndarray
    wechat_ids: list[str]
    mini_program_ids: list[str]

    def __len__(self) -> int:
        return len(self.member_no)


def _unique_phones(count: int, rng: np.random.Generator) -> list[str]:
    phones: list[str] = []
    seen: set[str] = set()
    while len(phones) < count:
        need = count - len(phones)
        prefixes = rng.choice(_MOBILE_PREFIXES, need)
        tails = rng.integers(0, 10**8, need)
        for prefix, tail in zip(prefixes.tolist(), tails.tolist(), strict=True):
            phone = f"+86{prefix}{tail:08d}"
            if phone not in seen:
                seen.add(phone)
                phones.append(phone)
    return phones


def _names(genders: list[str], rng: np.random.Generator) -> list[str]:
    surnames = [name for name, _weight in SURNAMES]
    weights = np.array([weight for _name, weight in SURNAMES], dtype=float)
    picked = rng.choice(len(surnames), len(genders), p=weights / weights.sum())
    two_chars = rng.random(len(genders)) < 0.7
    first = rng.random(len(genders))
    second = rng.random(len(genders))
    names = []
    for index, gender in enumerate(genders):
        pool = GIVEN_FEMALE if gender == "female" else GIVEN_MALE
        if gender == "unknown":
            pool = GIVEN_NEUTRAL
        chars = pool[int(first[index] * len(pool))]
        if two_chars[index]:
            tail_pool = GIVEN_NEUTRAL + pool
            chars += tail_pool[int(second[index] * len(tail_pool))]
        names.append(surnames[picked[index]] + chars)
    return names


def members_draft(
    *,
    count: int,
    first_sequence: int,
    store_weights: np.ndarray,
    days: int,
    rng: np.random.Generator,
) -> MemberDraft:
    """Draw `count` members; home stores are drawn in proportion to `store_weights`."""
    sequences = range(first_sequence, first_sequence + count)
    member_nos = [member_no_for(sequence) for sequence in sequences]
    segments = np.zeros(count, dtype=np.int64)
    for index, member_no in enumerate(member_nos):
        scenes = planted_scenes(member_no)
        cat, dog = pet_kinds(member_no)
        segments[index] = (
            (SEGMENT_KIDS if KIDS in scenes else 0)
            + (SEGMENT_FITNESS if FITNESS in scenes else 0)
            + (SEGMENT_CAT if cat else 0)
            + (SEGMENT_DOG if dog else 0)
        )
    gender_draw = rng.random(count)
    genders = np.where(
        gender_draw < 0.52, "female", np.where(gender_draw < 0.96, "male", "unknown")
    )
    genders_list = genders.tolist()
    # Birth years: parents of young children 1985–1998, fitness 1985–2004, others 1950–2004.
    years = rng.integers(1950, 2005, count)
    years = np.where(rng.random(count) < 0.5, rng.integers(1970, 2002, count), years)
    years = np.where(segments & SEGMENT_FITNESS, rng.integers(1985, 2005, count), years)
    years = np.where(segments & SEGMENT_KIDS, rng.integers(1985, 1999, count), years)
    birth_known = rng.random(count) >= 0.08
    birth_years = [
        int(year) if known else None for year, known in zip(years, birth_known, strict=True)
    ]
    home = rng.choice(len(store_weights), count, p=store_weights / store_weights.sum())
    activity = rng.gamma(0.9, 1.0 / 0.9, count)
    peak = rng.choice(PEAK_HOURS, count, p=PEAK_HOUR_SHARE)
    joined_in_window = rng.random(count) < 0.15
    join_day = np.where(joined_in_window, rng.integers(0, max(days, 1), count), -1)
    joined_offset = rng.integers(1, 3 * 365, count)
    wechat_bytes = rng.integers(0, 64, (count, 25), dtype=np.uint8)
    mini_bytes = rng.integers(0, 256, (count, 12), dtype=np.uint8)
    wechat = ["oWx" + bytes(_ALPHABET[row]).decode() for row in wechat_bytes]
    mini = ["mp_" + bytes(row).hex() for row in mini_bytes]
    return MemberDraft(
        member_no=member_nos,
        name=_names(genders_list, rng),
        gender=genders_list,
        birth_year=birth_years,
        phone=_unique_phones(count, rng),
        home_store=home,
        segment=segments,
        activity=activity,
        peak_hour=peak,
        join_day=join_day,
        joined_offset_days=joined_offset,
        marketing_consent=rng.random(count) < 0.80,
        has_card=rng.random(count) < 0.90,
        has_wechat=rng.random(count) < 0.70,
        has_mini_program=rng.random(count) < 0.50,
        has_pos_card=rng.random(count) < 0.10,
        wechat_ids=wechat,
        mini_program_ids=mini,
    )
