"""Every error block a failed submit shows, and every message, can take the focus after the page
loads (static/js/focus-message.js finds them by data-focus-message; tabindex="-1" lets them take
it). A new error block without them would leave a screen-reader user guessing what went wrong."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string

TEMPLATES = Path(settings.BASE_DIR) / "templates"
ERROR_BLOCK = re.compile(r"<div\b[^>]*\bclass=\"message message--error[^\"]*\"[^>]*>")


def test_every_error_block_can_take_the_focus():
    missing = []
    for path in TEMPLATES.rglob("*.html"):
        for tag in ERROR_BLOCK.findall(path.read_text(encoding="utf-8")):
            if 'data-focus-message="error"' not in tag or 'tabindex="-1"' not in tag:
                missing.append(f"{path.relative_to(TEMPLATES)}: {tag}")
    assert missing == []


@pytest.mark.django_db
def test_messages_and_the_script_are_on_every_page(rf):
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message

    request = rf.get("/")
    request.user = AnonymousUser()
    html = render_to_string(
        "base.html",
        {
            "messages": [
                Message(constants.SUCCESS, "Opgeslagen."),
                Message(constants.ERROR, "Dat lukte niet."),
            ]
        },
        request=request,
    )
    assert 'src="/static/js/focus-message.js" defer' in html
    assert 'tabindex="-1" data-focus-message="message">Opgeslagen.' in html
    assert 'tabindex="-1" data-focus-message="error">Dat lukte niet.' in html
