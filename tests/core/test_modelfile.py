"""The chat-template translation on templates of other families (no model needed)."""
from __future__ import annotations

import pytest

from core.export.modelfile import ChatShape, TemplateError, chat_shape, stop_tokens

LLAMA3 = ("{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>\n\n"
          "{{ m['content'] }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}"
          "<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}")
NO_SYSTEM = ("{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system') }}{% endif %}"
             "[INST] {{ m['content'] }} [/INST]{% endfor %}")


class FakeTokenizer:
    """Just what chat_shape and stop_tokens read, rendering with transformers' own Jinja helper."""

    def __init__(self, template, bos="<s>", eos="</s>", specials=()):
        self.chat_template, self.bos_token, self.eos_token = template, bos, eos
        self.all_special_tokens = [bos, eos, *specials]
        self.added_tokens_decoder = {}

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        from transformers.utils.chat_template_utils import render_jinja_template

        rendered, _ = render_jinja_template(conversations=[messages], chat_template=self.chat_template,
                                            add_generation_prompt=add_generation_prompt,
                                            bos_token=self.bos_token, eos_token=self.eos_token)
        return rendered[0]

    def convert_ids_to_tokens(self, i):
        return None


def test_llama3_template_translates_with_bos_left_to_llama_cpp():
    tokenizer = FakeTokenizer(LLAMA3, "<|begin_of_text|>", "<|end_of_text|>",
                              ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"])
    shape = chat_shape(tokenizer)
    assert shape.bos == "<|begin_of_text|>" and "begin_of_text" not in shape.go_template()
    assert shape.suffix == "<|eot_id|>" and shape.generation.startswith("<|start_header_id|>assistant")
    assert {"<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>"} <= set(stop_tokens(tokenizer, shape))


def test_a_template_without_a_system_role_is_reported_not_guessed():
    with pytest.raises(TemplateError):
        chat_shape(FakeTokenizer(NO_SYSTEM))


def test_go_template_escapes_braces_in_literals():
    shape = ChatShape(prefix={"system": "{{s}}", "user": "U:", "assistant": "A:"}, suffix="\n", generation="A:")
    assert '{{ "{{" }}s{{ "}}" }}' in shape.go_template()


def test_adapter_modelfile_puts_the_gguf_adapter_on_a_library_tag():
    from core.export.modelfile import modelfile

    shape = ChatShape(prefix={"system": "S:", "user": "U:", "assistant": "A:"}, suffix="\n", generation="A:")
    text = modelfile(None, shape, ["</s>"], "Be brief.", 0.7, 0.9, 512, base_tag="smollm2:135m",
                     adapter="demo-lora-F16.gguf")
    assert text.startswith("FROM smollm2:135m\nADAPTER ./demo-lora-F16.gguf\n")
    assert 'TEMPLATE """' in text and 'SYSTEM """Be brief."""' in text and 'PARAMETER stop "</s>"' in text
    for wrong in ({"gguf_name": "a.gguf", "base_tag": "x:1"}, {"gguf_name": None},
                  {"gguf_name": "a.gguf", "adapter": "b.gguf"}):
        with pytest.raises(ValueError):
            modelfile(shape=shape, stops=[], system_prompt=None, temperature=1, top_p=1, num_ctx=8,
                      **{"gguf_name": None, **wrong})


def test_ollama_tag_names_the_sized_library_model():
    from core.model_tags import ollama_tag
    from services.session_models import ollama_base

    assert ollama_tag("HuggingFaceTB/SmolLM2-135M-Instruct") == "smollm2:135m"
    assert ollama_tag("huggingfacetb/smollm2-1.7b-instruct") == "smollm2:1.7b"
    assert ollama_tag("/models/my-own") is None
    assert ollama_base("/models/my-own", "a=b:1, /models/my-own = mine:7b") == "mine:7b"
    assert ollama_base("Qwen/Qwen3-0.6B", "") == "qwen3:0.6b"
