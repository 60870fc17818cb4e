"""The provider factory: providers come from a dotted-path table, and agents never import the offline engine."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from agents.llm import llm_provider_get, llm_provider_reset
from agents.llm.types import LLMRequest, LLMResponse
from offline_engine import OfflineProvider

ROOT = Path(__file__).resolve().parent.parent


class EchoProvider:
    """A provider loaded by dotted path: answers with the last message."""

    name = "echo"
    model = "echo-1"

    @classmethod
    def from_settings(cls, settings: Any) -> EchoProvider:
        return cls()

    def complete(self, request: LLMRequest) -> LLMResponse:
        return LLMResponse(text=request.messages[-1]["content"], model=self.model)


@pytest.fixture
def fresh_provider() -> Any:
    llm_provider_reset()
    yield
    llm_provider_reset()


def test_the_offline_engine_is_the_default_provider(fresh_provider: None) -> None:
    provider: Any = llm_provider_get()
    assert isinstance(provider.inner, OfflineProvider)
    assert provider.cache_enabled is False  # the engine says its answers are not worth caching


@override_settings(LLM_PROVIDER_CLASSES={"offline": "tests.test_llm_factory.EchoProvider"})
def test_the_table_in_settings_chooses_the_class(fresh_provider: None) -> None:
    provider: Any = llm_provider_get()
    request = LLMRequest(
        system_static="", system_dynamic="", tools=[], messages=[{"role": "user", "content": "hi"}], step=1
    )
    assert isinstance(provider.inner, EchoProvider)
    assert provider.complete(request).text == "hi"


def test_no_agents_module_imports_the_offline_engine() -> None:
    importers = []
    for path in (ROOT / "agents").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name.split(".")[0] == "offline_engine" for name in names):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == []
