"""Security headers on every page (Content-Security-Policy, Permissions-Policy) and no-store on
every file we hand out: exports, PDFs, the SEPA file and the member's own data download."""

import datetime as dt
import re
import sys
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from coop.core.models import OutboxMessage
from finance.models import CollectionBatch, LedgerEntry

from .conftest import make_persona
from .factories import BuurtFactory, HouseholdFactory, MemberFactory
from .sepa_support import make_invoice
from .test_settings import PRODUCTION, run

SITE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    directives = [part.strip().split(None, 1) for part in header.split(";") if part.strip()]
    return {name: " ".join(sorted(value.split())) for name, value in directives}


def expected(directives: dict[str, str]) -> dict[str, str]:
    return {name: " ".join(sorted(value.split())) for name, value in directives.items()}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/signup/", "/bestaat-niet/"])
def test_public_pages_send_the_site_policy(client, path):
    response = client.get(path)
    assert policy(response) == expected(SITE_POLICY)
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_permissions_policy_switches_off_what_the_site_never_uses(client):
    header = client.get("/accounts/login/")["Permissions-Policy"]
    features = dict(item.split("=", 1) for item in header.split(", "))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "serial", "hid"):
        assert features[feature] == "()", feature
    assert set(features.values()) == {"()"}


@pytest.mark.django_db
def test_logged_in_pages_send_the_policy_too(client):
    client.force_login(make_persona("coordinator"))
    response = client.get(reverse("members:member_list"))
    assert response.status_code == 200
    assert policy(response) == expected(SITE_POLICY)
    assert "Permissions-Policy" in response


@pytest.mark.django_db
def test_only_the_pay_page_lets_its_form_go_on_to_the_payment_provider(client):
    user = make_persona("member")
    invoice = make_invoice(user.member.household, Decimal("12.50"))
    client.force_login(user)
    response = client.get(reverse("finance:invoice_pay", args=[invoice.pk]))
    assert response.status_code == 200
    assert policy(response) == expected({**SITE_POLICY, "form-action": "'self' https:"})
    other = client.get(reverse("finance:my_invoices"))
    assert policy(other)["form-action"] == "'self'"


def test_report_uri_comes_from_the_environment():
    show = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CONTENT_SECURITY_POLICY['DIRECTIVES'].get('report-uri'))"
    )
    with_uri = run(
        {**PRODUCTION, "CSP_REPORT_URI": "https://csp.example.org/r"}, sys.executable, "-c", show
    )
    assert with_uri.returncode == 0, with_uri.stderr
    assert with_uri.stdout.strip() == "['https://csp.example.org/r']"
    without = run(PRODUCTION, sys.executable, "-c", show)
    assert without.stdout.strip() == "None"


# No-store on every download ---------------------------------------------------------------------

FILE_URL = re.compile(r"\.(csv|xlsx|pdf|json|xml)$")

# url name -> (persona, kwargs builder, query builder)
DOWNLOADS = {
    "members:member_export_csv": ("coordinator", None, None),
    "members:member_export_xlsx": ("treasurer", None, None),
    "members:member_welcome_letter": ("coordinator", lambda w: {"pk": w["member"].pk}, None),
    "members:buurt_member_list_pdf": ("coordinator", lambda w: {"pk": w["buurt"].pk}, None),
    "members:letter_print": ("coordinator", None, lambda w: {"tot": w["letter"].pk}),
    "members:data_export": ("member", None, None),
    "finance:invoice_export_csv": ("treasurer", None, None),
    "finance:invoice_export_xlsx": ("treasurer", None, None),
    "finance:ledger_export_csv": ("treasurer", None, None),
    "finance:ledger_export_xlsx": ("treasurer", None, None),
    "finance:invoice_pdf": ("treasurer", lambda w: {"pk": w["invoice"].pk}, None),
    "finance:my_invoice_pdf": ("member", lambda w: {"pk": w["own_invoice"].pk}, None),
    "finance:batch_download": ("treasurer", lambda w: {"pk": w["batch"].pk}, None),
}


def file_url_names() -> set[str]:
    def walk(patterns, namespace=None, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                if not route.startswith(("admin/", "accounts/")):
                    yield from walk(pattern.url_patterns, pattern.namespace or namespace, route)
            elif isinstance(pattern, URLPattern) and FILE_URL.search(route):
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name

    return set(walk(get_resolver().url_patterns))


def test_every_file_url_is_checked_for_no_store():
    assert file_url_names() == set(DOWNLOADS)


def downloads_world(user):
    buurt = BuurtFactory(name="Centrum")
    member = MemberFactory(household=HouseholdFactory(buurt=buurt))
    invoice = make_invoice(member.household, Decimal("17.50"))
    LedgerEntry.objects.create(
        invoice=invoice, kind="payment", source="transfer", external_id="headers-1",
        amount=Decimal("17.50"), booked_on=dt.date(2026, 2, 1),
    )  # fmt: skip
    own = getattr(user, "member", None)
    letter = OutboxMessage.objects.create(
        key="headers.letter:1",
        channel=OutboxMessage.Channel.LETTER,
        template="members/welcome",
        recipient_ref=f"members.member:{member.pk}",
        to_name=member.full_name,
        to_address="Kerkweg 7\n7311 GH Apeldoorn",
        subject="Welkom",
        body_text="Beste lid,\n\nWelkom.",
    )
    batch = CollectionBatch.objects.create(
        collection_date=dt.date(2026, 3, 1),
        status=CollectionBatch.Status.EXPORTED,
        message_id="WKC-HEADERS-1",
        schema_version="pain.008.001.08",
        xml='<?xml version="1.0" encoding="UTF-8"?><Document/>',
    )
    return {
        "buurt": buurt,
        "member": member,
        "invoice": invoice,
        "own_invoice": make_invoice(own.household) if own else None,
        "letter": letter,
        "batch": batch,
    }


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", sorted(DOWNLOADS))
def test_downloads_are_never_stored(client, url_name):
    persona, kwargs, query = DOWNLOADS[url_name]
    user = make_persona(persona)
    world = downloads_world(user)
    client.force_login(user)
    url = reverse(url_name, kwargs=kwargs(world) if kwargs else None)
    response = client.get(url, query(world) if query else None)
    assert response.status_code == 200, url
    assert "attachment" in response["Content-Disposition"] or url.endswith(".pdf")
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-store", "private"} <= cache_control, response["Cache-Control"]
    if response.streaming:
        b"".join(response.streaming_content)
        response.close()
