import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from lxml import etree

from finance.bench_sepa import camt_document
from finance.models import (
    BankTransaction,
    CollectionBatch,
    CollectionItem,
    ContributionScheme,
    Invoice,
)

from ..conftest import make_persona
from ..sepa_support import household_with_mandate
from .conftest import force_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def next_weekday_after(days: int) -> dt.date:
    day = timezone.localdate() + dt.timedelta(days=days)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def test_treasurer_runs_dues_exports_a_batch_and_imports_the_statement(page, live_server, tmp_path):
    year = timezone.localdate().year
    ContributionScheme.objects.create(
        year=year,
        first_member_amount=Decimal("10.00"),
        further_member_amount=Decimal("7.50"),
        reduced_amount=Decimal("5.00"),
    )
    for n in range(3):
        household_with_mandate(n + 1)
    force_login(page, make_persona("treasurer"), live_server)

    page.goto(f"/financien/contributierun/{year}/")
    page.get_by_label("Ik heb het overzicht gecontroleerd. Maak de facturen.").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Maak 3 facturen").click()
    assert Invoice.objects.filter(dues_year=year).count() == 3

    page.goto("/financien/incasso/")
    page.get_by_label("Incassodatum").fill(next_weekday_after(15).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Batch maken").click()
    batch = CollectionBatch.objects.get()
    assert batch.count == 3 and batch.total == Decimal("30.00")

    with page.expect_navigation():
        page.get_by_role("button", name="Bestand voor de bank maken").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Incassobestand downloaden").click()
    xml_path = tmp_path / "incasso.xml"
    download_info.value.save_as(xml_path)
    document = etree.parse(str(xml_path))
    assert len(document.findall(".//{*}DrctDbtTxInf")) == 3

    items = list(CollectionItem.objects.select_related("mandate").all())
    statement = tmp_path / "afschrift.xml"
    statement.write_bytes(
        camt_document(
            debits=items, returns=[], transfers=[], unmatched=1, day=batch.collection_date
        )
    )
    page.goto("/financien/bank/")
    page.get_by_label("Bankafschrift").set_input_files(str(statement))
    with page.expect_navigation():
        page.get_by_role("button", name="Inlezen").click()

    assert Invoice.objects.filter(dues_year=year, status=Invoice.Status.PAID).count() == 3
    assert BankTransaction.objects.filter(status=BankTransaction.Status.UNMATCHED).count() == 1
    assert CollectionItem.objects.filter(status=CollectionItem.Status.COLLECTED).count() == 3
