"""The admin pages of django-celery-beat and django-auditlog speak the page's language.

Their words with no Chinese in their own catalogues are in ours (linli/vendor_apps.py); the
labels they write without gettext are set in apps/ops/admin.py and apps/customers/admin/audit.py.
"""

from __future__ import annotations

import json

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

BEAT = "/admin/django_celery_beat"


@pytest.fixture
def schedules() -> None:
    call_command("setup_periodic_tasks", verbosity=0)


def test_the_periodic_task_list_names_its_columns_and_schedules_in_chinese(admin_client, schedules):
    html = admin_client.get(f"{BEAT}/periodictask/").content.decode()
    for english in ("Scheduler", "Task Name", "At 10:00 PM"):
        assert english not in html
    assert "调度" in html
    assert "在 22:00 Asia/Shanghai" in html  # procurement: daily consolidation
    assert "按 任务名称" in html or "以 任务名称" in html


def test_the_periodic_task_form_labels_its_sections_and_crontab_in_chinese(admin_client, schedules):
    task = PeriodicTask.objects.get(name="procurement: daily consolidation")
    html = admin_client.get(f"{BEAT}/periodictask/{task.pk}/change/").content.decode()
    for english in ("Crontab translation", ">Schedule<", ">Arguments<", "Execution Options"):
        assert english not in html
    for chinese in ("Cron 说明", ">调度计划<", ">参数<", "执行选项", "在 22:00 Asia/Shanghai"):
        assert chinese in html
    # The crontab help under the select (static/linli/crontab-help.js) in the same words.
    readable = json.loads(
        html.split('id="readable-crontabs" type="application/json">')[1].split("</script>")[0]
    )
    assert readable[str(task.crontab_id)] == "在 22:00 Asia/Shanghai"


def test_the_crontab_pages_describe_the_schedule_in_the_pages_language(admin_client, schedules):
    crontab = CrontabSchedule.objects.get(minute="0", hour="22")
    listing = admin_client.get(f"{BEAT}/crontabschedule/").content.decode()
    assert "Human readable" not in listing
    assert "可读描述" in listing
    assert "在 22:00 Asia/Shanghai" in listing
    page = admin_client.get(f"{BEAT}/crontabschedule/{crontab.pk}/change/").content.decode()
    for english in ("Periodic Tasks Using This Schedule", "Cron Months", "Cron Days Of The Week"):
        assert english not in page
    assert "使用此计划的周期任务" in page
    assert "（例如：“1,15”）" in page  # the day-of-month example of the source, not "0,5"

    english = admin_client.get(
        f"{BEAT}/crontabschedule/{crontab.pk}/change/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "At 22:00 Asia/Shanghai" in english
    assert "Human readable" in english


def test_the_audit_log_names_a_change_without_user_and_its_fields_in_chinese(admin_client):
    store = StoreFactory(name="Old name")
    LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(store)).delete()
    store.name = "New name"
    store.save()
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(store), action=LogEntry.Action.UPDATE
    )
    assert entry.actor is None

    listing = admin_client.get("/admin/auditlog/logentry/").content.decode()
    assert "system" not in listing
    assert "系统" in listing
    assert "1 change" not in listing
    assert "1 处修改：名称" in listing

    page = admin_client.get(f"/admin/auditlog/logentry/{entry.pk}/change/").content.decode()
    for english in ("<th>Field</th>", "<th>From</th>", "<th>To</th>"):
        assert english not in page
    for chinese in ("<th>字段</th>", "<th>修改前</th>", "<th>修改后</th>"):
        assert chinese in page


def test_the_groups_keep_their_names_and_show_their_roles_label(admin_client, roles):
    listing = admin_client.get("/admin/auth/group/").content.decode()
    for name, label in (("HQ operations", "总部运营"), ("HQ procurement", "总部采购")):
        assert f">{name}</a>" in listing  # the identifier, unchanged
        assert f'<td class="field-label">{label}</td>' in listing
    group = Group.objects.get(name="HQ inspection")
    page = admin_client.get(f"/admin/auth/group/{group.pk}/change/").content.decode()
    assert "总部巡店" in page

    english = admin_client.get("/admin/auth/group/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<td class="field-label">HQ operations</td>' in english


def test_the_user_page_offers_groups_by_their_chinese_label(admin_client, roles):
    user = UserFactory(is_staff=True)
    page = admin_client.get(f"/admin/auth/user/{user.pk}/change/").content.decode()
    hq_operations = Group.objects.get(name="HQ operations")
    assert f'<option value="{hq_operations.pk}">总部运营（HQ operations）</option>' in page


def test_the_periodic_tasks_keep_their_names_and_show_a_chinese_label(admin_client, schedules):
    assert PeriodicTask.objects.filter(name="procurement: daily consolidation").exists()
    listing = admin_client.get(f"{BEAT}/periodictask/").content.decode()
    assert '<td class="field-label">采购：每日合单</td>' in listing
    assert ">procurement: daily consolidation</a>" in listing
