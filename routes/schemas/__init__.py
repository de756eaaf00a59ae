"""Pydantic models of the JSON API's request bodies, query strings and responses, one module per area.

They are the contract (routes/contract.py turns them into the OpenAPI document) and the first check of every
request: ``@api.validate(json=...)`` refuses a body that does not fit with a 400 before the view runs. Services
still check meaning (does the dataset exist, is it yours). Responses allow extra keys (``Out``), so adding a field
is not a breaking change; requests ignore unknown keys unless a model says ``extra="forbid"``."""
