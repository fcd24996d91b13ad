"""Messages are template triplets: `<name>-subject.txt`, `<name>-body.txt`, `<name>-body.html`."""

from dataclasses import dataclass
from typing import Any

from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(name: str, context: dict[str, Any]) -> RenderedEmail:
    subject = " ".join(render_to_string(f"{name}-subject.txt", context).split())
    text = render_to_string(f"{name}-body.txt", context).strip() + "\n"
    html: str
    try:
        html = render_to_string(f"{name}-body.html", context)
    except TemplateDoesNotExist:
        html = ""
    return RenderedEmail(subject=subject, text=text, html=html)
