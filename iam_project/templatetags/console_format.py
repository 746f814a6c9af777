"""Template filters of the console: identities by name with a link, relative times, human durations."""

from django import template
from django.utils.html import format_html

from iam_project import consoleformat

register = template.Library()


@register.filter
def ago(moment):
    """``{{ t|ago }}`` → <time title="absolute">3 h ago</time>."""
    if moment is None:
        return "—"
    return format_html('<time datetime="{}" title="{}">{}</time>', moment.isoformat(),
                       consoleformat.absolute_time(moment), consoleformat.relative_time(moment))


@register.filter
def duration(value):
    """``{{ d|duration }}`` → "1 h 30 min"."""
    return consoleformat.human_duration(value)


@register.filter
def identity(iam_id):
    """An iam id shown by the identity's name or email, linked to its screen, the id in the tooltip."""
    return consoleformat.identity_link(iam_id)
