"""Everyday self-service in the portal: consents taken back and given again, notice of ending
the membership (and the coordinator confirming it), and how to pay an invoice by transfer."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from coop.core.models import OutboxMessage
from finance.services.invoices import payment_record_manual
from finance.services.statements import statement_import
from members.models import Consent, Member, MembershipNotice, StatusChange
from members.services import (
    MembershipError,
    consent_record,
    consent_withdraw,
    member_change_status,
    membership_notice_confirm,
    membership_notice_give,
)

from .factories import ConsentTextFactory, MemberFactory
from .sepa_support import FIXTURES, exported_batch, household_with_mandate, make_invoice

pytestmark = pytest.mark.django_db

_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


@pytest.fixture
def me(member_user):
    return member_user.member


@pytest.fixture
def privacy():
    return ConsentTextFactory(key="privacy", title="Privacyverklaring", required=True)


@pytest.fixture
def photos():
    return ConsentTextFactory(
        key="fotos", title="Foto's in de nieuwsbrief", text="Wij mogen uw foto plaatsen.",
        required=False,
    )  # fmt: skip


def year_end() -> dt.date:
    return dt.date(timezone.localdate().year, 12, 31)


def portal(client) -> str:
    response = client.get(reverse("members:portal"))
    assert response.status_code == 200
    return response.content.decode()


def consent_block(html: str, title: str) -> str:
    """The part of the portal about one text (up to the next one)."""
    start = html.index(f"<h3>{title}")
    end = html.find('<div class="consent-state">', start)
    return html[start : end if end != -1 else len(html)]


# Consents ---------------------------------------------------------------------------------------


def test_portal_shows_each_text_with_its_state(member_client, me, privacy, photos):
    consent_record(member=me, consent_text=privacy)
    html = portal(member_client)
    given = consent_block(html, "Privacyverklaring (versie 1)")
    assert "Gegeven op" in given
    # Required: no button to take it back, but the way out instead.
    assert reverse("members:consent_revoke", args=["privacy"]) not in given
    assert "nodig voor uw lidmaatschap" in given
    assert reverse("members:notice_give") in given
    never = consent_block(html, "Foto&#x27;s in de nieuwsbrief (versie 1)")
    assert "Nooit gegeven" in never
    assert reverse("members:consent_give", args=[photos.pk]) in never
    assert "Wij mogen uw foto plaatsen." in never  # the text itself, to read before agreeing


def test_withdraw_and_give_again_keeps_the_history(member_client, me, photos):
    first = consent_record(member=me, consent_text=photos)
    html = portal(member_client)
    assert reverse("members:consent_revoke", args=["fotos"]) in consent_block(
        html, "Foto&#x27;s in de nieuwsbrief"
    )

    response = member_client.post(reverse("members:consent_revoke", args=["fotos"]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("members:portal")
    page = response.content.decode()
    assert "U heeft uw toestemming voor" in page and "ingetrokken op" in page
    first.refresh_from_db()
    assert first.withdrawn_at is not None
    assert "Ingetrokken op" in consent_block(page, "Foto&#x27;s in de nieuwsbrief")

    response = member_client.post(reverse("members:consent_give", args=[photos.pk]), follow=True)
    assert "is vastgelegd op" in response.content.decode()
    rows = list(Consent.objects.filter(member=me).order_by("given_at", "pk"))
    assert len(rows) == 2  # a new row; the withdrawn one stays
    assert rows[0].pk == first.pk and rows[0].withdrawn_at is not None
    assert rows[1].withdrawn_at is None and rows[1].via == Consent.Via.ONLINE
    assert rows[1].given_at >= rows[0].withdrawn_at
    block = consent_block(response.content.decode(), "Foto&#x27;s in de nieuwsbrief")
    assert "Gegeven op" in block
    assert "Eerder gegeven en ingetrokken" in block and "ingetrokken op" in block


def test_withdrawing_twice_is_harmless(member_client, me, photos):
    consent_record(member=me, consent_text=photos)
    url = reverse("members:consent_revoke", args=["fotos"])
    member_client.post(url)
    withdrawn_at = Consent.objects.get(member=me).withdrawn_at
    response = member_client.post(url, follow=True)
    assert "geen toestemming gegeven" in response.content.decode()
    assert Consent.objects.get(member=me).withdrawn_at == withdrawn_at


def test_the_required_consent_cannot_be_withdrawn_while_a_member(member_client, me, privacy):
    consent = consent_record(member=me, consent_text=privacy)
    response = member_client.post(reverse("members:consent_revoke", args=["privacy"]), follow=True)
    assert "Zeg dan uw lidmaatschap op" in response.content.decode()
    consent.refresh_from_db()
    assert consent.withdrawn_at is None
    with pytest.raises(MembershipError):
        consent_withdraw(member=me, key="privacy")
    # Once the membership has ended it can be taken back.
    member_change_status(member=me, to_status=Member.Status.CANCELLED, reason="Verhuisd")
    me.refresh_from_db()
    assert consent_withdraw(member=me, key="privacy") == 1


def test_a_new_version_asks_to_agree_again_and_withdrawing_covers_every_version(member_client, me):
    old = ConsentTextFactory(key="fotos", version=1, title="Foto's", required=False)
    consent_record(member=me, consent_text=old)
    new = ConsentTextFactory(key="fotos", version=2, title="Foto's", required=False)
    block = consent_block(portal(member_client), "Foto&#x27;s (versie 2)")
    assert "Gegeven voor versie 1" in block and "Akkoord met de nieuwe versie" in block
    # Agreeing to the old version again is refused: the member must see the newest one.
    response = member_client.post(reverse("members:consent_give", args=[old.pk]), follow=True)
    assert "nieuwere versie" in response.content.decode()
    member_client.post(reverse("members:consent_give", args=[new.pk]))
    assert Consent.objects.filter(member=me, withdrawn_at__isnull=True).count() == 2
    assert consent_withdraw(member=me, key="fotos") == 2
    assert not Consent.objects.filter(member=me, withdrawn_at__isnull=True).exists()


def test_the_database_holds_one_open_consent_per_text(me, photos):
    consent_record(member=me, consent_text=photos)
    with pytest.raises(IntegrityError), transaction.atomic():
        Consent.objects.create(member=me, consent_text=photos, given_at=timezone.now())


def test_a_member_cannot_give_consent_to_a_text_that_does_not_exist(member_client):
    assert member_client.post(reverse("members:consent_give", args=[999999])).status_code == 404
    url = reverse("members:consent_revoke", args=["bestaat-niet"])
    assert member_client.post(url).status_code == 404


# Notice of ending the membership ----------------------------------------------------------------


def test_notice_per_end_of_year_then_confirmed_by_the_coordinator(
    client, member_user, me, coordinator
):
    client.force_login(member_user)
    page = client.get(reverse("members:notice_give")).content.decode()
    assert "Aan het einde van dit jaar" in page and _TOKEN.search(page)
    response = client.post(
        reverse("members:notice_give"),
        {"when": "year_end", "end_on": "", "reason": "Ik ga verhuizen"},
        follow=True,
    )
    notice = MembershipNotice.objects.get(member=me)
    assert notice.status == MembershipNotice.Status.PENDING
    assert notice.end_on == year_end()
    assert notice.reason == "Ik ga verhuizen"
    assert notice.given_by == member_user
    shown = response.content.decode()
    assert "Opgezegd per" in shown and "wacht op bevestiging" in shown
    html = portal(client)
    assert "Opgezegd per" in html and "wacht op bevestiging" in html
    me.refresh_from_db()
    assert me.status == Member.Status.ACTIVE  # it runs on until confirmed

    # The coordinator sees it on the dashboard, on the list and on the member's page.
    client.force_login(coordinator)
    dashboard = client.get(reverse("dashboard:coordinator")).content.decode()
    assert "1 lid heeft online opgezegd" in dashboard
    assert reverse("members:notice_list") in dashboard
    listing = client.get(reverse("members:notice_list")).content.decode()
    assert me.full_name in listing and "Ik ga verhuizen" in listing
    assert reverse("members:member_notice", args=[me.pk]) in listing
    detail = client.get(reverse("members:member_detail", args=[me.pk])).content.decode()
    assert "online opgezegd per" in detail
    assert reverse("members:member_notice", args=[me.pk]) in detail

    url = reverse("members:member_notice", args=[me.pk])
    page = client.get(url).content.decode()
    assert f'value="{year_end():%Y-%m-%d}"' in page
    response = client.post(url, {"action": "confirm", "effective_on": f"{year_end():%Y-%m-%d}"})
    assert response["Location"] == reverse("members:member_detail", args=[me.pk])

    me.refresh_from_db()
    assert me.status == Member.Status.CANCELLED
    assert me.ended_on == year_end()
    change = StatusChange.objects.get(member=me, to_status=Member.Status.CANCELLED)
    assert change.from_status == Member.Status.ACTIVE
    assert change.effective_on == year_end()
    assert change.changed_by == coordinator
    given_on = timezone.localtime(notice.given_at).date()
    assert change.reason.startswith("Opgezegd door lid op ")
    assert str(given_on.day) in change.reason and change.reason.endswith(": Ik ga verhuizen")
    notice.refresh_from_db()
    assert notice.status == MembershipNotice.Status.CONFIRMED
    assert notice.decided_by == coordinator and notice.decided_at is not None
    # The member gets a confirmation, once.
    message = OutboxMessage.objects.get(key=f"members.notice_confirmed:{notice.pk}")
    assert message.to_email == me.email and "opzegging" in message.subject.lower()
    assert "dashboard" not in message.body_text
    # Nothing waits any more.
    dashboard = client.get(reverse("dashboard:coordinator")).content.decode()
    assert "online opgezegd" not in dashboard
    assert (
        "Er wachten geen opzeggingen" in client.get(reverse("members:notice_list")).content.decode()
    )

    client.force_login(member_user)
    html = portal(client)
    assert "wacht op bevestiging" not in html and "Opgezegd" in html


def test_notice_on_a_chosen_date_and_its_checks(member_client, me):
    url = reverse("members:notice_give")
    today = timezone.localdate()
    response = member_client.post(url, {"when": "date", "end_on": "", "reason": ""})
    assert response.status_code == 200 and "Vul de datum in" in response.content.decode()
    yesterday = today - dt.timedelta(days=1)
    response = member_client.post(url, {"when": "date", "end_on": f"{yesterday:%Y-%m-%d}"})
    assert "Kies vandaag of een datum in de toekomst" in response.content.decode()
    far = today + dt.timedelta(days=400)
    response = member_client.post(url, {"when": "date", "end_on": f"{far:%Y-%m-%d}"})
    assert "binnen een jaar" in response.content.decode()
    assert not MembershipNotice.objects.exists()

    chosen = today + dt.timedelta(days=10)
    response = member_client.post(url, {"when": "date", "end_on": chosen.strftime("%d-%m-%Y")})
    assert response.status_code == 302
    assert MembershipNotice.objects.get(member=me).end_on == chosen


def test_notice_withdrawn_before_confirmation(member_client, me, coordinator):
    membership_notice_give(member=me, by=me.user)
    page = member_client.get(reverse("members:notice_give")).content.decode()
    assert reverse("members:notice_withdraw") in page
    response = member_client.post(reverse("members:notice_withdraw"), follow=True)
    assert "U blijft lid" in response.content.decode()
    notice = MembershipNotice.objects.get(member=me)
    assert notice.status == MembershipNotice.Status.WITHDRAWN
    assert notice.decided_at is not None and notice.decided_by == me.user
    me.refresh_from_db()
    assert me.status == Member.Status.ACTIVE
    assert not StatusChange.objects.filter(member=me, to_status=Member.Status.CANCELLED).exists()
    # Withdrawing again changes nothing; the coordinator has nothing left to confirm.
    response = member_client.post(reverse("members:notice_withdraw"), follow=True)
    assert "geen opzegging meer" in response.content.decode()
    with pytest.raises(MembershipError):
        membership_notice_confirm(notice=notice, by=coordinator)
    # And the member may give notice again later: a new row, the old one stays.
    membership_notice_give(member=me, by=me.user)
    assert MembershipNotice.objects.filter(member=me).count() == 2


def test_the_coordinator_can_withdraw_a_notice_for_the_member(coordinator_client, me):
    membership_notice_give(member=me)
    url = reverse("members:member_notice", args=[me.pk])
    response = coordinator_client.post(url, {"action": "withdraw"})
    assert response.status_code == 302
    assert MembershipNotice.objects.get(member=me).status == MembershipNotice.Status.WITHDRAWN
    me.refresh_from_db()
    assert me.status == Member.Status.ACTIVE


def test_one_pending_notice_at_a_time(me):
    membership_notice_give(member=me)
    with pytest.raises(MembershipError):
        membership_notice_give(member=me)
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipNotice.objects.create(member=me, given_at=timezone.now(), end_on=year_end())


def test_ending_the_membership_otherwise_settles_a_pending_notice(me, coordinator):
    notice = membership_notice_give(member=me)
    member_change_status(
        member=me, to_status=Member.Status.DECEASED, reason="Overleden", by=coordinator
    )
    notice.refresh_from_db()
    assert notice.status == MembershipNotice.Status.LAPSED
    assert not OutboxMessage.objects.filter(key__startswith="members.notice_confirmed").exists()


def test_an_ended_membership_cannot_give_notice(member_client, me):
    member_change_status(member=me, to_status=Member.Status.CANCELLED, reason="Verhuisd")
    page = member_client.get(reverse("members:notice_give")).content.decode()
    assert "Uw lidmaatschap is beëindigd" in page
    assert (
        member_client.post(reverse("members:notice_give"), {"when": "year_end"}).status_code == 302
    )
    assert not MembershipNotice.objects.exists()


def test_the_last_member_of_a_household_is_pointed_out(coordinator_client, me):
    membership_notice_give(member=me)
    url = reverse("members:member_notice", args=[me.pk])
    assert "laatste lid op dit adres" in coordinator_client.get(url).content.decode()
    MemberFactory(household=me.household)
    assert "laatste lid op dit adres" not in coordinator_client.get(url).content.decode()


def test_notice_is_in_the_members_data_file(member_client, me):
    membership_notice_give(member=me, reason="Te druk")
    data = member_client.get(reverse("members:data_export")).json()
    assert [n["reason"] for n in data["membership_notices"]] == ["Te druk"]
    assert data["membership_notices"][0]["status"] == "pending"


# Paying by transfer ------------------------------------------------------------------------------


def test_the_invoice_page_shows_iban_name_and_the_reference(member_client, me, settings):
    settings.SEPA_CREDITOR_IBAN = "NL91ABNA0417164300"
    settings.SEPA_CREDITOR_NAME = "Wijkcoöperatie Hollandscheveld"
    invoice = make_invoice(me.household, Decimal("17.50"))
    html = member_client.get(reverse("finance:my_invoices")).content.decode()
    assert "NL91 ABNA 0417 1643 00" in html
    assert "Wijkcoöperatie Hollandscheveld" in html
    assert f'<span class="copy-value">{invoice.number}</span>' in html
    assert '<span class="copy-value">€ 17,50</span>' in html


def test_the_reference_shown_is_what_the_statement_matching_books(member_client, me, settings):
    """Typed exactly as the page says, a transfer is booked on the invoice by the bank import."""
    settings.SEPA_CREDITOR_IBAN = "NL91ABNA0417164300"
    invoice = make_invoice(me.household, Decimal("10.00"))
    html = member_client.get(reverse("finance:my_invoices")).content.decode()
    reference = re.search(
        r"Omschrijving</dt><dd><span class=\"copy-value\">([^<]+)</span>", html
    ).group(1)
    content = (FIXTURES / "camt" / "transfer.xml").read_bytes()
    content = content.replace(b"factuur 2026-000004", f"factuur {reference}".encode())
    statement_import(file_name="afschrift.xml", content=content, by=None)
    invoice.refresh_from_db()
    assert invoice.status == invoice.Status.PAID


def test_no_transfer_details_for_what_is_paid_or_being_collected(member_client, me):
    paid = make_invoice(me.household, Decimal("10.00"), year=2025)
    payment_record_manual(invoice=paid, amount=Decimal("10.00"), booked_on=dt.date(2025, 3, 1))
    html = member_client.get(reverse("finance:my_invoices")).content.decode()
    assert "Liever zelf overmaken?" not in html

    member, mandate = household_with_mandate(7)
    member.user = me.user
    Member.objects.filter(pk=me.pk).update(user=None)
    member.save(update_fields=["user"])
    invoice = make_invoice(member.household, Decimal("17.50"))
    exported_batch([(invoice, mandate)], collection_date=dt.date(2026, 12, 15))
    html = member_client.get(reverse("finance:my_invoices")).content.decode()
    assert "Liever zelf overmaken?" not in html
    assert "15 december 2026" in html and "U hoeft niets over te maken" in html
    assert reverse("finance:invoice_pay", args=[invoice.pk]) not in html
