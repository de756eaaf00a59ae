"""RAG API (``/api/rag``): retrieve from a session's index, answer with it, add documents to it."""
from flask import Blueprint, jsonify

from routes.contract import Responses, api
from routes.request_json import json_body
from routes.schemas.rag import RagAdded, RagAnswer, RagAsk, RagDocuments, RagQuery, RagRetrieved
from services import rag

bp = Blueprint("rag", __name__)


@bp.post("/<session_id>/retrieve")
@api.validate(json=RagQuery, resp=Responses(HTTP_200=RagRetrieved), tags=["rag"])
def retrieve(session_id: str):
    """The passages of a rag session's index nearest to a question."""
    return jsonify(rag.retrieve(session_id, json_body()))


@bp.post("/<session_id>/ask")
@api.validate(json=RagAsk, resp=Responses(HTTP_200=RagAnswer), tags=["rag"])
def ask(session_id: str):
    """Answer a question from the passages retrieved for it (the base model or the trained generator)."""
    return jsonify(rag.ask(session_id, json_body()))


@bp.post("/<session_id>/documents")
@api.validate(json=RagDocuments, resp=Responses(HTTP_201=RagAdded), tags=["rag"])
def add_documents(session_id: str):
    """Add documents to a finished rag session's index (chunked and embedded; the index is not rebuilt)."""
    return jsonify(rag.add_documents(session_id, json_body())), 201
