"""The admin's broadcast list: the peak viewers as the platform reported them, "—" before any
report (docs/live-dashboard.md: a 0 would be a guess), 0 when 0 was reported."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.campaigns.factories import BroadcastFactory

pytestmark = pytest.mark.django_db


def _peak_cell(client, broadcast) -> str:
    page = client.get(reverse("admin:campaigns_broadcast_changelist")).content.decode()
    change = reverse("admin:campaigns_broadcast_change", args=[broadcast.pk])
    row = page.split(f'href="{change}"', 1)[1].split("</tr>", 1)[0]
    cell = re.search(r'<td class="field-(?:reported_)?peak_viewers">([^<]*)</td>', row)
    assert cell is not None
    return cell.group(1)


@pytest.mark.parametrize(
    ("reported", "peak", "shown"),
    [(False, 0, "—"), (True, 0, "0"), (True, 42, "42")],
)
def test_the_broadcast_list_shows_the_reported_peak_or_a_dash(
    client, hq_user, reported, peak, shown
):
    broadcast = BroadcastFactory(
        peak_viewers=peak, viewers_reported_at=timezone.now() if reported else None
    )
    client.force_login(hq_user)
    assert _peak_cell(client, broadcast) == shown
