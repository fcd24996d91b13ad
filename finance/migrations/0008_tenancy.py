"""Every row of this app belongs to a cooperative: the field is added empty, every existing row is
given the installation's first cooperative (created if there is none yet), then it is required."""

import django.db.models.deletion
from django.db import migrations, models

import coop.core.tenancy

MODELS = [
    "bankstatement",
    "banktransaction",
    "callnote",
    "collectionbatch",
    "collectionitem",
    "contributionscheme",
    "financesettings",
    "invoice",
    "invoiceline",
    "ledgerentry",
    "mandate",
    "memberrate",
    "payment",
    "refund",
]


def first_organisation(apps):
    Organisation = apps.get_model("core", "Organisation")
    org = Organisation.objects.order_by("pk").first()
    return org or Organisation.objects.create(name="Wijkcoöperatie")


def fill(apps, schema_editor):
    models_with_rows = [m for m in MODELS if apps.get_model("finance", m).objects.exists()]
    if not models_with_rows:
        return
    org = first_organisation(apps)
    for name in models_with_rows:
        apps.get_model("finance", name).objects.filter(organisation__isnull=True).update(
            organisation=org
        )


class Migration(migrations.Migration):
    # The rows are filled in their own transaction: PostgreSQL cannot alter a table with
    # foreign key checks still pending in the same one.
    atomic = False

    dependencies = [
        ("core", "0004_outbox_organisation"),
        ("finance", "0007_collection_withdrawn"),
        ("core", "0004_outbox_organisation"),
    ]

    operations = [
        migrations.AddField(
            model_name="bankstatement",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="banktransaction",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="callnote",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="collectionbatch",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="collectionitem",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="contributionscheme",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="financesettings",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="invoice",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="invoiceline",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="mandate",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="memberrate",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AddField(
            model_name="refund",
            name="organisation",
            field=models.ForeignKey(
                null=True,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="bankstatement",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="banktransaction",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="callnote",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="collectionbatch",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="collectionitem",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="contributionscheme",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="financesettings",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="invoice",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="invoiceline",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="mandate",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="memberrate",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="payment",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
        migrations.AlterField(
            model_name="refund",
            name="organisation",
            field=models.ForeignKey(
                default=coop.core.tenancy.scope_organisation_id,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="core.organisation",
            ),
        ),
    ]
