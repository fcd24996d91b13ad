"""Numbers are unique per cooperative, and each cooperative counts its own: the number sequences
so far are the installation's first cooperative's ("members.member_number" becomes "org1:members.member_number"),
so the next member and invoice numbers follow on from the last ones."""

from django.conf import settings
from django.db import migrations, models


def sequences_to_first_cooperative(apps, schema_editor):
    NumberSequence = apps.get_model("core", "NumberSequence")
    Organisation = apps.get_model("core", "Organisation")
    old = NumberSequence.objects.exclude(name__startswith="org")
    if not old.exists():
        return
    org = Organisation.objects.order_by("pk").first() or Organisation.objects.create(
        name="Wijkcoöperatie"
    )
    for sequence in old:
        sequence.name = f"org{org.pk}:{sequence.name}"
        sequence.save(update_fields=["name"])


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0005_keys_per_cooperative'),
        ('members', '0007_tenancy'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(sequences_to_first_cooperative, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='consenttext',
            name='consent_text_version_unique',
        ),
        migrations.AlterField(
            model_name='buurt',
            name='name',
            field=models.CharField(max_length=100, verbose_name='naam'),
        ),
        migrations.AlterField(
            model_name='member',
            name='number',
            field=models.PositiveIntegerField(editable=False, verbose_name='lidnummer'),
        ),
        migrations.AddConstraint(
            model_name='buurt',
            constraint=models.UniqueConstraint(fields=('organisation', 'name'), name='buurt_name_per_cooperative'),
        ),
        migrations.AddConstraint(
            model_name='consenttext',
            constraint=models.UniqueConstraint(fields=('organisation', 'key', 'version'), name='consent_text_version_unique'),
        ),
        migrations.AddConstraint(
            model_name='member',
            constraint=models.UniqueConstraint(fields=('organisation', 'number'), name='member_number_per_cooperative'),
        ),
    ]
