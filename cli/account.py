"""``tunewright login`` / ``tunewright logout``: sign in once, and let later commands use a stored token.

Login exchanges the password at ``POST /api/auth/token`` for a JWT and uses it once to create a personal access
token (``POST /api/auth/tokens``), which is what gets stored. Why a personal token rather than the JWT: a JWT
lives 30 minutes, shorter than many training runs a command follows and than the days between a script's runs;
a personal token lasts until it expires or is revoked, carries only the scopes asked for, is listed by name on the
Account page (with when it was last used) and can be revoked there alone, without signing out the browser.
The password itself is never stored. Logout revokes that token on the server and deletes it here.
"""
from __future__ import annotations

import argparse
import getpass
import socket
import sys
from datetime import datetime, timezone

from cli import credentials
from cli.api import ApiError, LocalApi, RemoteApi
from cli.common import EXIT_FAILED, EXIT_OK, local_app, print_api_error

DEFAULT_SCOPES = ("read", "train", "export", "deploy")


def _api(server: str | None, **kwargs):
    return RemoteApi(server, **kwargs) if server else LocalApi(local_app(), **kwargs)


def _where(server: str | None) -> str:
    return server.rstrip("/") if server else "this machine's database"


def _password(args: argparse.Namespace, username: str) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return getpass.getpass(f"Password for {username}: ")


def login(args: argparse.Namespace) -> int:
    username = args.username or input("Username: ").strip()
    password = _password(args, username)
    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
    name = args.name or f"tunewright CLI on {socket.gethostname()}"[:100]
    api = _api(args.server, anonymous=True)
    try:
        jwt = api.call("POST", "/auth/token", json={"username": username, "password": password})["access_token"]
        api.use_token(jwt)
        body = {"name": name, "scopes": scopes}
        if args.expires_in_days:
            body["expires_in_days"] = args.expires_in_days
        created = api.call("POST", "/auth/tokens", json=body)
    except ApiError as error:
        if error.status == 404:
            error.message += " (is this studio in single-user mode? It has no accounts: use its access token)"
        print_api_error(error)
        return EXIT_FAILED
    previous = credentials.stored(args.server)
    path = credentials.store(args.server, {
        "token": created["token"], "token_id": created.get("id"), "prefix": created.get("prefix"),
        "username": username, "scopes": created.get("scopes", scopes), "name": name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    if previous and previous.get("token_id") is not None:
        _revoke(args.server, previous, quiet=True)  # the login it replaces
    print(f"Signed in to {_where(args.server)} as {username}: personal access token {created.get('prefix')}… "
          f"({', '.join(created.get('scopes', scopes))}) stored in {path} (readable by you only). "
          f"'tunewright logout' revokes it.", file=sys.stderr)
    return EXIT_OK


def _revoke(server: str | None, entry: dict, quiet: bool = False) -> bool:
    try:
        _api(server, token=entry["token"]).call("DELETE", f"/auth/tokens/{int(entry['token_id'])}")
        return True
    except (ApiError, KeyError, TypeError, ValueError) as error:
        if not quiet:
            message = getattr(error, "message", str(error))
            print(f"warning: could not revoke the token on the server ({message}); it is deleted here. "
                  "Revoke it on the Account page if it may still work.", file=sys.stderr)
        return False


def logout(args: argparse.Namespace) -> int:
    entry = credentials.stored(args.server)
    if entry is None:
        print(f"Not signed in to {_where(args.server)} (nothing stored in {credentials.token_file()}).",
              file=sys.stderr)
        return EXIT_OK
    revoked = _revoke(args.server, entry)
    credentials.forget(args.server)
    print(f"Signed out of {_where(args.server)}: the stored token was "
          f"{'revoked and ' if revoked else ''}deleted.", file=sys.stderr)
    return EXIT_OK


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("login", help="sign in and store a personal access token for later commands",
                                   description="Exchange your password for a personal access token (the password "
                                   "is not stored) and store the token, readable by you only, for later commands "
                                   "to the same server.")
    parser.add_argument("--server", metavar="URL", help="the studio to sign in to (default: this machine's database)")
    parser.add_argument("--username", help="account name (asked when missing)")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input instead of asking")
    parser.add_argument("--scopes", default=",".join(DEFAULT_SCOPES),
                        help="comma-separated scopes of the stored token: read, train, export, deploy, admin "
                             f"(default: {','.join(DEFAULT_SCOPES)})")
    parser.add_argument("--name", help="the token's name on the Account page (default: tunewright CLI on <host>)")
    parser.add_argument("--expires-in-days", type=int, help="let the token expire (default: never)")
    parser.set_defaults(handler=login)

    parser = subparsers.add_parser("logout", help="revoke and delete the token stored by 'tunewright login'")
    parser.add_argument("--server", metavar="URL", help="the studio to sign out of (default: this machine's database)")
    parser.set_defaults(handler=logout)
