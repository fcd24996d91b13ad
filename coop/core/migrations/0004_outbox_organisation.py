"""Every row of this app belongs to a cooperative: the field is added empty, every existing row is
given the installation's first cooperative (created if there is none yet), then it is required."""

import django.db.models.deletion
from django.db import migrations, models

import coop.core.tenancy

MODELS = ["outboxmessage"]


def first_organisation(apps):
    Organisation = apps.get_model("core", "Organisation")
    org = Organisation.objects.order_by("pk").first()
    return org or Organisation.objects.create(name="Wijkcoöperatie")


def fill(apps, schema_editor):
    models_with_rows = [m for m in MODELS if apps.get_model("core", m).objects.exists()]
    if not models_with_rows:
        return
    org = first_organisation(apps)
    for name in models_with_rows:
        apps.get_model("core", name).objects.filter(organisation__isnull=True).update(
            organisation=org
        )


class Migration(migrations.Migration):
    # The rows are filled in their own transaction: PostgreSQL cannot alter a table with
    # foreign key checks still pending in the same one.
    atomic = False

    dependencies = [
        ("core", "0003_form_submission"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
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
            model_name="outboxmessage",
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
