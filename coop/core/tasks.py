from celery import shared_task

from . import services


@shared_task(autoretry_for=(OSError,), retry_backoff=60, max_retries=5)
def outbox_send(message_id: int) -> bool:
    return services.outbox_deliver(message_id=message_id)


@shared_task
def outbox_requeue() -> int:
    return services.outbox_requeue_pending()


@shared_task
def form_submissions_purge() -> int:
    return services.form_submissions_purge()
