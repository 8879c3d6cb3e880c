"""Answer generation: providers (Gemini, OpenAI-compatible) behind one interface, and the router."""

from services.llm.base import (
    ChatMessage,
    LLMError,
    LLMProvider,
    LLMRequest,
    LLMResult,
    LLMStream,
    LLMUsage,
    PriceTable,
    ProviderError,
)
from services.llm.router import (
    AllProvidersFailed,
    HealthEvent,
    HealthListener,
    LLMRouter,
    UsageSink,
    build_router,
)

__all__ = [
    "AllProvidersFailed",
    "ChatMessage",
    "HealthEvent",
    "HealthListener",
    "LLMError",
    "LLMProvider",
    "LLMRequest",
    "LLMResult",
    "LLMRouter",
    "LLMStream",
    "LLMUsage",
    "PriceTable",
    "ProviderError",
    "UsageSink",
    "build_router",
]
