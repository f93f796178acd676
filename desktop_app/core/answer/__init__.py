"""Grounded answers: retrieval from the library, Gemma 3 through llama.cpp, streamed and
cited, and an honest "I don't know" when the documents do not hold the answer.

One module per concept: ``settings`` (model file, context, answer length), ``gguf`` (the
model file check), ``llm`` (the llama.cpp engine), ``prompt`` (Gemma's turn format and the
token budget), ``citations`` ([n] markers to sources), ``language`` (the question's
script, the decline message), ``answerer`` (the pipeline and the Answer),
``conversation`` (follow-ups).
"""

from desktop_app.core.answer.answerer import Answer, Answerer, AnswerStream, Source, Timings
from desktop_app.core.answer.citations import cited, cited_numbers
from desktop_app.core.answer.conversation import (
    Conversation,
    Turn,
    follow_up_query,
    is_follow_up,
    key_terms,
)
from desktop_app.core.answer.gguf import GGUFInfo, check_gguf
from desktop_app.core.answer.language import decline_message, detect_language
from desktop_app.core.answer.llm import LLM, Generation, GenerationStats, LlamaEngine
from desktop_app.core.answer.prompt import PREFIX, Passage, Prompt, build_prompt
from desktop_app.core.answer.settings import (
    DEFAULT_LLM_FILENAME,
    AnswerSettings,
    LLMSettings,
    llm_path,
)

__all__ = [
    "DEFAULT_LLM_FILENAME",
    "LLM",
    "PREFIX",
    "Answer",
    "AnswerSettings",
    "AnswerStream",
    "Answerer",
    "Conversation",
    "GGUFInfo",
    "Generation",
    "GenerationStats",
    "LLMSettings",
    "LlamaEngine",
    "Passage",
    "Prompt",
    "Source",
    "Timings",
    "Turn",
    "build_prompt",
    "check_gguf",
    "cited",
    "cited_numbers",
    "decline_message",
    "detect_language",
    "follow_up_query",
    "is_follow_up",
    "key_terms",
    "llm_path",
]
