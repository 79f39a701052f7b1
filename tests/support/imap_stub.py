"""A small IMAP4rev1 server for tests: enough of RFC 3501 for imaplib and the helpdesk's poller.

It speaks CAPABILITY, LOGIN, SELECT / EXAMINE (with UIDVALIDITY and UIDNEXT), UID SEARCH
(``UID a:b``, ``ALL``), UID FETCH (RFC822, BODY.PEEK[], BODY.PEEK[HEADER], RFC822.SIZE), NOOP,
CLOSE and LOGOUT, on 127.0.0.1 with a free port, one thread per connection. ``fetched`` lists the
UIDs of whole messages sent, ``headers_fetched`` those of which only the headers were.
"""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field

_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')


@dataclass
class StubFolder:
    uid_validity: int
    messages: dict[int, bytes] = field(default_factory=dict)
    next_uid: int = 1

    def add(self, raw: bytes) -> int:
        uid = self.next_uid
        self.messages[uid] = raw
        self.next_uid += 1
        return uid


def _tokens(line: str) -> list[str]:
    """Atoms and quoted strings (with their backslash escapes undone)."""
    tokens = []
    for match in _TOKEN.finditer(line):
        quoted = match.group(1)
        tokens.append(re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group(2))
    return tokens


def _uid_set(spec: str, highest: int) -> set[int]:
    """An IMAP sequence set over UIDs; ``*`` is the highest UID in the folder (so ``n:*`` includes it)."""
    wanted: set[int] = set()
    for part in spec.split(","):
        if ":" in part:
            low_text, high_text = part.split(":", 1)
            low = highest if low_text == "*" else int(low_text)
            high = highest if high_text == "*" else int(high_text)
            low, high = min(low, high), max(low, high)
            wanted.update(range(low, high + 1))
        else:
            wanted.add(highest if part == "*" else int(part))
    return wanted


class _Session(socketserver.StreamRequestHandler):
    server: ImapStubServer

    def _send(self, line: str | bytes) -> None:
        data = line.encode() if isinstance(line, str) else line
        self.wfile.write(data + b"\r\n")

    def handle(self) -> None:
        self.user: str | None = None
        self.folder: StubFolder | None = None
        self._send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] helpdesk test IMAP stub ready")
        while True:
            raw_line = self.rfile.readline()
            if not raw_line:
                return
            line = raw_line.decode("utf-8", errors="replace").rstrip("\r\n")
            tag, _space, rest = line.partition(" ")
            command, _space, arguments = rest.partition(" ")
            self.server.commands.append(f"{command.upper()} {arguments}".strip())
            if not self._dispatch(tag, command.upper(), arguments):
                return

    def _dispatch(self, tag: str, command: str, arguments: str) -> bool:
        if command == "CAPABILITY":
            self._send("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
            self._send(f"{tag} OK CAPABILITY completed")
        elif command == "NOOP":
            self._send(f"{tag} OK NOOP completed")
        elif command == "LOGOUT":
            self._send("* BYE logging out")
            self._send(f"{tag} OK LOGOUT completed")
            return False
        elif command == "LOGIN":
            user, password = [*_tokens(arguments), "", ""][:2]
            if self.server.users.get(user) == password:
                self.user = user
                self._send(f"{tag} OK [CAPABILITY IMAP4rev1] LOGIN completed")
            else:
                self._send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)")
        elif self.user is None:
            self._send(f"{tag} BAD Log in first")
        elif command in {"SELECT", "EXAMINE"}:
            self._select(tag, command, (_tokens(arguments) or [""])[0])
        elif command == "CLOSE":
            self.folder = None
            self._send(f"{tag} OK CLOSE completed")
        elif command == "UID" and self.folder is not None:
            self._uid(tag, arguments)
        else:
            self._send(f"{tag} BAD Command not understood by the stub")
        return True

    def _select(self, tag: str, command: str, name: str) -> None:
        folder = self.server.folders.get(name)
        if folder is None:
            self._send(f"{tag} NO [NONEXISTENT] Unknown mailbox")
            return
        self.folder = folder
        self._send(r"* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)")
        self._send(f"* {len(folder.messages)} EXISTS")
        self._send("* 0 RECENT")
        self._send(f"* OK [UIDVALIDITY {folder.uid_validity}] UIDs valid")
        self._send(f"* OK [UIDNEXT {folder.next_uid}] Predicted next UID")
        access = "READ-ONLY" if command == "EXAMINE" else "READ-WRITE"
        self._send(f"{tag} OK [{access}] {command} completed")

    def _uid(self, tag: str, arguments: str) -> None:
        assert self.folder is not None
        subcommand, _space, rest = arguments.partition(" ")
        uids = sorted(self.folder.messages)
        highest = uids[-1] if uids else 0
        if subcommand.upper() == "SEARCH":
            criteria = _tokens(rest)
            if criteria[:1] == ["ALL"] or not criteria:
                found = uids
            elif criteria[0].upper() == "UID" and len(criteria) > 1:
                wanted = _uid_set(criteria[1], highest)
                found = [uid for uid in uids if uid in wanted]
            else:
                self._send(f"{tag} BAD Search criteria not supported by the stub")
                return
            self._send("* SEARCH" + "".join(f" {uid}" for uid in found))
            self._send(f"{tag} OK SEARCH completed")
        elif subcommand.upper() == "FETCH":
            spec, _space, items = rest.partition(" ")
            wanted = _uid_set(spec, highest) if uids else set()
            for sequence, uid in enumerate(uids, start=1):
                if uid not in wanted:
                    continue
                raw = self.folder.messages[uid]
                if "RFC822.SIZE" in items.upper() and "RFC822)" not in items.upper():
                    self._send(f"* {sequence} FETCH (UID {uid} RFC822.SIZE {len(raw)})")
                    continue
                if "[HEADER]" in items.upper():
                    self.server.headers_fetched.append(uid)
                    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0] + b"\r\n\r\n"
                    self.wfile.write(f"* {sequence} FETCH (UID {uid} BODY[HEADER] {{{len(head)}}}\r\n".encode())
                    self.wfile.write(head + b")\r\n")
                    continue
                self.server.fetched.append(uid)
                item = "BODY[]" if "BODY" in items.upper() else "RFC822"
                self.wfile.write(f"* {sequence} FETCH (UID {uid} {item} {{{len(raw)}}}\r\n".encode() + raw + b")\r\n")
            self._send(f"{tag} OK FETCH completed")
        else:
            self._send(f"{tag} BAD UID {subcommand} not supported by the stub")


class ImapStubServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, users: dict[str, str], uid_validity: int = 1) -> None:
        super().__init__(("127.0.0.1", 0), _Session)
        self.users = users
        self.folders: dict[str, StubFolder] = {"INBOX": StubFolder(uid_validity=uid_validity)}
        self.commands: list[str] = []
        self.fetched: list[int] = []
        self.headers_fetched: list[int] = []
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def inbox(self) -> StubFolder:
        return self.folders["INBOX"]

    def renumber(self, *, uid_validity: int) -> None:
        """What a server does after a folder is rebuilt: same messages, new UIDs from 1, new UIDVALIDITY."""
        messages = [self.inbox.messages[uid] for uid in sorted(self.inbox.messages)]
        self.folders["INBOX"] = StubFolder(uid_validity=uid_validity)
        for raw in messages:
            self.inbox.add(raw)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="imap-stub", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
