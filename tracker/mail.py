"""Outgoing mail behind a small interface: files (the default), SMTP, or memory (tests).

The default writes each message as an .eml file under the instance folder and logs its path, so a
fresh machine with no mail server still lets people follow invitation and reset links.
"""

from __future__ import annotations

import logging
import os
import smtplib
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app

log = logging.getLogger(__name__)


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class FileMailer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{uuid.uuid4().hex}.eml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(bytes(message))
        log.info("mail written to %s", path)  # not the recipient: addresses stay out of the logs


class SMTPMailer:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            smtp.send_message(message)


class MemoryMailer:
    def __init__(self) -> None:
        self.outbox: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> None:
        self.outbox.append(message)


def init_mailer(app: Flask) -> None:
    backend = app.config["TRACKER_MAIL_BACKEND"]
    mailer: Mailer
    if backend == "file":
        mailer = FileMailer(Path(app.instance_path) / "mail")
    elif backend == "smtp":
        mailer = SMTPMailer(app.config["TRACKER_SMTP_HOST"], app.config["TRACKER_SMTP_PORT"])
    elif backend == "memory":
        mailer = MemoryMailer()
    else:
        raise RuntimeError(f"Unknown TRACKER_MAIL_BACKEND {backend!r} (file, smtp or memory).")
    app.extensions["tracker_mailer"] = mailer


def send_mail(to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = current_app.config["TRACKER_MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    current_app.extensions["tracker_mailer"].send(message)
