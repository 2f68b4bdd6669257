"""A real SMTP server on loopback (aiosmtpd) for tests and benchmarks.

It records every message it accepts and can be told to refuse mail, for everyone or for some
addresses, the way a mail server does when it is overloaded or an address is wrong. With
``keep=False`` (benchmarks) it keeps only each message's Message-ID, read from the raw header
block without parsing the message.
"""

import asyncio
import re
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RecordingHandler:
    def __init__(self, *, keep: bool = True):
        self.keep = keep
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TOs) if kept
        self.received_at: list[float] = []  # time.time() of each kept message, for drills
        self.raw_message_ids: list[str] = []  # one per accepted message, if not kept
        self.accepted = 0
        self.connections = 0  # one EHLO/HELO per SMTP connection
        self.refuse_all: str | None = None  # e.g. "451 4.3.0 Try again later"
        self.refuse_rcpt: dict[str, str] = {}  # address -> reply
        self.refused = 0
        self.delay = 0.0  # seconds to take over each message, like a busy server
        # While set, every RCPT waits unanswered (a drill kills the sender mid-transaction,
        # before the server has taken any message); rcpt_seen counts the RCPTs that arrived.
        self.hold_rcpt = False
        self.rcpt_seen = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        with self.lock:
            self.connections += 1
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.rcpt_seen += 1
        while self.hold_rcpt:
            await asyncio.sleep(0.05)
        reply = self.refuse_rcpt.get(address)
        if reply:
            with self.lock:
                self.refused += 1
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse_all:
            with self.lock:
                self.refused += 1
            return self.refuse_all
        with self.lock:
            self.accepted += 1
            if self.keep:
                message = message_from_bytes(envelope.content, policy=policy.default)
                self.messages.append(message)
                self.received_at.append(time.time())
                self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            else:
                head = envelope.content.split(b"\r\n\r\n", 1)[0]
                found = _MESSAGE_ID.search(head)
                self.raw_message_ids.append(found[1].decode() if found else "")
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [message["Message-ID"] for message in self.messages]


class SmtpSink:
    """``with SmtpSink() as sink:`` runs an SMTP server on 127.0.0.1:<free port>."""

    def __init__(self, *, keep: bool = True, port: int | None = None):
        self.handler = RecordingHandler(keep=keep)
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpSink":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            return list(self.handler.messages)
