"""The console's formatting: durations as people write them, times relative to now."""

from datetime import datetime, timedelta, timezone

import pytest
from django.template import Context, Template

from iam_project.consoleformat import absolute_time, human_duration, parse_human_duration, relative_time

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value,text", [
    (timedelta(hours=1, minutes=30), "1 h 30 min"), (timedelta(minutes=29, seconds=59), "29 min 59 s"),
    (timedelta(days=2, hours=3, minutes=4), "2 d 3 h"), (timedelta(0), "0 s"), (None, "—"),
])
def test_human_duration(value, text):
    assert human_duration(value) == text


@pytest.mark.parametrize("text,value", [
    ("1 h 30 min", timedelta(hours=1, minutes=30)), ("90min", timedelta(minutes=90)), ("2d", timedelta(days=2)),
    ("1 hour 5 minutes", timedelta(hours=1, minutes=5)), ("PT1H30M", timedelta(hours=1, minutes=30)),
    ("01:00:00", timedelta(hours=1)), ("soon", None), ("", None),
])
def test_parse_human_duration_takes_human_and_iso_8601(text, value):
    assert parse_human_duration(text) == value


def test_relative_time_both_ways():
    assert relative_time(NOW + timedelta(minutes=42, seconds=10), now=NOW) == "in 42 min"
    assert relative_time(NOW - timedelta(hours=3, minutes=12), now=NOW) == "3 h ago"
    assert relative_time(NOW - timedelta(seconds=20), now=NOW) == "just now"
    assert absolute_time(NOW) == "2026-11-26 08:00:00 UTC"


@pytest.mark.django_db
def test_identity_filter_names_and_links_with_the_id_in_the_tooltip():
    from tests.conftest import make_principal

    principal = make_principal(email="ana@example.com")
    html = Template("{% load console_format %}{{ a|identity }} {{ b|identity }} {{ d|duration }}").render(
        Context({"a": principal.iam_id, "b": "system", "d": timedelta(minutes=90)}))
    assert f'<a href="/admin/principals/principal/{principal.pk}/change/" title="{principal.iam_id}">ana@example.com</a>' in html
    assert '<span title="system">system</span>' in html and "1 h 30 min" in html
