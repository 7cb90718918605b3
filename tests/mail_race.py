"""An email backend for test_two_servers.py that makes concurrent `send_notifications` runs
really overlap: Django's file backend (each run writes its own files into RACE_MAIL_DIR),
except that each process's first send waits until RACE_RUNNERS processes have reached their
own first send, each holding the row it claimed. So every run is mid-way through its queue
while the others are, and a claim that was not exclusive would send an email twice.
"""

import os
import time
from pathlib import Path

from django.core.mail.backends import filebased

BARRIER_TIMEOUT = 20  # seconds; past it the run goes on alone (and the test says so)
PAUSE = 0.01  # seconds per message: runs interleave instead of one draining the queue


class RaceFileBackend(filebased.EmailBackend):
    _arrived = False

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("file_path", os.environ["RACE_MAIL_DIR"])
        super().__init__(*args, **kwargs)

    def send_messages(self, email_messages):
        if not RaceFileBackend._arrived:
            RaceFileBackend._arrived = True
            _meet(Path(self.file_path), int(os.environ.get("RACE_RUNNERS", "2")))
        time.sleep(PAUSE)
        return super().send_messages(email_messages)


def _meet(directory: Path, runners: int) -> None:
    (directory / f"arrived-{os.getpid()}").touch()
    deadline = time.monotonic() + BARRIER_TIMEOUT
    while len(list(directory.glob("arrived-*"))) < runners and time.monotonic() < deadline:
        time.sleep(0.02)
