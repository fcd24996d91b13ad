import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from reports import demo


class Command(BaseCommand):
    help = (
        "Fill an empty database with a demo cooperative: ~750 members in ~500 households over five "
        "buurten, and an account for every role. Refuses a database that already holds data."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete everything in the database first (manage.py flush), then build the demo.",
        )
        parser.add_argument(
            "--skip-existing",
            action="store_true",
            help="If the database already holds data, leave it as it is and only print the logins.",
        )
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="Random seed.")
        parser.add_argument("--households", type=int, default=500, help="Number of households.")

    def handle(self, *args, **options):
        if not demo.database_is_empty():
            if options["reset"]:
                self.stdout.write(f"Emptying database {connection.settings_dict['NAME']} ...")
                call_command("flush", interactive=False, verbosity=0)
            elif options["skip_existing"]:
                self.stdout.write("The database already holds data; leaving it as it is.")
                if demo.demo_accounts_exist():
                    self._print_logins()
                else:
                    self.stdout.write(
                        "It has no demo accounts: --reset replaces its contents with the demo."
                    )
                return
            else:
                raise CommandError(
                    "The database already holds data. Run `manage.py demo --reset` to delete "
                    "everything in it and build the demo again."
                )
        started = time.monotonic()
        result = demo.demo_build(seed=options["seed"], households=options["households"])
        statuses = ", ".join(
            f"{count} {label.lower()}" for label, count in result.by_status.items()
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo cooperative built in {time.monotonic() - started:.1f} s: "
                f"{result.members} members ({statuses}) in {result.households} households "
                f"over {result.buurten} buurten; "
                f"{result.letters} letters in the outbox."
            )
        )
        if result.money is not None:
            money = result.money
            self.stdout.write(
                f"A year of money: {money.invoices} invoices, {money.batches} direct debit "
                f"batches, {money.statements} bank statements, {money.online_payments} online "
                f"payments; {money.on_call_list} on the call list."
            )
        self._print_logins()

    def _print_logins(self):
        self.stdout.write("")
        self.stdout.write(f"Demo accounts (password for all: {demo.DEMO_PASSWORD}):")
        for email, label in demo.demo_accounts():
            self.stdout.write(f"  {email:<36} {label}")
        if not settings.COOP_REQUIRE_MFA:
            self.stdout.write(
                "Two-factor login (TOTP) is not required here, because DEBUG is on. "
                "In production coordinators, the treasurer and admins must set it up."
            )
