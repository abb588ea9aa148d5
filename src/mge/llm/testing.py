"""A scripted loopback server speaking the Messages and Chat Completions APIs.

For tests of anything that talks to a model over HTTP: queue replies per path
(answers, error statuses with headers, delays past a timeout, dropped
connections), point a provider's `base_url` at `server.url`, and inspect what the
real SDK sent in `server.received`. It binds 127.0.0.1 on a free port and never
reaches further.

    server = ScriptedServer(); server.start()
    server.script(MESSAGES, Reply(429, headers={"retry-after": "1"}), Reply(body=anthropic_body()))
    ...
    server.stop()
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "CHAT",
    "MESSAGES",
    "Received",
    "Reply",
    "ScriptedServer",
    "SleepRecorder",
    "anthropic_body",
    "openai_body",
]


MESSAGES = "/v1/messages"
CHAT = "/v1/chat/completions"


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict → JSON; bytes → sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (for timeouts)
    reset: bool = False  # close the connection without answering


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class ScriptedServer:
    def __init__(self) -> None:
        self.replies: dict[str, deque[Reply]] = defaultdict(deque)
        self.received: list[Received] = []
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                server.received.append(
                    Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw)
                    )
                )
                queue = server.replies[self.path]
                reply = queue.popleft() if queue else Reply(404, {"error": "nothing scripted"})
                if reply.delay:
                    server.stopping.wait(reply.delay)
                if reply.reset:
                    self.close_connection = True
                    return
                data = (
                    reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                )
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                return None

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def script(self, path: str, *replies: Reply) -> None:
        self.replies[path].extend(replies)

    def requests_to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class SleepRecorder:
    """Stands in for asyncio.sleep so back-off is observable and instant."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def anthropic_body(
    text: str = "def f():\n    return 1\n",
    *,
    input_tokens: int = 20,
    output_tokens: int = 8,
    cache_read: int = 0,
    cache_write: int = 0,
    model: str = "test-model",
) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}] if text is not None else [],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read,
            "cache_creation_input_tokens": cache_write,
        },
    }


def openai_body(
    text: str | None = "def f():\n    return 1\n",
    *,
    prompt_tokens: int = 20,
    completion_tokens: int = 8,
    cached: int = 0,
    model: str = "test-model",
    usage: bool = True,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
    }
    if usage:
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached},
        }
    return body
