"""Which scope each endpoint needs, in one table, applied by one hook (services/security.py).

Reading (GET) needs ``read``; changing things needs ``train``, unless listed below. ``tests/test_auth_scopes.py``
walks the URL map, so a new endpoint is classified by these rules the moment it exists.
"""
from __future__ import annotations

from services.errors import NotFoundError
from services.security import SAFE_METHODS

ACCOUNTS_OFF = ("Accounts are off (TUNEWRIGHT_AUTH=single): this studio has one user and no sign-in. Start it "
                "with TUNEWRIGHT_AUTH=accounts to share it with accounts.")

# Reachable without signing in: pages and endpoints that sign in, and static files.
PUBLIC_ENDPOINTS = frozenset({
    "static", "security.login", "auth_pages.login", "auth_pages.register",
    "auth.register", "auth.login", "auth.token",
    "api_docs.document", "api_docs.page",  # the API's contract holds no data (routes/api_docs.py)
})
# Signed in is enough (the caller's own account): also allowed while a password change is due.
ACCOUNT_ENDPOINTS = frozenset({
    "auth.logout", "auth.me", "auth.password", "auth_pages.account", "auth_pages.logout",
})
BLUEPRINT_SCOPES = {"admin": "admin", "admin_pages": "admin", "exports": "export"}
ENDPOINT_SCOPES = {
    "sessions.deploy": "deploy",
    "api_v1_jobs.deploy": "deploy",
    "api_v1_jobs.download": "export",
    "registry.download": "export",
    # Deploying starts a server process; using a deployed model (/v1) is reading it: read or deploy will do.
    "deploy.deploy": "deploy",
    "deploy.undeploy": "deploy",
    "openai_v1.models": ("read", "deploy"),
    "openai_v1.chat_completions": ("read", "deploy"),
    "exports.list_": "read",
    "exports.detail": "read",
    "exports.formats": "read",
    # Checking and previewing a project body store nothing: reading.
    "projects.check": "read",
    "projects.preview_body": "read",
    # Account self-service: what a token may grant is capped by the caller's own scopes (services/auth/tokens).
    "auth.tokens": None,
    "auth.create_token": None,
    "auth.revoke_token": None,
    # Deleting the account deletes all its data: no less than deleting one dataset needs.
    "auth.delete_account": "train",
    # The Output Directory Base is the whole studio's: changing it is an administrator's. Testing whether the
    # current base is writable only reads (the probe file is removed); testing another path is admin-only, which
    # the service checks because the body decides it.
    "settings.update": "admin",
    "settings.test_writable": "read",
}


def required_scope(endpoint: str | None, method: str) -> str | tuple[str, ...] | None:
    """The scope a request needs (None: only being signed in; a tuple: any one of them)."""
    endpoint = endpoint or ""
    if endpoint in PUBLIC_ENDPOINTS or endpoint in ACCOUNT_ENDPOINTS:
        return None
    if endpoint in ENDPOINT_SCOPES:
        return ENDPOINT_SCOPES[endpoint]
    blueprint = endpoint.rpartition(".")[0]
    if blueprint in BLUEPRINT_SCOPES:
        return BLUEPRINT_SCOPES[blueprint]
    return "read" if method in SAFE_METHODS else "train"


def require_accounts() -> None:
    """The account and admin endpoints exist only in accounts mode: a 404 that says why elsewhere."""
    from services.auth.mode import accounts_enabled

    if not accounts_enabled():
        raise NotFoundError(ACCOUNTS_OFF)
