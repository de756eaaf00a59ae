"""Accounts (routes/auth.py): registration, sign-in, JWTs, the caller's own account, tokens and secrets.

The account services check every credential field with messages that name the rule (all of a registration's
problems at once, the password rules), so those fields are ``Checked``: documented here, judged there. Sign-in
bounds its fields, since no account can have a longer username or password (and hashing an arbitrarily long
one is work for nothing)."""
from __future__ import annotations

from core.tracking import SECRET_NAMES
from routes.schemas.checked import Checked, documented_required
from routes.schemas.common import Field, In, Out
from services.auth.passwords import MAX_LENGTH as MAX_PASSWORD, MIN_LENGTH as MIN_PASSWORD
from services.auth.principal import SCOPES
from services.auth.tokens import MAX_EXPIRY_DAYS

MAX_USERNAME = 64  # services/auth/users.py USERNAME

Username = Checked("2-64 letters, digits, '_', '.' or '-', starting with a letter or digit.", type="string",
                   minLength=2, maxLength=MAX_USERNAME, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")
NewPassword = Checked(f"{MIN_PASSWORD} to {MAX_PASSWORD} characters, not the username or email.", type="string",
                      minLength=MIN_PASSWORD, maxLength=MAX_PASSWORD)


# -- requests ---------------------------------------------------------------------------------------------------
class AuthRegister(In):
    """A JSON body, or the same fields as a plain form post."""

    model_config = documented_required("username", "email", "password")
    username: Username = None
    email: Checked("An address like name@example.org (at most 254 characters).", type="string",
                   maxLength=254) = None
    password: NewPassword = None
    full_name: Checked("Shown beside the username (at most 200 characters).", type=["string", "null"],
                       maxLength=200) = None


class AuthLogin(In):
    """A JSON body, or the same fields as a plain form post. A missing field is a wrong password (401), like
    today."""

    model_config = documented_required("username", "password")
    username: str | None = Field(None, max_length=MAX_USERNAME)
    password: str | None = Field(None, max_length=MAX_PASSWORD)


class AuthTokenExchange(In):
    """``{username, password}`` for the user's scopes, or ``{token}`` (a personal access token) for that token's
    scopes."""

    username: str | None = Field(None, max_length=MAX_USERNAME)
    password: str | None = Field(None, max_length=MAX_PASSWORD)
    token: str | None = Field(None, max_length=200, description="A personal access token (tw_…) to exchange.")


class AuthPasswordChange(In):
    model_config = documented_required("current_password", "new_password")
    current_password: Checked("The password in use now.", type="string", maxLength=MAX_PASSWORD) = None
    new_password: NewPassword = None


class AuthTokenCreate(In):
    model_config = documented_required("name", "scopes")
    name: Checked("1-100 characters that say where the token is used.", type="string", minLength=1,
                  maxLength=100) = None
    scopes: Checked("The token's scopes: within the caller's own.", type="array", minItems=1,
                    items={"type": "string", "enum": list(SCOPES)}) = None
    expires_in_days: Checked(f"Days until it expires (1 to {MAX_EXPIRY_DAYS}); null or left out: never.",
                             type=["integer", "null"], minimum=1, maximum=MAX_EXPIRY_DAYS) = None


class AuthSecretValue(In):
    model_config = documented_required("value")
    value: Checked("The credential: 1 to 4096 characters on one line (stored encrypted, never shown again).",
                   type="string", minLength=1, maxLength=4096) = None


class AuthAccountDeletion(In):
    model_config = documented_required("confirm")
    confirm: Checked("Your username, typed again.", type="string") = None


# -- answers ----------------------------------------------------------------------------------------------------
class AuthUser(Out):
    id: int
    username: str
    email: str
    full_name: str | None = None
    role: str = Field(description="admin or user.")
    status: str = Field(description="pending (awaits an administrator), active or disabled.")
    must_change_password: bool = Field(description="An administrator set a temporary password.")
    created_at: str
    last_login_at: str | None = None


class AuthLoggedIn(Out):
    user: AuthUser
    csrf_token: str = Field(description="Send it as X-CSRFToken with every request that changes something.")


class AuthJwt(Out):
    access_token: str = Field(description="Send as 'Authorization: Bearer <access_token>'.")
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until it expires.")


class AuthMe(Out):
    user: AuthUser | None = Field(description="None for the studio's access token, which is no account.")
    via: str = Field(description="How the request was authenticated: single, bootstrap, session, pat or jwt.")
    scopes: list[str]


class AuthPasswordChanged(Out):
    ok: bool = True
    csrf_token: str | None = Field(None, description="The browser's new CSRF token (session sign-ins only).")


class AuthToken(Out):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    scopes: list[str]
    created_at: str | None = None
    expires_at: str | None = None
    last_used_at: str | None = None
    revoked: bool


class AuthTokenList(Out):
    tokens: list[AuthToken]


class AuthTokenCreated(AuthToken):
    token: str = Field(description="The secret (tw_…): shown this once, never stored.")


class AuthSecretName(Out):
    name: str = Field(description=f"One of {', '.join(SECRET_NAMES)}.")
    trackers: list[str] = Field(description="The experiment trackers that use it.")


class AuthSecret(AuthSecretName):
    created_at: str
    updated_at: str


class AuthSecretList(Out):
    secrets: list[AuthSecret] = Field(description="The caller's stored secrets (names only, never values).")
    allowed: list[AuthSecretName] = Field(description="The names a secret may have.")

