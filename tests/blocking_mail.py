"""A test-only e-mail backend: the file backend, held up before sending while a marker file exists.

The worker test gives it to a real worker (EMAIL_BACKEND, COOP_TEST_HOLD_SEND_FILE), so it can kill
the worker after it claimed an e-mail and before the e-mail went out.
"""

import os
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend as FileEmailBackend


class EmailBackend(FileEmailBackend):
    def send_messages(self, email_messages):
        marker = os.environ.get("COOP_TEST_HOLD_SEND_FILE")
        while marker and Path(marker).exists():
            time.sleep(0.05)
        return super().send_messages(email_messages)
