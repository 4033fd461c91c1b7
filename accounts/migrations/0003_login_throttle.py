from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_globus_identity_links")]

    operations = [
        migrations.CreateModel(
            name="LoginThrottle",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scope", models.CharField(choices=[("account", "username"), ("admin", "admin username"), ("ip", "client address")], max_length=8)),
                (
                    "key",
                    models.CharField(
                        help_text="The normalised username typed, or the client's IP address.", max_length=255
                    ),
                ),
                (
                    "failures",
                    models.PositiveIntegerField(default=0, help_text="Failed attempts in the current window."),
                ),
                ("window_started_at", models.DateTimeField()),
                ("last_attempt_at", models.DateTimeField(blank=True, null=True)),
                (
                    "blocked_until",
                    models.DateTimeField(
                        blank=True, db_index=True, help_text="Attempts are refused until then.", null=True
                    ),
                ),
            ],
            options={"verbose_name": "login throttle"},
        ),
        migrations.AddConstraint(
            model_name="loginthrottle",
            constraint=models.UniqueConstraint(fields=("scope", "key"), name="one_throttle_per_key"),
        ),
    ]
