"""Command line for API keys: ``python -m twin.api.keys create --store URL --name NAME --scopes read,run``."""

from __future__ import annotations

import argparse
import sys

from twin.api.auth import SCOPES, create_api_key
from twin.api.validators import first_non_text
from twin.errors import TwinError
from twin.store import open_store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twin.api.keys", description=__doc__)
    parser.add_argument("--store", required=True, help="store URL, e.g. duckdb:///var/twin.duckdb")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", default="read", help=f"comma-separated subset of {','.join(SCOPES)}")
    sub.add_parser("list", help="list keys (ids, names, scopes; never secrets)")
    revoke = sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    args = parser.parse_args(argv)
    try:
        with open_store(args.store) as store:
            if args.command == "create":
                sys.stdout.write(create_api_key(store, args.name, args.scopes.split(",")) + "\n")
            elif args.command == "list":
                for k in store.list_api_keys():
                    state = "revoked" if k.revoked else "active"
                    # a name stored before create_api_key checked it cannot forge lines or colour the terminal
                    name = k.name if first_non_text(k.name) is None else repr(k.name)
                    sys.stdout.write(f"{k.key_id}\t{name}\t{','.join(sorted(k.scopes))}\t{state}\n")
            else:
                store.revoke_api_key(args.key_id)
    except TwinError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
