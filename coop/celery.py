import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coop.settings")

# Every task runs inside its cooperative's scope (coop.core.scoping.ScopedTask).
app = Celery("coop", task_cls="coop.core.scoping:ScopedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic job, in one place. Beat runs with django_celery_beat's DatabaseScheduler, which
# copies these entries into its tables at start; the admin can pause them there.
app.conf.beat_schedule = {
    # Safety net: e-mails whose task was lost (worker restart, broker outage), or whose worker
    # died while sending (claim older than OUTBOX_CLAIM_LEASE_SECONDS), are queued again.
    "outbox-requeue": {
        "task": "coop.core.tasks.outbox_requeue",
        "schedule": 10 * 60.0,
    },
    # Members: sign-ups never confirmed by e-mail are forgotten after 30 days.
    "members-signups-purge": {
        "task": "members.tasks.signup_applications_purge_task",
        "schedule": crontab(hour=3, minute=45),
    },
    # Used one-time form tokens, once they have expired (coop.core.form_tokens).
    "form-submissions-purge": {
        "task": "coop.core.tasks.form_submissions_purge",
        "schedule": crontab(hour=4, minute=5),
    },
    # Finance: payment reminders and the call list, every morning.
    "finance-reminders": {
        "task": "finance.tasks.reminders_send_task",
        "schedule": crontab(hour=7, minute=30),
    },
    # Finance: direct debit mandates unused for 36 months expire.
    "finance-mandates-expire": {
        "task": "finance.tasks.mandates_expire_task",
        "schedule": crontab(hour=3, minute=15),
    },
}
