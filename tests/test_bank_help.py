"""The help on the bank pages: where to download a statement, what to do with the pain.008 file."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from .sepa_support import exported_batch, household_with_mandate, make_invoice

pytestmark = pytest.mark.django_db
BANKS = ("ING", "Rabobank", "ABN AMRO")


@pytest.fixture(autouse=True)
def _frozen_today(monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: dt.date(2026, 11, 23))


def details(html: str) -> list[str]:
    """The <details> blocks of a page, each with its summary: the help stays folded away."""
    blocks = re.findall(r"<details class=\"help-details\"[^>]*>(.*?)</details>", html, re.S)
    assert all("<summary>" in block for block in blocks)
    return blocks


def test_the_statement_page_says_where_to_download_the_file(client, treasurer):
    client.force_login(treasurer)
    html = client.get(reverse("finance:statement_import")).content.decode()
    (block,) = details(html)
    assert "Waar vind ik het afschrift bij mijn bank?" in block
    for bank in BANKS:
        assert f"<strong>{bank}</strong>" in block
    assert "Mijn ING Zakelijk → Afschriften → download als CAMT.053." in block
    assert "Rabo Internetbankieren → Downloaden transacties" in block
    assert "Internet Bankieren Zakelijk → Rekeninginformatie downloaden" in block
    assert "Een andere bank" in block and "MT940" in block
    assert "http" not in block  # no links to the banks: nothing from another host


def test_the_batch_pages_say_what_the_pain008_file_is_for(client, treasurer):
    member, mandate = household_with_mandate(1)
    batch, _ = exported_batch([(make_invoice(member.household), mandate)])
    client.force_login(treasurer)
    html = client.get(reverse("finance:batch_detail", args=[batch.pk])).content.decode()
    (block,) = details(html)
    assert "Wat doe ik met het incassobestand?" in block
    assert "Het incassobestand (pain.008) is de opdracht aan de bank" in block
    for bank in BANKS:
        assert f"<strong>{bank}</strong>" in block
    assert "Incasso’s aanleveren" in block and "Batch uploaden" in block
    assert "vóór de incassodatum" in block and "http" not in block

    listing = client.get(reverse("finance:batch_list")).content.decode()
    (steps,) = details(listing)
    assert "Hoe gaat een incasso?" in steps
    assert steps.count("<li>") == 4 and "pain.008" in steps
