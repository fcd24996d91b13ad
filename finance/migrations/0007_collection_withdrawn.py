from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("finance", "0006_bank_transaction_identity")]

    operations = [
        migrations.AlterField(
            model_name="collectionitem",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "In incasso"),
                    ("collected", "Geïncasseerd"),
                    ("returned", "Gestorneerd"),
                    ("withdrawn", "Ingetrokken bij de bank"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
    ]
