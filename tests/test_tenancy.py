"""Every row belongs to one cooperative, and a query outside a cooperative's scope fails.

The walk over every model fails on a model of ours that has no `organisation` and is not listed
as belonging to the installation, and on a tenant model whose manager is not scoped.
"""

import contextvars

import pytest
from celery import shared_task
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django_scopes import ScopeError, get_scope, scope, scopes_disabled

from coop.core.models import Organisation
from coop.core.services import sequence_next
from coop.lib.tasks import task_enqueue
from finance.models import Invoice
from members.models import Buurt, Household, Member

from .factories import MemberFactory
from .sepa_support import make_invoice

OUR_APPS = {"core", "accounts", "members", "finance", "reports"}
# Rows of the installation, not of one cooperative, and why.
INSTALLATION = {
    "core.Organisation": "the cooperatives themselves",
    "core.NumberSequence": "counters by name; the name says whose",
    "core.FormSubmission": "one-time form tokens of a login",
    "accounts.User": "a login is global; roles are per cooperative",
    "finance.DemoPayment": "the offline demo provider: the outside world",
}


def _our_models():
    return [model for model in apps.get_models() if model._meta.app_label in OUR_APPS]


def test_every_model_of_ours_belongs_to_a_cooperative_or_is_listed():
    unscoped = []
    for model in _our_models():
        label = model._meta.label
        if label in INSTALLATION:
            assert not any(f.name == "organisation" for f in model._meta.fields), label
            continue
        names = {field.name for field in model._meta.fields}
        if "organisation" not in names:
            unscoped.append(label)
    assert unscoped == [], f"models without organisation (add it, or list them): {unscoped}"


@pytest.mark.django_db
def test_a_query_on_every_tenant_model_outside_a_scope_raises():
    tenant = [m for m in _our_models() if m._meta.label not in INSTALLATION]
    assert len(tenant) >= 25

    def outside():  # as code that never entered a scope (a fresh context)
        for model in tenant:
            with pytest.raises(ScopeError):
                list(model.objects.all())
            with pytest.raises(ScopeError):
                model.objects.filter(pk=1).exists()

    contextvars.Context().run(outside)


@pytest.mark.django_db
def test_a_row_made_outside_a_scope_is_refused():
    def outside():
        with pytest.raises(IntegrityError), transaction.atomic():
            Buurt(name="Nergens").save()

    contextvars.Context().run(outside)


@pytest.mark.django_db
def test_each_cooperative_sees_only_its_own_rows():
    first = Organisation.first_or_create()
    other = Organisation.objects.create(name="Dorpscoöperatie Beekveld")
    mine = MemberFactory()
    make_invoice(mine.household)
    with scope(organisation=other):
        theirs = MemberFactory()
        assert list(Member.objects.values_list("pk", flat=True)) == [theirs.pk]
        assert not Invoice.objects.exists()
        assert not Household.objects.filter(pk=mine.household_id).exists()
    with scope(organisation=first):
        assert list(Member.objects.values_list("pk", flat=True)) == [mine.pk]
        assert Invoice.objects.count() == 1
    with scopes_disabled():
        assert Member.objects.count() == 2
    theirs_row = Member.objects.with_scopes_disabled().get(pk=theirs.pk)
    assert theirs_row.organisation_id == other.pk and mine.organisation_id == first.pk


@pytest.mark.django_db
def test_each_cooperative_numbers_its_own_members_and_invoices():
    mine = MemberFactory()
    first_invoice = make_invoice(mine.household)
    other = Organisation.objects.create(name="Dorpscoöperatie Beekveld")
    with scope(organisation=other):
        theirs = MemberFactory()
        their_invoice = make_invoice(theirs.household)
    assert theirs.number == mine.number == 1
    assert their_invoice.number == first_invoice.number == "2026-000001"
    with scope(organisation=other), pytest.raises(IntegrityError), transaction.atomic():
        MemberFactory(number=1)


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_rows_the_first_cooperative():
    """From a database built by the migrations before tenancy, with data in it."""
    before = [
        ("core", "0003_form_submission"),
        ("members", "0006_membership_notice"),
        ("finance", "0007_collection_withdrawn"),
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Organisation.objects.all().delete()
    buurt = old.get_model("members", "Buurt").objects.create(name="Oud-Zuid")
    household = old.get_model("members", "Household").objects.create(
        street="Lindelaan", house_number=3, postcode="7341AB", town="Veenhoven", buurt_id=buurt.pk
    )
    old.get_model("core", "NumberSequence").objects.create(
        name="members.member_number", last_value=41
    )
    member = old.get_model("members", "Member").objects.create(
        household_id=household.pk,
        number=41,
        given_name="Ada",
        family_name="Jansen",
        sort_name="jansen ada",
        joined_on="2020-01-01",
        applied_on="2019-12-01",
        status="actief",
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    organisation = Organisation.objects.get()
    with scopes_disabled():
        moved = Member.objects.get(pk=member.pk)
        assert moved.number == 41 and moved.organisation_id == organisation.pk
        assert Household.objects.get(pk=household.pk).organisation_id == organisation.pk
        assert Buurt.objects.get(pk=buurt.pk).organisation_id == organisation.pk
    with scope(organisation=organisation):
        assert sequence_next(name="members.member_number") == 42  # numbering goes on


SEEN_BY_TASK: list[int] = []


@shared_task(name="tests.test_tenancy.scope_probe")
def scope_probe() -> None:
    SEEN_BY_TASK.append(get_scope()["organisation"].pk)


@pytest.mark.django_db
def test_a_task_runs_in_the_scope_of_the_cooperative_that_queued_it(
    django_capture_on_commit_callbacks,
):
    first = Organisation.first_or_create()
    other = Organisation.objects.create(name="Dorpscoöperatie Beekveld")
    SEEN_BY_TASK.clear()
    # Sent when the transaction commits, here outside the other cooperative's scope.
    with django_capture_on_commit_callbacks(execute=True):
        with scope(organisation=other):
            task_enqueue("tests.test_tenancy.scope_probe")
        task_enqueue("tests.test_tenancy.scope_probe")
    assert [other.pk, first.pk] == SEEN_BY_TASK
