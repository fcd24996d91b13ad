"""Background work for members. Each task calls one service."""

from celery import shared_task

from .services import signup_applications_purge


@shared_task
def signup_applications_purge_task() -> int:
    """Daily: sign-ups whose e-mail address was never confirmed are forgotten after 30 days."""
    return signup_applications_purge(older_than_days=30)
