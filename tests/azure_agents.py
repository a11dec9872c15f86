"""The Foundry Agent Service parts of the local Azure server (``tests/azure_server.py``).

What langchain-azure-ai's ``ResponsesAgentNode`` (azure-ai-projects 2.x) calls on a project
endpoint besides the Responses API: ``GET /api/projects/{project}/agents/{name}`` (the agent
with its ``versions.latest``, a prompt agent whose ``definition.model`` names the deployment)
and ``POST /api/projects/{project}/openai/v1/conversations``. A response for an agent names no
``model``: its body carries ``agent_reference: {"name": ..., "type": "agent_reference"}``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

__all__ = ["agent_details", "agent_name", "conversation"]


def agent_details(name: str, deployment: str) -> dict[str, Any]:
    """The agent ``name`` as the project answers it: one version, a prompt agent."""
    version = {
        "object": "agent.version",
        "id": f"{name}:1",
        "name": name,
        "version": "1",
        "created_at": int(time.time()),
        "metadata": {},
        "definition": {"kind": "prompt", "model": deployment, "instructions": "Be brief."},
    }
    return {"object": "agent", "id": name, "name": name, "versions": {"latest": version}}


def agent_name(parts: list[str]) -> str | None:
    """The agent a ``GET .../api/projects/{project}/agents/{name}`` asks for, else None."""
    if parts[:2] == ["api", "projects"] and len(parts) == 5 and parts[3] == "agents":
        return parts[4]
    return None


def conversation() -> dict[str, Any]:
    """A new conversation."""
    created = int(time.time())
    return {"id": f"conv_{uuid.uuid4().hex}", "object": "conversation", "created_at": created}
