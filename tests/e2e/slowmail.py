"""A mail backend for fault tests: notes which process is sending (SLOW_MAIL_MARKER), takes
SLOW_MAIL_SECONDS, then writes the mail to files like Django's file backend — a mail task that can be
caught in the middle."""

import os
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend as FileBackend


class EmailBackend(FileBackend):
    def send_messages(self, email_messages):
        with Path(os.environ["SLOW_MAIL_MARKER"]).open("a") as marker:
            marker.write(f"{os.getpid()}\n")
        time.sleep(float(os.environ.get("SLOW_MAIL_SECONDS", "3")))
        return super().send_messages(email_messages)
