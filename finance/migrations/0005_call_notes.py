import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0004_scheme_minimum"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CallNote",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("called_at", models.DateTimeField(verbose_name="gebeld op")),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("will_pay", "Gesproken: gaat betalen"),
                            ("payment_plan", "Gesproken: wil in delen betalen"),
                            ("cannot_pay", "Gesproken: kan niet betalen"),
                            ("not_reached", "Niet bereikt"),
                            ("wrong_number", "Verkeerd nummer"),
                            ("other", "Anders"),
                        ],
                        max_length=20,
                        verbose_name="uitkomst",
                    ),
                ),
                ("note", models.TextField(blank=True, verbose_name="notitie")),
                (
                    "promised_on",
                    models.DateField(blank=True, null=True, verbose_name="betaalt uiterlijk op"),
                ),
                ("follow_up_on", models.DateField(blank=True, editable=False, null=True)),
                (
                    "called_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "invoice",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="call_notes",
                        to="finance.invoice",
                    ),
                ),
            ],
            options={
                "verbose_name": "belnotitie",
                "verbose_name_plural": "belnotities",
                "ordering": ["-called_at", "-pk"],
                "indexes": [
                    models.Index(fields=["invoice", "-called_at"], name="call_note_latest")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("follow_up_on__isnull", True), ("promised_on__isnull", True)),
                            models.Q(
                                ("follow_up_on__isnull", False),
                                ("outcome__in", ["will_pay", "payment_plan"]),
                            ),
                            _connector="OR",
                        ),
                        name="call_note_date_only_for_a_promise",
                    )
                ],
            },
        ),
    ]
