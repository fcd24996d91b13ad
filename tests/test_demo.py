import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max
from django_scopes import scopes_disabled

from coop.accounts.models import User
from coop.accounts.roles import Role
from coop.core.models import NumberSequence, Organisation, OutboxMessage
from coop.core.services import sequence_key
from members.models import Buurt, ConsentText, Household, Member, PostcodeRange, StatusChange
from members.services import MEMBER_NUMBER_SEQUENCE
from reports.demo import ACCOUNT_DOMAIN, DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def test_demo_builds_a_realistic_cooperative(client, settings, mailoutbox):
    settings.COOP_DEMO = True  # the online payments are at the demo provider
    output = demo()

    members = Member.objects.count()
    assert 700 <= members <= 850
    assert 480 <= Household.objects.count() <= 520
    assert 4 <= Buurt.objects.count() <= 6
    assert Organisation.objects.get().name == "Buurtcoöperatie Zuiderpark"

    statuses = dict(Member.objects.values_list("status").annotate(n=Count("pk")))
    assert statuses[Member.Status.ACTIVE] > 0.8 * members
    assert set(statuses) == set(Member.Status.values)
    without_email = Member.objects.filter(email="").count()
    assert 0.10 * members <= without_email <= 0.20 * members
    assert not Member.objects.filter(email="", contact_preference=Member.ContactPreference.EMAIL)
    assert Member.objects.exclude(tussenvoegsel="").exists()
    assert Household.objects.exclude(house_number_addition="").exists()

    # Households sit in the buurt their postcode says, and a few are outside every buurt.
    ranges = list(PostcodeRange.objects.all())
    for postcode, buurt_id in Household.objects.values_list("postcode", "buurt_id"):
        assert buurt_id == next((r.buurt_id for r in ranges if r.start <= postcode <= r.end), None)
    assert 0 < Household.objects.filter(buurt=None).count() < 0.1 * Household.objects.count()

    # Member numbers come from the database sequence, so the next registration gets a fresh one.
    numbers = Member.objects.aggregate(top=Max("number"))["top"]
    assert numbers == members
    assert (
        NumberSequence.objects.get(name=sequence_key(MEMBER_NUMBER_SEQUENCE)).last_value == numbers
    )

    # Every ended membership has its history, ending in the status it has.
    ended = Member.objects.filter(status__in=Member.ENDED).first()
    last = StatusChange.objects.filter(member=ended).order_by("-effective_on", "-pk").first()
    assert last.to_status == ended.status and last.reason == ended.end_reason
    assert ConsentText.objects.filter(key="privacy").count() == 2
    assert OutboxMessage.objects.filter(channel=OutboxMessage.Channel.LETTER).count() >= 3

    for role in (
        Role.COORDINATOR,
        Role.TREASURER,
        Role.BUURTASSISTENT,
        Role.VOLUNTEER,
        Role.MEMBER,
    ):
        assert any(user.has_role(role) for user in User.objects.all()), role
    admin = User.objects.get(email=f"beheer@{ACCOUNT_DOMAIN}")
    assert admin.is_superuser and admin.check_password(DEMO_PASSWORD)
    member = Member.objects.get(user__email=f"lid@{ACCOUNT_DOMAIN}")
    assert member.household.members.count() >= 2
    assert f"lid@{ACCOUNT_DOMAIN}" in output and DEMO_PASSWORD in output

    # One build (the demo takes a while), two stories: the register above, the money below.
    assert_a_year_of_money(client, output, mailoutbox)


def test_second_run_refuses_and_changes_nothing():
    demo("--households", "20")
    before = Member.objects.count()

    with pytest.raises(CommandError, match="--reset"):
        demo()

    assert Member.objects.count() == before
    assert "leaving it as it is" in demo("--skip-existing")
    assert Member.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_reset_rebuilds_the_same_cooperative():
    """--reset empties the database (TRUNCATE, hence a real transaction) and the seed repeats."""
    demo("--households", "20")
    first = list(
        Member.objects.order_by("number").values_list("number", "sort_name", "household__postcode")
    )

    demo("--reset", "--households", "20")

    with scopes_disabled():  # the reset made the cooperative anew
        again = list(
            Member.objects.order_by("number").values_list(
                "number", "sort_name", "household__postcode"
            )
        )
    assert again == first
    assert User.objects.filter(email__endswith=ACCOUNT_DOMAIN).count() == 6


def test_a_database_with_other_data_is_left_alone():
    from .factories import MemberFactory

    MemberFactory()

    with pytest.raises(CommandError):
        demo()
    output = demo("--skip-existing")

    assert "no demo accounts" in output and DEMO_PASSWORD not in output
    assert Member.objects.count() == 1


def assert_a_year_of_money(client, output: str, mailoutbox) -> None:
    """Every treasurer page has real rows on the first visit, made by the finance services on
    plausible days, and building the demo sent nothing to anyone."""
    from django.utils import timezone

    from finance.models import (
        BankStatement,
        BankTransaction,
        CollectionBatch,
        CollectionItem,
        Invoice,
        LedgerEntry,
        Mandate,
        Payment,
        Refund,
    )
    from finance.selectors import invoices_overpaid
    from finance.services.pain008 import pain_validate

    today = timezone.localdate()
    assert "A year of money:" in output
    assert mailoutbox == []
    assert not OutboxMessage.objects.filter(
        channel=OutboxMessage.Channel.EMAIL, status=OutboxMessage.Status.PENDING
    ).exists()
    # Letters of the last two weeks wait to be printed; older ones were printed on their day.
    letters = OutboxMessage.objects.filter(channel=OutboxMessage.Channel.LETTER)
    assert letters.filter(status=OutboxMessage.Status.PRINTED, template__startswith="finance/")
    assert not letters.filter(
        status=OutboxMessage.Status.PENDING,
        created_at__date__lt=today - dt.timedelta(days=15),
        template__startswith="finance/",
    ).exists()

    # A history in order: invoices, then the debits, the statements after them; nothing later
    # than today.
    invoices = Invoice.objects.filter(dues_year=today.year)
    first_run = invoices.order_by("issued_on").first().issued_on
    assert invoices.filter(issued_on=first_run).count() > 0.7 * invoices.count()
    assert invoices.values("issued_on").distinct().count() >= 2
    collected = CollectionBatch.objects.get(status=CollectionBatch.Status.COLLECTED)
    assert first_run < collected.collection_date < today
    assert collected.exported_at.date() < collected.collection_date
    statements = BankStatement.objects.order_by("imported_at")
    assert statements.count() >= 5
    assert statements.first().imported_at.date() > first_run
    assert not LedgerEntry.objects.filter(booked_on__gt=today).exists()
    assert LedgerEntry.objects.filter(source=LedgerEntry.Source.IDEAL, booked_on__lt=today)
    assert LedgerEntry.objects.values("booked_on").distinct().count() > 30

    treasurer = User.objects.get(email=f"penningmeester@{ACCOUNT_DOMAIN}")
    client.force_login(treasurer)

    def page(name: str, *args, **query) -> str:
        from django.urls import reverse

        response = client.get(reverse(f"finance:{name}", args=args), query)
        assert response.status_code == 200, name
        return response.content.decode()

    html = page("finance_overview")
    assert "staat open op" in html

    html = page("batch_list")
    assert collected.message_id in html
    exported = CollectionBatch.objects.get(status=CollectionBatch.Status.EXPORTED)
    assert exported.message_id in html and exported.collection_date > today

    html = page("batch_detail", collected.pk) + page("batch_detail", collected.pk, page=2)
    returned = collected.items.filter(status=CollectionItem.Status.RETURNED)
    assert sorted(returned.values_list("return_reason", flat=True)) == ["AC04", "AM04", "MD06"]
    assert "Incassobestand downloaden" in html
    for item in returned:
        assert item.invoice.number in html and f"({item.return_reason})" in html
    response = client.get(f"/financien/incasso/{collected.pk}/incasso.xml")
    assert response.status_code == 200
    pain_validate(response.content, collected.schema_version)
    assert response.content.count(b"<DrctDbtTxInf>") == collected.count > 50
    # The closed account's mandate was revoked by the return.
    ac04 = returned.get(return_reason="AC04")
    assert Mandate.objects.get(pk=ac04.mandate_id).status == Mandate.Status.REVOKED

    html = page("statement_import")
    for statement in statements:
        assert statement.file_name in html
    with_returns = BankTransaction.objects.filter(return_reason="AM04").get().statement
    html = page("statement_detail", with_returns.pk)
    assert "Storno" in html and "Overboeking voor factuur" in html

    unmatched = BankTransaction.objects.filter(status=BankTransaction.Status.UNMATCHED)
    assert unmatched.count() == 3
    html = page("unmatched_list")
    for line in unmatched:
        assert line.remittance in html
    assert BankTransaction.objects.filter(status=BankTransaction.Status.IGNORED).count() >= 5
    assert BankTransaction.objects.filter(status=BankTransaction.Status.RESOLVED).count() == 1

    html = page("payment_list")
    paid = Payment.objects.filter(status=Payment.Status.PAID)
    assert paid.count() >= 10
    assert Payment.objects.filter(status=Payment.Status.CANCELED).exists()
    assert paid.filter(created_at__date=today).exists()
    for payment in paid[:5]:
        assert payment.invoice.number in html

    levels = dict(
        invoices.filter(status__in=["open", "partly_paid"])
        .values_list("reminder_level")
        .annotate(n=Count("pk"))
    )
    assert levels.get(1, 0) > 0 and levels.get(2, 0) > 0 and 3 <= levels.get(3, 0) <= 20
    html = page("invoice_list", status="open")
    for invoice in invoices.filter(status="open"):
        assert invoice.number in html

    html = page("call_list")
    on_list = invoices.filter(status__in=["open", "partly_paid"], reminder_level=3)
    for invoice in on_list:
        assert invoice.number in html
    own = Member.objects.get(user__email=f"lid@{ACCOUNT_DOMAIN}").household
    assert on_list.filter(household=own).exists()  # her invoice is open to pay online

    html = page("overpaid_list")
    refund = Refund.objects.get(status=Refund.Status.TO_PAY)
    assert refund.invoice.number in html
    overpaid = invoices_overpaid()
    assert overpaid.count() == 1 and overpaid.get().number in html
