"""A local Azure-OpenAI-compatible server for integration tests.

It answers ``POST /openai/deployments/{deployment}/{chat/completions,completions,embeddings}``
(``?api-version=...``) and the v1 routes ``POST /openai/v1/{chat/completions,embeddings}``
(deployment named by the body's ``model``) in Azure's wire format. Chat completions:
the response ``model`` is what Azure reports (a base name like ``gpt-35-turbo`` or a
versioned one like ``gpt-4o-2024-08-06``), with
``prompt_filter_results``, ``choices[].content_filter_results`` and ``usage``
carrying cached and reasoning token details. Streaming is SSE like Azure's: a first
chunk with empty ``model`` and ``choices`` carrying only ``prompt_filter_results``,
the content chunks, a usage chunk with empty ``choices`` when
``stream_options.include_usage`` is set, then ``data: [DONE]``.

Only 127.0.0.1, on a port the OS chooses.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

__all__ = ["AzureServer", "DeploymentSpec"]

_FILTER_OK = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"},
}


@dataclass
class DeploymentSpec:
    """What one deployment answers."""

    model: str
    """The model name Azure reports in responses."""
    prompt_tokens: int = 31
    completion_tokens: int = 8
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    content: str = "Hello! How can I help you today?"
    service_tier: str | None = None
    """Tier echoed in responses and chunks (``priority``, ``flex``, ``default``), or None."""
    tool_call: str | None = None
    """A tool to call (no arguments) when the request offers tools and no tool answered yet."""


class _Handler(BaseHTTPRequestHandler):
    server: AzureServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        parts = urlparse(self.path).path.strip("/").split("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if parts[:2] == ["openai", "deployments"] and len(parts) >= 4:
            deployment, operation = parts[2], "/".join(parts[3:])
        elif parts[:2] == ["openai", "v1"] and len(parts) >= 3:
            deployment, operation = str(body.get("model")), "/".join(parts[2:])
        else:
            deployment, operation = "", ""
        if operation not in ("chat/completions", "completions", "embeddings"):
            self._json(404, {"error": {"code": "404", "message": "Resource not found"}})
            return
        spec = self.server.deployments.get(deployment)
        if spec is None:
            self._json(
                404,
                {
                    "error": {
                        "code": "DeploymentNotFound",
                        "message": f"The API deployment {deployment} does not exist.",
                    }
                },
            )
            return
        with self.server.lock:
            self.server.requests.append((deployment, body))
        if operation == "embeddings":
            self._json(200, self._embeddings(spec, body))
        elif operation == "completions":
            self._legacy(spec, body)
        elif body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(spec, include_usage)
        else:
            self._json(200, self._completion(spec, body))

    def _embeddings(self, spec: DeploymentSpec, body: dict[str, Any]) -> dict[str, Any]:
        """One vector per input; usage counts a token per word (or per given token id)."""
        inputs = body.get("input")
        items = [inputs] if isinstance(inputs, str) else list(inputs or [])
        tokens = sum(len(i) if isinstance(i, list) else len(str(i).split()) for i in items)
        data = [
            {"object": "embedding", "index": n, "embedding": [float(len(str(i)) % 7), 1.0, n / 8]}
            for n, i in enumerate(items)
        ]
        return {
            "object": "list",
            "data": data,
            "model": spec.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def _legacy(self, spec: DeploymentSpec, body: dict[str, Any]) -> None:
        """Legacy completions; a stream carries no usage, as Azure's does not."""
        prompts = body.get("prompt")
        n = len(prompts) if isinstance(prompts, list) else 1
        choices = [
            {"index": i, "text": spec.content, "finish_reason": "stop", "logprobs": None}
            for i in range(n)
        ]
        head = {"id": "cmpl-test", "created": int(time.time()), "model": spec.model}
        if not body.get("stream"):
            usage = {
                "prompt_tokens": spec.prompt_tokens * n,
                "completion_tokens": spec.completion_tokens * n,
                "total_tokens": (spec.prompt_tokens + spec.completion_tokens) * n,
            }
            self._json(
                200, {**head, "object": "text_completion", "choices": choices, "usage": usage}
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for choice in choices:
            data = {**head, "object": "text_completion", "choices": [choice]}
            self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _usage(self, spec: DeploymentSpec) -> dict[str, Any]:
        return {
            "prompt_tokens": spec.prompt_tokens,
            "completion_tokens": spec.completion_tokens,
            "total_tokens": spec.prompt_tokens + spec.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": spec.cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": spec.reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _message(self, spec: DeploymentSpec, body: dict[str, Any]) -> tuple[dict[str, Any], str]:
        messages = body.get("messages") or [{}]
        if spec.tool_call and body.get("tools") and messages[-1].get("role") != "tool":
            call = {
                "id": f"call_{len(messages)}",
                "type": "function",
                "function": {"name": spec.tool_call, "arguments": "{}"},
            }
            return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        return {"role": "assistant", "content": spec.content, "refusal": None}, "stop"

    def _completion(self, spec: DeploymentSpec, body: dict[str, Any]) -> dict[str, Any]:
        message, finish = self._message(spec, body)
        return {
            **self._tier(spec),
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": spec.model,
            "system_fingerprint": "fp_test",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _FILTER_OK}],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": finish,
                    "logprobs": None,
                    "message": message,
                    "content_filter_results": _FILTER_OK,
                }
            ],
            "usage": self._usage(spec),
        }

    def _tier(self, spec: DeploymentSpec) -> dict[str, Any]:
        return {} if spec.service_tier is None else {"service_tier": spec.service_tier}

    def _stream(self, spec: DeploymentSpec, include_usage: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        created = int(time.time())

        def chunk(**fields: Any) -> None:
            data = {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": created,
                "model": spec.model,
                "system_fingerprint": "fp_test",
                **self._tier(spec),
                **fields,
            }
            self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())

        first = {
            "id": "",
            "object": "",
            "created": 0,
            "model": "",
            "choices": [],
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _FILTER_OK}],
        }
        self.wfile.write(f"data: {json.dumps(first)}\n\n".encode())
        chunk(
            choices=[
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ]
        )
        for i, word in enumerate(spec.content.split(" ")):
            text = word if i == 0 else " " + word
            chunk(
                choices=[
                    {
                        "index": 0,
                        "delta": {"content": text},
                        "finish_reason": None,
                        "content_filter_results": _FILTER_OK,
                    }
                ]
            )
        chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])
        if include_usage:
            chunk(choices=[], usage=self._usage(spec))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


class AzureServer(ThreadingHTTPServer):
    """The server; ``start()`` runs it in a background thread, ``stop()`` shuts it down."""

    daemon_threads = True
    request_queue_size = 1024  # hundreds of concurrent async clients connect at once

    def __init__(self, deployments: dict[str, DeploymentSpec] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.deployments: dict[str, DeploymentSpec] = dict(deployments or {})
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """Base URL to pass as ``azure_endpoint``."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> AzureServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()
