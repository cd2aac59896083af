"""Quiz scoring (pure): the share of questions answered with a correct choice, in whole percent
(rounded half up), against the course's pass mark."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class QuizResult:
    correct: int
    total: int
    score: int  # percent, 0–100
    passed: bool


def quiz_score(
    *,
    correct_choices: Mapping[int, frozenset[int]],
    answers: Mapping[int, int | None],
    pass_mark: int,
) -> QuizResult:
    """Score `answers` ({question id: chosen choice id or None}) against `correct_choices`
    ({question id: ids of its correct choices}). An unanswered question, or an answer to a
    question not in the quiz, counts as wrong. Raises ValueError for a quiz without questions."""
    total = len(correct_choices)
    if total == 0:
        raise ValueError("a quiz needs at least one question")
    correct = sum(
        1
        for question_id, right in correct_choices.items()
        if answers.get(question_id) is not None and answers[question_id] in right
    )
    score = int((Decimal(correct * 100) / Decimal(total)).quantize(Decimal(1), ROUND_HALF_UP))
    return QuizResult(correct=correct, total=total, score=score, passed=score >= pass_mark)
