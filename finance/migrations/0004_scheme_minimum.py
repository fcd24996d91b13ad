from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("finance", "0003_refunds_and_credit")]

    operations = [
        migrations.AddField(
            model_name="contributionscheme",
            name="minimum_invoice_amount",
            field=models.DecimalField(
                decimal_places=2,
                default=Decimal("0.00"),
                help_text="0,00 is geen minimum.",
                max_digits=12,
                verbose_name="minimumbedrag per factuur",
            ),
        ),
        migrations.AddField(
            model_name="contributionscheme",
            name="below_minimum",
            field=models.CharField(
                choices=[("skip", "Geen factuur sturen"), ("charge", "Het minimumbedrag rekenen")],
                default="skip",
                max_length=10,
                verbose_name="als het totaal van een huishouden lager is",
            ),
        ),
        migrations.AddConstraint(
            model_name="contributionscheme",
            constraint=models.CheckConstraint(
                condition=models.Q(("minimum_invoice_amount__gte", 0)),
                name="scheme_minimum_not_negative",
            ),
        ),
    ]
