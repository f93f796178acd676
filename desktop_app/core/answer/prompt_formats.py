"""Prompt formats: how one model family marks the turns of a conversation.

What Kura says to the model is the same for every model (``prompt.py``: the
instructions, the numbered passages, the question). What differs between families is
the markers around it: where the user's turn starts and ends, where the model's turn
starts, and which control tokens a document must not be able to smuggle in. That is a
``PromptFormat``, one row per family in ``PROMPT_FORMATS``.

``prompt_format_for`` picks the row from the model file's own metadata (the engine reads
it when it loads the model):

1. the chat template (GGUF ``tokenizer.chat_template``), when the file carries one and
   it contains a row's ``template_marker``: the template is what the model was tuned to
   expect, whatever architecture it is built on;
2. else the architecture (GGUF ``general.architecture``);
3. else ``DEFAULT_FORMAT``, Gemma's: Kura's model family, and a base model (such as the
   270M test model) carries no chat template to go by.

Supporting another family is one row in ``PROMPT_FORMATS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class PromptFormat:
    family: str
    architectures: tuple[str, ...]  # GGUF ``general.architecture`` values of the family
    template_marker: str  # text found in the family's chat templates
    user_turn: str  # opens the user's turn; Kura's instructions come first in it
    end_turn: str  # closes a turn
    model_turn: str  # opens the model's turn: the answer follows it
    # Control tokens that text from documents or questions must not contain: the prompt
    # is tokenized with special tokens parsed, so "<end_of_turn>" inside a document
    # would end the turn early.
    control_tokens: re.Pattern[str]

    def defuse(self, text: str) -> str:
        """Control tokens in ``text`` made plain text: the brackets around each become
        ‹ and › (``<end_of_turn>`` reads ``‹end_of_turn›``)."""
        return self.control_tokens.sub(lambda m: f"‹{m.group(0)[1:-1]}›", text)


# Gemma (1, 2, 3): no system role, so Kura's instructions open the user's turn.
GEMMA = PromptFormat(
    family="gemma",
    architectures=("gemma", "gemma2", "gemma3", "gemma3n"),
    template_marker="<start_of_turn>",
    user_turn="<start_of_turn>user\n",
    end_turn="<end_of_turn>\n",
    model_turn="<start_of_turn>model\n",
    control_tokens=re.compile(
        r"</?(?:start_of_turn|end_of_turn|bos|eos|pad|unk|mask|start_of_image|end_of_image"
        r"|image_soft_token|unused\d+)>"
    ),
)

PROMPT_FORMATS: tuple[PromptFormat, ...] = (GEMMA,)
DEFAULT_FORMAT = GEMMA


def prompt_format_for(architecture: str | None, chat_template: str | None = None
                      ) -> PromptFormat:
    """The format of a model, from its file's architecture and chat template."""
    if chat_template:
        for fmt in PROMPT_FORMATS:
            if fmt.template_marker in chat_template:
                return fmt
    for fmt in PROMPT_FORMATS:
        if architecture in fmt.architectures:
            return fmt
    return DEFAULT_FORMAT
