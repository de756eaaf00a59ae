"""Ollama Modelfile and LM Studio notes for a GGUF export.

The chat TEMPLATE is derived from the model's own (Jinja) chat template rather than picked from a list of
families: we render the template on sentinel messages, read off each role's prefix, the end-of-turn suffix
and the generation prompt, write them as a Go template, and check the translation by rendering a
conversation both ways. Ollama answers that never stop or run into the next turn come from a missing
template or stop token, so every special token around a turn becomes a ``PARAMETER stop``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_S, _U, _A, _U2 = "\x1esys\x1e", "\x1euser\x1e", "\x1eassistant\x1e", "\x1euser2\x1e"


class TemplateError(ValueError):
    """The chat template has a shape this translation cannot express."""


@dataclass
class ChatShape:
    """A chat template as plain strings: ``prefix[role] + content + suffix`` per turn, then ``generation``."""

    prefix: dict[str, str]
    suffix: str
    generation: str
    bos: str = ""
    notes: list[str] = field(default_factory=list)

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """The text the Go template produces (bos included: llama.cpp adds it as a token)."""
        text = self.bos + "".join(self.prefix[m["role"]] + m["content"] + self.suffix for m in messages)
        return text + (self.generation if add_generation_prompt else "")

    def go_template(self) -> str:
        # One line, no ``{{-`` trim markers: the literal newlines inside prefixes and suffixes must survive.
        branches = "".join(
            f'{{{{ {"if" if i == 0 else "else if"} eq .Role "{role}" }}}}{_go_literal(self.prefix[role])}'
            for i, role in enumerate(("system", "user", "assistant")))
        return (f"{{{{ range .Messages }}}}{branches}{{{{ end }}}}{{{{ .Content }}}}{_go_literal(self.suffix)}"
                f"{{{{ end }}}}{_go_literal(self.generation)}")


def _go_literal(text: str) -> str:
    """Literal text in a Go template: ``{{`` and ``}}`` become string actions (one pass, so the inserted
    braces are not escaped again)."""
    return re.sub(r"\{\{|\}\}", lambda m: '{{ "%s" }}' % m.group(0), text)


def _between(text: str, start: str, end: str) -> str:
    i, j = text.index(start) + len(start), text.index(end)
    return text[i:j]


def chat_shape(tokenizer: Any) -> ChatShape:
    """Read the per-role wrapping off ``tokenizer.apply_chat_template`` (see the module docstring)."""
    if not getattr(tokenizer, "chat_template", None):
        raise TemplateError("The tokenizer has no chat template.")

    def render(messages, gen):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen)

    sys_user = [{"role": "system", "content": _S}, {"role": "user", "content": _U}]
    convo = sys_user + [{"role": "assistant", "content": _A}, {"role": "user", "content": _U2}]
    try:
        no_gen, with_gen, full = render(sys_user, False), render(sys_user, True), render(convo, True)
    except Exception as exc:  # e.g. templates that refuse a system role
        raise TemplateError(f"The chat template cannot render a system + user conversation: {exc}") from None
    if not with_gen.startswith(no_gen):
        raise TemplateError("The generation prompt is not appended to the conversation.")
    suffix = no_gen[no_gen.index(_U) + len(_U):]
    generation = with_gen[len(no_gen):]
    head = full[:full.index(_S)]
    # A BOS the template writes itself (``{{ bos_token }}``) is a token llama.cpp and Ollama add on their own.
    bos_token = getattr(tokenizer, "bos_token", None) or ""
    bos = bos_token if bos_token and "bos_token" in tokenizer.chat_template and head.startswith(bos_token) else ""
    between_su = _between(full, _S, _U)
    between_ua = _between(full, _U, _A)
    between_au = _between(full, _A, _U2)
    if not (between_su.startswith(suffix) and between_ua.startswith(suffix) and between_au.startswith(suffix)):
        raise TemplateError("The roles do not share one end-of-turn suffix.")
    shape = ChatShape(prefix={"system": head[len(bos):], "user": between_su[len(suffix):],
                              "assistant": between_ua[len(suffix):]}, suffix=suffix, generation=generation, bos=bos)
    if between_au[len(suffix):] != shape.prefix["user"]:
        raise TemplateError("The user prefix changes between turns.")
    if shape.render(convo) != full:
        raise TemplateError("The translated template does not reproduce the original.")
    return shape


def stop_tokens(tokenizer: Any, shape: ChatShape | None, generation_eos: list[int] | None = None) -> list[str]:
    """Every token that ends an answer: the EOS token(s) and each special token around a turn."""
    stops: list[str] = []

    def add(token: str | None) -> None:
        if token and token not in stops:
            stops.append(token)

    add(getattr(tokenizer, "eos_token", None))
    for token_id in generation_eos or []:
        add(tokenizer.convert_ids_to_tokens(int(token_id)))
    if shape is not None:
        specials = [t for t in getattr(tokenizer, "all_special_tokens", []) if t]
        specials += [t.content for t in getattr(tokenizer, "added_tokens_decoder", {}).values()
                     if getattr(t, "special", False)]
        for piece in (shape.suffix, shape.prefix["user"], shape.generation):
            for token in sorted(set(specials), key=len, reverse=True):
                if token in piece:
                    add(token)
    return stops


def modelfile(gguf_name: str | None, shape: ChatShape | None, stops: list[str], system_prompt: str | None,
              temperature: float, top_p: float, num_ctx: int, base_tag: str | None = None,
              adapter: str | None = None) -> str:
    """A Modelfile for a whole GGUF (``FROM ./model.gguf``), or for a GGUF LoRA adapter on an Ollama library
    model (``FROM smollm2:135m`` + ``ADAPTER ./adapter.gguf``). Our TEMPLATE overrides the library model's, so
    the adapter answers in the chat format it was trained with."""
    if (gguf_name is None) == (base_tag is None) or (adapter is not None and base_tag is None):
        raise ValueError("A Modelfile starts FROM either a GGUF file or a library tag (with an adapter).")
    lines = [f"FROM ./{gguf_name}" if gguf_name else f"FROM {base_tag}"]
    lines += [f"ADAPTER ./{adapter}", ""] if adapter else [""]
    if shape is not None:
        template = shape.go_template()
        if '"""' in template:
            raise TemplateError('The chat template contains """, which a Modelfile cannot quote.')
        lines += [f'TEMPLATE """{template}"""', ""]
    if system_prompt:
        lines += [f'SYSTEM """{system_prompt.replace(chr(34) * 3, chr(39) * 3)}"""', ""]
    lines += [f"PARAMETER temperature {temperature:g}", f"PARAMETER top_p {top_p:g}", f"PARAMETER num_ctx {num_ctx}"]
    lines += [f'PARAMETER stop "{_quote(s)}"' for s in stops]
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def lmstudio_readme(gguf_name: str, publisher: str, model_name: str, system_prompt: str | None,
                    stops: list[str], temperature: float, top_p: float, num_ctx: int) -> str:
    folder = f"~/.lmstudio/models/{publisher}/{model_name}"
    return "\n".join([
        f"# {model_name} in LM Studio", "",
        "LM Studio finds models in `<models folder>/<publisher>/<model>/<file>.gguf` (the models folder is",
        "shown under My Models; `~/.lmstudio/models` by default).", "",
        "1. Either run `lms import " + gguf_name + "` (the LM Studio CLI copies it into place), or:",
        f"   `mkdir -p {folder} && cp {gguf_name} {folder}/`",
        f"2. In LM Studio open My Models, pick `{publisher}/{model_name}` and load it.",
        "3. The chat template is inside the GGUF (`tokenizer.chat_template`); LM Studio applies it itself.",
        f"4. In the model's settings set the context length to {num_ctx}, temperature {temperature:g}, top-p {top_p:g}.",
        "5. Paste this system prompt:" if system_prompt else "5. No system prompt was used in training.",
        *([f"", "```", system_prompt, "```"] if system_prompt else []),
        "6. Stop strings (usually read from the GGUF; add them if answers run on): "
        + ", ".join(f"`{s}`" for s in stops), "",
    ])
