"""Generation for the Test step: transformers and llama.cpp backends behind one streaming interface, a model
cache bounded by memory, and the worker process that owns both (the web server never loads a model)."""
