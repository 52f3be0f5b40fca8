"""finAPI's own generated V1 Python client (PyPI `finapi` 0.9.9, 2019), unmodified, against `serve`.

It sends the token parameters in the URL query with `Content-Type: application/json` and an
empty body, and it deserializes every answer into its models (a required field that is missing,
or an enum value it does not know, raises). Each call is one line of the result; the exit code
is the number of calls that failed (0 = all fine).

    python finapi_client.py            # starts its own serve process
    python finapi_client.py --url URL  # against a running one (demo world)
"""

import argparse
import json
import sys
import traceback

import finapi
from finapi.rest import ApiException

from serve import V1_APP_CLIENT, V1_USER, log, served


def client(base, token=None):
    config = finapi.Configuration()
    config.host = base
    if token:
        config.access_token = token
    return finapi.ApiClient(config)


def run(base):
    results = []

    def step(name, fn):
        try:
            value = fn()
            results.append({"call": name, "ok": True})
            log(f"ok    {name}")
            return value
        except ApiException as e:
            body = (e.body or b"")
            body = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
            results.append({"call": name, "ok": False, "status": e.status, "error": body[:300]})
            log(f"FAIL  {name}: HTTP {e.status} {body[:200]}")
        except Exception as e:  # deserialization and validation errors of the client models
            results.append({"call": name, "ok": False, "error": f"{type(e).__name__}: {e}"[:300]})
            log(f"FAIL  {name}: {type(e).__name__}: {e}")
            log(traceback.format_exc(limit=2))
        return None

    anon = finapi.AuthorizationApi(client(base))
    app_id, app_secret = V1_APP_CLIENT
    ctoken = step(
        "getToken client_credentials",
        lambda: anon.get_token("client_credentials", app_id, app_secret),
    )
    if ctoken is not None:
        capi = client(base, ctoken.access_token)
        step("getAndSearchAllBanks", lambda: finapi.BanksApi(capi).get_and_search_all_banks())
        # The client checks the path id with re.search, so it takes the id as text.
        step("getBank 280001", lambda: finapi.BanksApi(capi).get_bank("280001"))
        step(
            "getClientConfiguration",
            lambda: finapi.ClientConfigurationApi(capi).get_client_configuration(),
        )
        # The client's own patterns for password, email and phone cannot match any text (a
        # `]` closes their character class early), so only the id is sent and the server
        # makes up the password, which it returns.
        created = step(
            "createUser",
            lambda: finapi.UsersApi(capi).create_user(
                finapi.UserCreateParams(id="integrator-py-1", is_auto_update_enabled=False)
            ),
        )
        if created is not None:
            # The V1 demo client does not verify users automatically.
            step("verifyUser", lambda: finapi.UsersApi(capi).verify_user(created.id))
            step(
                "getToken password (created user)",
                lambda: anon.get_token(
                    "password",
                    app_id,
                    app_secret,
                    username=created.id,
                    password=created.password,
                ),
            )
    user, password = V1_USER
    utoken = step(
        "getToken password",
        lambda: anon.get_token(
            "password", app_id, app_secret, username=user, password=password
        ),
    )
    if utoken is not None:
        uapi = client(base, utoken.access_token)
        step("getAuthorizedUser", lambda: finapi.UsersApi(uapi).get_authorized_user())
        step(
            "getAndSearchAllAccounts",
            lambda: finapi.AccountsApi(uapi).get_and_search_all_accounts(),
        )
        step(
            "getAllBankConnections",
            lambda: finapi.BankConnectionsApi(uapi).get_all_bank_connections(),
        )
        step(
            "getAndSearchAllTransactions userView",
            lambda: finapi.TransactionsApi(uapi).get_and_search_all_transactions(
                "userView", page=1, per_page=20
            ),
        )
        step("getAndSearchAllCategories", lambda: finapi.CategoriesApi(uapi).get_and_search_all_categories())
        step(
            "getToken refresh_token",
            lambda: anon.get_token(
                "refresh_token", app_id, app_secret, refresh_token=utoken.refresh_token
            ),
        )
        if ctoken is not None:
            step(
                "revokeToken (user access token, hint access_token)",
                lambda: finapi.AuthorizationApi(client(base, ctoken.access_token)).revoke_token(
                    utoken.access_token, token_type_hint="access_token"
                ),
            )
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="base URL of a running serve (default: start one)")
    parser.add_argument("--json", help="write the per-call results here")
    args = parser.parse_args()
    if args.url:
        results = run(args.url)
    else:
        with served() as base:
            results = run(base)
    failed = [r for r in results if not r["ok"]]
    print(f"finapi 0.9.9 client: {len(results) - len(failed)} of {len(results)} calls OK")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return len(failed)


if __name__ == "__main__":
    sys.exit(main())
