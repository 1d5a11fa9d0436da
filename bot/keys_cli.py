"""`coregroup keys`: make a key-encryption key, see which KEK wraps the data keys, rotate it.

A rotation re-wraps each data key under the new KEK in its own transaction; values are never
re-encrypted, so running bots keep working, and an interrupted rotation is finished by running
it again. Procedure (docs/data-protection.md): give every instance the new key as DATA_KEY and
the old one as DATA_KEY_PREVIOUS, run `coregroup keys rotate --new-key-file NEW`, then remove
DATA_KEY_PREVIOUS.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import Subparsers, UsageError, _add_command, _database, _out
from bot.config import load_settings


def add_keys(subparsers: Subparsers) -> None:
    """Add `coregroup keys new|status|rotate`."""
    keys = _add_command(
        subparsers, "keys", None, summary="The keys that seal case text at rest (DATA_KEY)."
    )
    actions = keys.add_subparsers(title="keys commands", metavar="KEYS_COMMAND")
    new = _add_command(
        actions,
        "new",
        cmd_keys_new,
        summary="Write a new random key-encryption key to a file (mode 0600).",
        epilog="Example: coregroup keys new --out /etc/coregroup/data-key",
    )
    new.add_argument("--out", required=True, type=Path, metavar="FILE", help="file to create")
    _add_command(
        actions,
        "status",
        cmd_keys_status,
        summary="Show how many data keys each KEK wraps, and whether DATA_KEY opens them.",
    )
    rotate = _add_command(
        actions,
        "rotate",
        cmd_keys_rotate,
        summary="Re-wrap every data key under a new KEK, without downtime; run again to resume.",
        epilog=(
            "The current KEK (DATA_KEY) and DATA_KEY_PREVIOUS open the keys. Example: "
            "coregroup keys rotate --new-key-file /etc/coregroup/data-key.new"
        ),
    )
    rotate.add_argument(
        "--new-key-file", required=True, type=Path, metavar="FILE", help="the new KEK"
    )
    rotate.add_argument(
        "--new-data-key",
        action="store_true",
        help="also start a new generation of the shared data key (cases keep their own keys)",
    )


def cmd_keys_new(args: argparse.Namespace) -> int:
    """Write a fresh key file."""
    from bot.data_keys import write_key_file

    try:
        write_key_file(args.out)
    except FileExistsError:
        raise UsageError(f"{args.out} exists already; choose a new file name") from None
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
    _out(f"Wrote a new key to {args.out} (readable by you only). Keep it apart from backups.")
    return 0


def cmd_keys_status(args: argparse.Namespace) -> int:
    """Print the data keys per KEK fingerprint, marking the configured ones."""
    from storage.db import check_schema
    from storage.keys import kek_counts, keys_of

    settings = load_settings()
    with _database(settings) as engine:
        check_schema(engine)
        keys = keys_of(engine.dialect)
        assert keys.keks is not None
        given = keys.keks.by_id()
        for kek_id, count in sorted(kek_counts(engine).items()):
            mark = (
                " (DATA_KEY)"
                if kek_id == keys.keks.current_id
                else " (DATA_KEY_PREVIOUS)"
                if kek_id in given
                else " (not configured)"
            )
            _out(f"KEK {kek_id}{mark}: {count} data key(s)")
        opened = keys.check()
    _out(f"The configured keys open all {opened} data key(s).")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Re-wrap the data keys under the KEK in --new-key-file, one by one."""
    from storage.crypto import BadKey, KeyEncryptionKeys, read_key_file
    from storage.db import check_schema
    from storage.keys import add_data_key, keys_of, rotate

    try:
        new_kek = read_key_file(args.new_key_file, name="--new-key-file")
    except BadKey as exc:
        raise UsageError(str(exc)) from None
    settings = load_settings()
    with _database(settings) as engine:
        check_schema(engine)
        keks = keys_of(engine.dialect).keks
        assert keks is not None
        done = rotate(
            engine, keks, new_kek, after_each=lambda key_id: _out(f"Re-wrapped data key {key_id}.")
        )
        _out(
            f"Every data key is now wrapped by the new KEK ({done.rewrapped} re-wrapped now, "
            f"{done.already} already were). Set DATA_KEY_FILE={args.new_key_file} on every "
            "instance and remove DATA_KEY_PREVIOUS."
        )
        if args.new_data_key:
            with engine.begin() as conn:
                key_id = add_data_key(conn, KeyEncryptionKeys(new_kek))
            _out(
                f"Processes started from now on seal new values of no case with data key {key_id}."
            )
    return 0
