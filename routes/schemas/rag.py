"""RAG over a finished rag session's index (routes/rag.py). services/rag.py checks each field and answers with
its path and a hint (``top_k: must be a whole number from 1 to 100``), so they are ``Checked``."""
from __future__ import annotations

from typing import Any

from core.inference.limits import MAX_NEW_TOKENS
from routes.schemas.checked import Checked, documented_required
from routes.schemas.common import Field, In, Out, Text
from services.rag import MAX_DOCUMENT_CHARS, MAX_DOCUMENTS_PER_CALL, MAX_QUERY_CHARS, MAX_TOP_K

Query = Checked(f"The question: 1 to {MAX_QUERY_CHARS} characters.", type="string", minLength=1,
                maxLength=MAX_QUERY_CHARS)
TopK = Checked(f"How many passages to retrieve (1 to {MAX_TOP_K}); left out: the index's top_k.",
               type=["integer", "null"], minimum=1, maximum=MAX_TOP_K)


class RagQuery(In):
    model_config = documented_required("query")
    query: Query = None
    top_k: TopK = None


class RagAsk(RagQuery):
    model_config = documented_required("query")
    model: Checked("The generator: the base model, or the LoRA generator trained with rag.then_sft.",
                   type="string", enum=["base", "trained"]) = "base"
    max_new_tokens: Checked(f"Longest answer in tokens (1 to {MAX_NEW_TOKENS}).", type="integer", minimum=1,
                            maximum=MAX_NEW_TOKENS) = 128


class RagDocuments(In):
    model_config = documented_required("documents")
    documents: Checked(f"1 to {MAX_DOCUMENTS_PER_CALL} texts (or {{text}} objects), each at most "
                       f"{MAX_DOCUMENT_CHARS} characters; they are chunked like the index's own.",
                       type="array", minItems=1, maxItems=MAX_DOCUMENTS_PER_CALL,
                       items={"anyOf": [{"type": "string", "minLength": 1, "maxLength": MAX_DOCUMENT_CHARS},
                                        {"type": "object", "required": ["text"], "properties": {
                                            "text": {"type": "string", "minLength": 1,
                                                     "maxLength": MAX_DOCUMENT_CHARS}}}]}) = None
    source: Text | None = Field(None, description="Where they come from, kept with each chunk (its first 200 "
                                                  "characters); default: added.")


class RagPassage(Out):
    rank: int | None = Field(None, description="1 for the nearest (retrieval only).")
    score: float | None = Field(None, description="Cosine similarity (retrieval only).")
    id: int | None = None
    text: str
    source: Any = None


class RagRetrieved(Out):
    session_id: str
    query: str
    documents: list[RagPassage] = Field(description="The nearest passages, best first.")
    index_size: int = Field(description="Chunks in the index.")


class RagAnswer(Out):
    session_id: str
    query: str
    answer: str
    documents: list[RagPassage] = Field(description="The passages the answer was given.")
    model: str = Field(description="base or trained.")


class RagAdded(Out):
    session_id: str
    added: int = Field(description="Chunks added.")
    documents: list[RagPassage] = Field(description="The new chunks.")
    index_size: int
