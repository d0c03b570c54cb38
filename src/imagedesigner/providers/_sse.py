"""Server-Sent Events: an incremental ``text/event-stream`` parser and the events it yields
(:func:`imagedesigner.providers._http.send_events` feeds it a provider's streamed answer)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SSEEvent:
    event: str  # the ``event:`` field, "message" when the server sent none
    data: str  # the ``data:`` lines joined with "\n"
    id: str | None = None


_EOL = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


class SSEParser:
    """An incremental ``text/event-stream`` parser (the WHATWG rules, minus ``retry``).

    :meth:`feed` takes raw bytes as they arrive and returns the events completed by them. Lines
    end with CRLF, LF or CR (a CR at the end of a chunk waits for the next one, in case an LF
    follows); ``:`` lines are comments; an event is dispatched at a blank line if it had data;
    an event left unfinished at the end of the stream is dropped, as the standard says. The
    parser keeps only the unfinished line and event, and scans each byte once, so a long line
    costs linear time; the caller bounds the total (see :func:`send_events`).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._scan = 0  # bytes of _buf already searched for a line end
        self._bom_checked = False
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buf += chunk
        if not self._bom_checked:  # one UTF-8 BOM may open the stream
            if len(self._buf) < 3 and _BOM.startswith(bytes(self._buf)):
                return []
            if self._buf.startswith(_BOM):
                del self._buf[:3]
            self._bom_checked = True
        out: list[SSEEvent] = []
        start, scan = 0, self._scan
        while True:
            match = _EOL.search(self._buf, scan)
            if match is None:
                scan = len(self._buf)
                break
            if match.group() == b"\r" and match.end() == len(self._buf):
                scan = match.start()  # maybe the first half of a CRLF
                break
            self._line(bytes(self._buf[start : match.start()]), out)
            start = scan = match.end()
        del self._buf[:start]
        self._scan = scan - start
        return out

    def _line(self, line: bytes, out: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                out.append(SSEEvent(self._event or "message", "\n".join(self._data), self._id))
            self._event, self._data = "", []
            return
        text = line.decode("utf-8", "replace")
        if text.startswith(":"):
            return
        name, sep, value = text.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
