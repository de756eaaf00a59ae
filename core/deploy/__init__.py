"""Serving deployed models (no Flask): the llama.cpp server child (gguf_server.py) and the OpenAI wire format."""
