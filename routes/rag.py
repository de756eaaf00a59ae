"""RAG API (``/api/rag``): retrieve from a session's index, answer with it, add documents to it."""
from flask import Blueprint, jsonify

from routes.request_json import json_body
from services import rag

bp = Blueprint("rag", __name__)


@bp.post("/<session_id>/retrieve")
def retrieve(session_id: str):
    return jsonify(rag.retrieve(session_id, json_body()))


@bp.post("/<session_id>/ask")
def ask(session_id: str):
    return jsonify(rag.ask(session_id, json_body()))


@bp.post("/<session_id>/documents")
def add_documents(session_id: str):
    return jsonify(rag.add_documents(session_id, json_body())), 201
