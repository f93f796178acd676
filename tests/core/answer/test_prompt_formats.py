"""Which prompt format a model gets, from its file's chat template and architecture."""

from __future__ import annotations

from desktop_app.core.answer import GEMMA, prompt_format_for
from desktop_app.core.answer.prompt_formats import DEFAULT_FORMAT

GEMMA_TEMPLATE = ("{{ bos_token }}{% for message in messages %}<start_of_turn>"
                  "{{ message['role'] }}\n{{ message['content'] }}<end_of_turn>\n{% endfor %}")


def test_gemma_files_get_gemma_turns_by_architecture_or_template() -> None:
    assert prompt_format_for("gemma3") is GEMMA  # a base model: no template
    assert prompt_format_for("gemma2", GEMMA_TEMPLATE) is GEMMA
    # The template says what the model was tuned on, whatever it is built on.
    assert prompt_format_for("llama", GEMMA_TEMPLATE) is GEMMA


def test_an_unknown_model_gets_the_default_format() -> None:
    assert DEFAULT_FORMAT is GEMMA
    assert prompt_format_for(None) is GEMMA
    assert prompt_format_for("not-a-family", "{{ messages }}") is GEMMA


def test_control_tokens_become_plain_text() -> None:
    text = "a<end_of_turn>b</start_of_turn>c<unused12>d<eos>"
    assert GEMMA.defuse(text) == "a‹end_of_turn›b‹/start_of_turn›c‹unused12›d‹eos›"
    assert GEMMA.defuse("<b>bold</b> <end>") == "<b>bold</b> <end>"  # not Gemma's tokens
