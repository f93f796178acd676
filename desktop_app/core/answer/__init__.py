"""Grounded answers: retrieval from the library, Gemma 3 through llama.cpp, streamed and
cited, and an honest "I don't know" when the documents do not hold the answer.

One module per concept: ``settings`` (model file, context, answer length), ``gguf`` (the
model file check), ``llm`` (the engine interface, the llama.cpp engine and ``make_llm``,
which chooses it), ``prompt_formats`` (one row per model family's turn markers),
``sentences`` (splitting text into sentences), ``evidence`` (the passages' sentences
scored against the question: rerank, trim, extract), ``checks`` (each answer sentence
against its cited passages), ``prompt`` (the prompt and the token budget), ``citations``
([n] markers to sources),
``language`` (the question's script, the decline message), ``decline`` (whether the
passages answer the question, in any pair of languages), ``remote`` (a server on the
user's network writes the answer), ``answerer`` (the pipeline and
the Answer), ``conversation`` (follow-ups).
"""

from desktop_app.core.answer.answerer import (
    Answer,
    Answerer,
    AnswerEvent,
    AnswerStream,
    Checked,
    Extract,
    ExtractItem,
    Source,
    Timings,
)
from desktop_app.core.answer.checks import AnswerChecker, SentenceCheck
from desktop_app.core.answer.citations import cited, cited_numbers
from desktop_app.core.answer.conversation import (
    Conversation,
    Turn,
    follow_up_query,
    is_follow_up,
    key_terms,
)
from desktop_app.core.answer.decline import Decision, decide
from desktop_app.core.answer.language import decline_message, detect_language
from desktop_app.core.answer.llm import LLM, Generation, GenerationStats, LlamaEngine, make_llm
from desktop_app.core.answer.prompt import Passage, Prompt, build_prompt, fixed_prefix
from desktop_app.core.answer.prompt_formats import GEMMA, PromptFormat, prompt_format_for
from desktop_app.core.answer.settings import AnswerSettings, LLMSettings, llm_bundle, llm_path
from desktop_app.core.gguf import GGUFInfo, check_gguf

__all__ = [
    "GEMMA",
    "LLM",
    "Answer",
    "AnswerChecker",
    "AnswerEvent",
    "AnswerSettings",
    "AnswerStream",
    "Answerer",
    "Checked",
    "Conversation",
    "Decision",
    "Extract",
    "ExtractItem",
    "GGUFInfo",
    "Generation",
    "GenerationStats",
    "LLMSettings",
    "LlamaEngine",
    "Passage",
    "Prompt",
    "PromptFormat",
    "SentenceCheck",
    "Source",
    "Timings",
    "Turn",
    "build_prompt",
    "check_gguf",
    "cited",
    "cited_numbers",
    "decide",
    "decline_message",
    "detect_language",
    "fixed_prefix",
    "follow_up_query",
    "is_follow_up",
    "key_terms",
    "llm_bundle",
    "llm_path",
    "make_llm",
    "prompt_format_for",
]
