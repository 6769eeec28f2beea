"""Command line for the data registry.

    python -m mirec.data list [--data_dir DIR]
    python -m mirec.data download NAME [--data_dir DIR] [--force]
    python -m mirec.data info NAME [--data_dir DIR]
    python -m mirec.data encode-text NAME [--data_dir DIR] [--encoder bert-base|minilm|tiny]
        [--weights PATH] [--out FILE] [--batch_size N] [--max_length N] [--word_drop P]
        [--seed S] [--from_unisrec FILE.feat1CLS [--dim 768]]

Each subcommand is a ``_cmd_*`` function registered in :func:`build_parser`; new subcommands
(e.g. ``encode-text``) add their own ``_add_*`` helper there.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from mirec.data import download as download_mod
from mirec.data import registry
from mirec.data.errors import DataFormatError, DatasetNotAvailableError
from mirec.data.types import RATING, TIMESTAMP


def _cmd_list(args: argparse.Namespace) -> int:
    names = registry.list_datasets()
    root = args.data_dir or download_mod.cache_dir()
    print(f"data root: {root}")
    width = max(len(n) for n in names) if names else 10
    print(f"{'name':<{width}}  {'status':<10}  licence")
    for name in names:
        desc = registry.get_descriptor(name)
        status = registry.dataset_status(name, args.data_dir)
        state = status["state"] if status["present"] else "missing"
        if desc.get("login_required") and not status["present"]:
            state = "login"
        summary = desc["license"]["summary"].split(":")[0].split(";")[0]
        print(f"{name:<{width}}  {state:<10}  {summary[:70]}")
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    folder = download_mod.download(args.name, data_dir=args.data_dir, force=args.force)
    print(f"{args.name}: files in {folder}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    desc = registry.get_descriptor(args.name)
    print(f"{desc['name']}: {desc['description']}")
    print(f"home: {desc['homepage']}")
    print(f"licence: {desc['license']['summary']} ({desc['license']['url']})")
    status = registry.dataset_status(args.name, args.data_dir)
    if not status["present"]:
        print(registry.not_available_message(desc, args.data_dir))
        return 1
    print(f"folder: {status['folder']} ({status['state']})")
    data = registry.load(args.name, data_dir=args.data_dir)
    summary = data.summary()
    df = data.interactions
    print(f"interactions: {summary['interactions']:,}  users: {summary['users']:,}  "
          f"items: {summary['items']:,}")
    if len(df):
        lengths = df.groupby("user").size()
        print(f"sequence length: min {lengths.min()}, median {lengths.median():g}, "
              f"max {lengths.max()}")
        print(f"timestamp range: {df[TIMESTAMP].min()} .. {df[TIMESTAMP].max()}")
    if RATING in df.columns:
        known = int(df[RATING].notna().sum())
        print(f"ratings known: {known:,} of {len(df):,}")
    extra = [c for c in df.columns if c not in ("user", "item", TIMESTAMP, RATING)]
    if extra:
        print(f"extra columns: {', '.join(extra)}")
    for label, table in (("user features", data.user_features),
                         ("item features", data.item_features)):
        if table is not None:
            print(f"{label}: {len(table):,} rows, columns {', '.join(map(str, table.columns))}")
    expected = desc.get("expected_counts")
    if expected:
        ok = all(summary[k] == v for k, v in expected.items())
        print(f"expected counts {expected}: {'match' if ok else 'DIFFER'}")
    return 0


def _cmd_encode_text(args: argparse.Namespace) -> int:
    from mirec.data import text  # local: encoders load heavy libraries

    if args.from_unisrec:
        if not os.path.isfile(args.from_unisrec):
            print(f"error: {args.from_unisrec} not found", file=sys.stderr)
            return 2
        ids, _, folder, name = text.dataset_item_texts(args.name, args.data_dir)
        out = args.out or text.default_output_path(folder, name, "bert-base", args.word_drop)
        path = text.convert_unisrec_features(args.from_unisrec, out, dim=args.dim,
                                             expected_ids=ids)
        print(f"{args.name}: converted {args.from_unisrec} -> {path}")
        return 0
    if args.skip_existing:
        _, _, folder, name = text.dataset_item_texts(args.name, args.data_dir)
        out = args.out or text.default_output_path(folder, name, args.encoder, args.word_drop)
        if os.path.isfile(out):
            print(f"{args.name}: {out} exists; not re-encoding (--skip_existing)")
            return 0
    try:
        res = text.encode_dataset_text(
            args.name, args.data_dir, encoder=args.encoder, weights=args.weights, out=args.out,
            batch_size=args.batch_size, max_length=args.max_length, word_drop=args.word_drop,
            seed=args.seed)
    except (text.EncoderWeightsNotFoundError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.name}: {res['rows']} items x {res['dim']} ({args.encoder}) in "
          f"{res['seconds']:.1f} s -> {res['path']}")
    return 0


def _add_encode_text(sub) -> None:
    p = sub.add_parser("encode-text", help="encode item text into a features .npz "
                       "(config.dataset.text_features)")
    p.add_argument("name")
    _add_data_dir(p)
    p.add_argument("--encoder", default="minilm", choices=("bert-base", "minilm", "tiny"),
                   help="bert-base: BERT [CLS] (paper; needs --weights); minilm: "
                        "all-MiniLM-L6-v2 (PyTorch, offline); tiny: random test encoder")
    p.add_argument("--weights", default=None,
                   help="encoder weights folder (bert-base: HuggingFace bert-base-uncased or "
                        "TF-Hub SavedModel; minilm: a sentence-transformers folder)")
    p.add_argument("--out", default=None,
                   help="output .npz (default: <data set folder>/<Name>.<encoder>.npz)")
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--max_length", type=int, default=None,
                   help="word pieces per text (default: bert-base 512, minilm 256, tiny 128)")
    p.add_argument("--word_drop", type=float, default=0.0,
                   help="drop each word with this probability first (UniSRec's .feat2CLS "
                        "augmentation uses 0.15)")
    p.add_argument("--seed", type=int, default=0, help="seed of --word_drop")
    p.add_argument("--skip_existing", action="store_true",
                   help="do nothing when the output file already exists")
    p.add_argument("--from_unisrec", default=None,
                   help="convert UniSRec's released <Name>.feat1CLS instead of encoding")
    p.add_argument("--dim", type=int, default=768, help="row width of --from_unisrec")
    p.set_defaults(func=_cmd_encode_text)


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data_dir", default=None,
                        help="data root or data set folder (default: $MIREC_DATA or "
                             "~/.cache/mirec)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mirec.data",
                                     description="mirec data sets: list, download, inspect, "
                                                 "encode item text.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log reader messages")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="data sets with their local status and licence")
    _add_data_dir(p)
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("download", help="download (and verify) a data set")
    p.add_argument("name")
    _add_data_dir(p)
    p.add_argument("--force", action="store_true", help="download even if present")
    p.set_defaults(func=_cmd_download)

    p = sub.add_parser("info", help="read a data set and print summary counts")
    p.add_argument("name")
    _add_data_dir(p)
    p.set_defaults(func=_cmd_info)

    _add_encode_text(sub)
    # --- further subcommands register here ---
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (DatasetNotAvailableError, DataFormatError, KeyError,
            download_mod.ChecksumMismatchError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
