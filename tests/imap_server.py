"""A tiny IMAP4rev1 server on loopback for tests: LOGIN, SELECT, SEARCH UNSEEN, FETCH, STORE.

It speaks the real protocol to Python's imaplib, so the poller is tested end to end without a
mail server; it holds the messages in memory and records which ones were marked \\Seen.
"""

from __future__ import annotations

import re
import socketserver
import threading


class Mailbox:
    def __init__(self, messages: list[bytes], user: str, password: str) -> None:
        self.messages = list(messages)
        self.seen: set[int] = set()
        self.user, self.password = user, password


class _Handler(socketserver.StreamRequestHandler):
    def _send(self, line: str | bytes) -> None:
        self.wfile.write(line if isinstance(line, bytes) else line.encode())

    def handle(self) -> None:  # noqa: C901  (a protocol loop)
        box: Mailbox = self.server.mailbox  # type: ignore[attr-defined]
        self._send("* OK [CAPABILITY IMAP4rev1] test server ready\r\n")
        while line := self.rfile.readline():
            tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            if command == "CAPABILITY":
                self._send(f"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n")
            elif command == "LOGIN":
                user, password = (a.strip('"') for a in args.split(" ", 1))
                ok = (user, password) == (box.user, box.password)
                self._send(f"{tag} {'OK' if ok else 'NO'} login\r\n")
            elif command == "SELECT":
                self._send(f"* {len(box.messages)} EXISTS\r\n{tag} OK [READ-WRITE] selected\r\n")
            elif command == "SEARCH":
                unseen = [str(i + 1) for i in range(len(box.messages)) if i + 1 not in box.seen]
                self._send(f"* SEARCH {' '.join(unseen)}\r\n{tag} OK search\r\n")
            elif command == "FETCH":
                num = int(args.split(" ", 1)[0])
                raw = box.messages[num - 1]
                self._send(f"* {num} FETCH (BODY[] {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
                self._send(f"{tag} OK fetch\r\n")
            elif command == "STORE":
                num = int(args.split(" ", 1)[0])
                if re.search(r"\\Seen", args):
                    box.seen.add(num)
                self._send(f"* {num} FETCH (FLAGS (\\Seen))\r\n{tag} OK store\r\n")
            elif command == "LOGOUT":
                self._send(f"* BYE\r\n{tag} OK logout\r\n")
                return
            else:
                self._send(f"{tag} BAD unsupported\r\n")


class ImapServer:
    """``with ImapServer(messages) as server:`` — listens on 127.0.0.1:server.port."""

    def __init__(self, messages: list[bytes], user: str = "tousu", password: str = "pw") -> None:
        self.mailbox = Mailbox(messages, user, password)
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.mailbox = self.mailbox  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]

    def __enter__(self) -> ImapServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
