"""The prompt: the model family's turn format, built by hand, packed to a token budget.

Layout, in Gemma's format (one user turn; Gemma has no system role, so the instructions
open it). The markers are the model's ``PromptFormat`` (``prompt_formats.py``), the rest
is the same for every model::

    <bos><start_of_turn>user
    {INSTRUCTIONS}                      <- fixed, identical for every question
    Passages:
    [1] file.md, section
    text of the most relevant passage
    [2] ...                             <- as many as fit, most relevant first
    Earlier questions ... (follow-ups only)
    Question: {question}<end_of_turn>   <- the question last, nearest the answer
    <start_of_turn>model

Why by hand: ``chat_format="gemma"`` drops system messages, and a GGUF need not carry a
chat template (the 270M test model has none), so neither renders the prompt; a template,
when there is one, only tells which format to use.

Why the fixed prefix comes first: llama-cpp-python keeps the previous prompt's tokens in
the KV cache and only evaluates what follows the longest common prefix. With the
instructions first, word for word the same each time, every question after the first
skips re-reading them (``benchmarks/answer_speed.py`` measures it). The prefix ends with a
newline and every passage block starts with ``[``, which Gemma's tokenizer does not merge
with it (a blank line would: "\n\n" is one token), so the prefix tokenizes the same
whatever follows (a test checks it with Gemma's tokenizer).

What goes in: excerpts of the retrieved passages (``evidence.select_excerpts``: the
sentences that answer, best passage first, near-duplicates dropped, within a token budget
chosen for a first word in seconds) or, given plain search results, the passages whole.

Budget: the prompt may use the context minus the tokens reserved for the answer, counted
with the model's own tokenizer. Passages are taken in the order given; one that does not
fit is dropped whole (a later, shorter one may still fit). Only when even the first
passage alone does not fit is it cut, by tokens, so the model has something.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from desktop_app.core.answer.evidence import Excerpt
from desktop_app.core.answer.llm import LLM
from desktop_app.core.answer.prompt_formats import PromptFormat
from desktop_app.core.errors import KuraError
from desktop_app.core.search import SearchResult

INSTRUCTIONS = (
    "You answer questions about the user's own documents, using only the numbered "
    "passages below, which were retrieved from those documents.\n"
    "Rules:\n"
    "- Use only what the passages say. Do not add outside knowledge.\n"
    "- After each statement, cite the passage it comes from by its number in square "
    "brackets, like [1] or [2][3].\n"
    "- Answer in the same language as the question.\n"
    "- If the passages do not contain the answer, say that you don't know.\n"
    "- Be brief and precise.\n"
)

# Room for tokens that merge across block boundaries; the final count is exact anyway.
_BOUNDARY_SLACK = 8


def fixed_prefix(fmt: PromptFormat) -> str:
    """What every prompt starts with, word for word: the KV cache keeps it."""
    return fmt.user_turn + INSTRUCTIONS + "\nPassages:\n"


@dataclass(frozen=True)
class Passage:
    """A passage as given to the model, under its number ``[number]``."""

    number: int
    result: SearchResult
    text: str
    truncated: bool = False  # cut by tokens to fit the context
    trimmed: bool = False  # cut to the sentences that answer (an excerpt)

    @property
    def label(self) -> str:
        return passage_label(self.result)


@dataclass(frozen=True)
class Prompt:
    text: str  # complete, without <bos> (the tokenizer adds it)
    passages: list[Passage]
    dropped: list[SearchResult] = field(default_factory=list)  # did not fit the budget
    tokens: int = 0  # counted with the model's tokenizer, <bos> included
    budget: int = 0


def passage_label(result: SearchResult) -> str:
    """File name and where in it: what the model can cite and the user can check."""
    chunk = result.chunk
    where = chunk.location or (f"page {chunk.page}" if chunk.page else None)
    name = os.path.basename(chunk.path) or chunk.path
    return f"{name}, {where}" if where else name


def render_passage(fmt: PromptFormat, number: int, result: SearchResult, text: str) -> str:
    return f"[{number}] {fmt.defuse(passage_label(result))}\n{fmt.defuse(text.strip())}\n\n"


def render_tail(fmt: PromptFormat, question: str, earlier: Sequence[str] = ()) -> str:
    tail = ""
    if earlier:
        lines = "".join(f"- {fmt.defuse(q.strip())}\n" for q in earlier)
        tail += f"Earlier questions in this conversation, for context:\n{lines}\n"
    return tail + f"Question: {fmt.defuse(question.strip())}{fmt.end_turn}{fmt.model_turn}"


def build_prompt(
    llm: LLM,
    question: str,
    results: Sequence[SearchResult | Excerpt],
    budget: int,
    earlier: Sequence[str] = (),
) -> Prompt:
    """Pack ``results`` (excerpts, or search results given whole; best first) into a
    prompt of at most ``budget`` tokens, in ``llm``'s prompt format."""
    fmt = llm.prompt_format
    prefix = fixed_prefix(fmt)
    tail = render_tail(fmt, question, earlier)
    fixed = llm.count_tokens(prefix, bos=True) + llm.count_tokens(tail)
    room = budget - fixed - _BOUNDARY_SLACK
    if room <= 0:
        raise KuraError(f"the question is too long for the model's context ({fixed} tokens "
                        f"with the instructions; the budget is {budget})")
    passages: list[Passage] = []
    blocks: list[str] = []
    dropped: list[SearchResult] = []
    for item in results:
        excerpt = item if isinstance(item, Excerpt) else Excerpt.whole(item)
        result = excerpt.result
        number = len(passages) + 1
        given = excerpt.text
        cost = llm.count_tokens(render_passage(fmt, number, result, given))
        truncated = False
        if cost > room and not passages:
            cut = _truncate(llm, fmt, number, result, given, room)
            if cut is None:
                dropped.append(result)
                continue
            given, truncated = cut, True
            cost = llm.count_tokens(render_passage(fmt, number, result, given))
        if cost > room:
            dropped.append(result)
            continue
        room -= cost
        blocks.append(render_passage(fmt, number, result, given))
        passages.append(Passage(number, result, given, truncated, excerpt.trimmed))
    text = prefix + "".join(blocks) + tail
    tokens = llm.count_tokens(text, bos=True)
    while tokens > budget and len(passages) > 1:  # only if the slack was not enough
        dropped.insert(0, passages.pop().result)
        blocks.pop()
        text = prefix + "".join(blocks) + tail
        tokens = llm.count_tokens(text, bos=True)
    return Prompt(text, passages, dropped, tokens, budget)


def _truncate(llm: LLM, fmt: PromptFormat, number: int, result: SearchResult, text: str,
              room: int) -> str | None:
    """``text`` cut to fit ``room`` tokens with its passage header, or None."""
    ids = llm.tokenize(text)
    keep = room - llm.count_tokens(render_passage(fmt, number, result, "…")) - 1
    while keep > 0:
        cut = llm.detokenize(ids[:keep]).rstrip() + "…"
        over = llm.count_tokens(render_passage(fmt, number, result, cut)) - room
        if over <= 0:
            return cut
        keep -= over  # re-tokenizing the cut text can count a little differently
    return None
