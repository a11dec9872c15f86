"""A local Azure-OpenAI-compatible server for integration tests.

It answers, in Azure's wire formats (each request needs an ``api-key`` or an
``Authorization: Bearer`` header, as Azure does; 401 otherwise):

- Azure OpenAI: ``POST /openai/deployments/{deployment}/{chat/completions,completions,
  embeddings}`` (``?api-version=...``) and the v1 routes ``POST /openai/v1/{chat/completions,
  embeddings,responses}`` (deployment named by the body's ``model``);
- a Foundry project endpoint: ``POST /api/projects/{project}/openai/v1/responses`` (what
  ``AIProjectClient.get_openai_client()`` calls), and the Agent Service's agents and
  conversations (``tests/azure_agents.py``): an agent's response runs on its deployment;
- the Azure AI model inference API of azure-ai-inference (``.../models``):
  ``POST /models/chat/completions?api-version=...`` (required; the SDK sends
  ``2024-05-01-preview``), deployment named by the body's ``model``. A body field outside
  the API's own is refused (422) unless the ``extra-parameters`` header is ``pass-through``
  (kept) or ``drop`` (ignored), so ``stream_options`` reaches the model only passed through.

Chat completions: the response ``model`` is what Azure reports (a base name like
``gpt-35-turbo`` or a versioned one like ``gpt-4o-2024-08-06``), with
``prompt_filter_results``, ``choices[].content_filter_results`` and ``usage``
carrying cached and reasoning token details. Streaming is SSE like Azure's: a first
chunk with empty ``model`` and ``choices`` carrying only ``prompt_filter_results``,
the content chunks, a usage chunk with empty ``choices`` when
``stream_options.include_usage`` is set, then ``data: [DONE]``. The Responses API's
format is in ``tests/azure_responses.py``.

Every request's path, query and headers are kept in ``wire``; the deployment and body in
``requests``. Only 127.0.0.1, on a port the OS chooses.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlparse

from azure_agents import agent_details, agent_name, conversation
from azure_responses import response_body, response_events

__all__ = ["AzureServer", "DeploymentSpec", "Wire"]

# the body fields of the model inference API's chat completions (api-version 2024-05-01-preview)
_INFERENCE_FIELDS = frozenset(
    {
        "messages", "model", "stream", "frequency_penalty", "presence_penalty", "temperature",
        "top_p", "max_tokens", "response_format", "stop", "tools", "tool_choice", "seed",
        "modalities",
    }
)  # fmt: skip
_OPERATIONS = ("chat/completions", "completions", "embeddings", "responses", "conversations")

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


class Wire(NamedTuple):
    """How one request arrived: path, query parameters and headers (names lower-cased)."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]


def _route(parts: list[str], body: dict[str, Any]) -> tuple[str, str]:
    """(deployment, operation) of a request path; ``inference/...`` for the /models API."""
    model = str(body.get("model"))
    if parts[:2] == ["openai", "deployments"] and len(parts) >= 4:
        return parts[2], "/".join(parts[3:])
    if parts[:2] == ["openai", "v1"] and len(parts) >= 3:
        return model, "/".join(parts[2:])
    if parts[:2] == ["api", "projects"] and parts[3:5] == ["openai", "v1"] and len(parts) >= 6:
        return model, "/".join(parts[5:])
    if parts[:1] == ["models"] and parts[1:] == ["chat", "completions"]:
        return model, "inference/chat/completions"
    return "", ""


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

    def _error(self, status: int, code: str, message: str) -> None:
        self._json(status, {"error": {"code": code, "message": message}})

    def _arrived(self) -> Wire | None:
        """Keep how the request arrived; None (answered 401) when it carries no key or token."""
        url = urlparse(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        wire = Wire(url.path, dict(parse_qsl(url.query)), headers)
        with self.server.lock:
            self.server.wire.append(wire)
        if headers.get("api-key") or headers.get("authorization", "").startswith("Bearer "):
            return wire
        self._error(401, "401", "Access denied due to missing subscription key or token.")
        return None

    def do_GET(self) -> None:
        wire = self._arrived()
        if wire is None:
            return
        name = agent_name(wire.path.strip("/").split("/"))
        if name is None or name not in self.server.agents:
            self._error(404, "NotFound", f"Agent {name} not found.")
            return
        self._json(200, agent_details(name, self.server.agents[name]))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        wire = self._arrived()
        if wire is None:
            return
        deployment, operation = _route(wire.path.strip("/").split("/"), body)
        if operation.removeprefix("inference/") not in _OPERATIONS:
            self._error(404, "404", "Resource not found")
            return
        if operation == "conversations":
            self._json(200, conversation())
            return
        agent = body.get("agent_reference")
        if isinstance(agent, dict):  # an agent's response: its deployment is the agent's
            deployment = self.server.agents.get(str(agent.get("name")), "")
        if operation.startswith("inference/"):
            body = self._inference_body(wire, body)
            if body is None:
                return
        spec = self.server.deployments.get(deployment)
        if spec is None:
            message = f"The API deployment {deployment} does not exist."
            self._error(404, "DeploymentNotFound", message)
            return
        with self.server.lock:
            self.server.requests.append((deployment, body))
        self._answer(spec, operation.removeprefix("inference/"), body)

    def _inference_body(self, wire: Wire, body: dict[str, Any]) -> dict[str, Any] | None:
        """The body the model sees under the model inference API's rules, or None (refused)."""
        if "api-version" not in wire.query:
            message = "The api-version query parameter (?api-version=) is required."
            self._error(400, "MissingApiVersionParameter", message)
            return None
        extra = sorted(set(body) - _INFERENCE_FIELDS)
        policy = wire.headers.get("extra-parameters", "error")
        if extra and policy == "drop":
            return {k: v for k, v in body.items() if k in _INFERENCE_FIELDS}
        if extra and policy != "pass-through":
            message = (
                f"Extra parameters {extra} are not allowed when extra-parameters is not set "
                "or set to be 'error'. Set extra-parameters to 'pass-through' to pass them."
            )
            self._error(422, "extra_parameters_not_allowed", message)
            return None
        return body

    def _answer(self, spec: DeploymentSpec, operation: str, body: dict[str, Any]) -> None:
        if operation == "embeddings":
            self._json(200, self._embeddings(spec, body))
        elif operation == "completions":
            self._legacy(spec, body)
        elif operation == "responses" and body.get("stream"):
            self._sse(response_events(spec, body))
        elif operation == "responses":
            self._json(200, response_body(spec, body))
        elif body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(spec, include_usage)
        else:
            self._json(200, self._completion(spec, body))

    def _sse(self, events: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for event in events:
            self.wfile.write(event)
        self.wfile.flush()

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

    def __init__(
        self,
        deployments: dict[str, DeploymentSpec] | None = None,
        agents: dict[str, str] | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.deployments: dict[str, DeploymentSpec] = dict(deployments or {})
        self.agents: dict[str, str] = dict(agents or {})
        """Foundry agent name -> the deployment its prompt agent runs on."""
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.wire: list[Wire] = []
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
