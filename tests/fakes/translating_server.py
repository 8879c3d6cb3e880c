"""A fake OpenAI-compatible server that also translates: a translation request (the system prompt of
`services.search.translate`) whose question is in `translations` gets its translation; anything else
follows the usual script (see `FakeLLMServer`). The real openai SDK talks to it over HTTP."""

from __future__ import annotations

from tests.fakes.llm_server import Answer, Behaviour
from tests.fakes.openai_server import FakeOpenAIServer


class TranslatingOpenAIServer(FakeOpenAIServer):
    def __init__(self, translations: dict[str, str], *, api_key: str | None = None) -> None:
        super().__init__(api_key=api_key)
        self.translations = translations
        self.translated: list[str] = []  # the questions it was asked to translate, in order

    def next_behaviour(self) -> Behaviour:
        request = self.requests[-1]
        if request.system and request.system.startswith("Translate the reader's question"):
            question = request.last_user_text or ""
            self.translated.append(question)
            if self._script:  # a scripted failure for the translation itself
                return self._script.popleft()
            return Answer(self.translations.get(question, question))
        return super().next_behaviour()
