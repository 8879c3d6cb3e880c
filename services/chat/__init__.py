"""Talking to books: grounded answers with citations, conversation memory, the answer cache,
summaries, study mode and the record of LLM usage."""

from services.chat.answer import AnswerService
from services.chat.cache import AnswerCache
from services.chat.memory import ConversationMemory
from services.chat.types import EXTRACTIVE, MODES, UNVERIFIED_MARK, AnswerResult, Citation, Mode
from services.chat.usage import UsageRecorder

__all__ = [
    "EXTRACTIVE",
    "MODES",
    "UNVERIFIED_MARK",
    "AnswerCache",
    "AnswerResult",
    "AnswerService",
    "Citation",
    "ConversationMemory",
    "Mode",
    "UsageRecorder",
]
