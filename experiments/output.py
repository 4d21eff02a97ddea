"""Writing results: atomically (never a half-written file), as JSON, CSV or Parquet."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

from agora.market.errors import InputError

TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json"}


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a fresh name, not a file: the writer creates it, with the usual permissions
    tmp = str(path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_png(fig, path: str | Path, **savefig) -> Path:
    """Write a matplotlib figure to ``path`` as PNG, atomically (:func:`atomic_path`), and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", **savefig)
    plt.close(fig)
    return Path(path)


#: Each figure of a report is written in these formats: PNG for viewing, SVG and PDF for papers.
FIGURE_FORMATS = ("png", "svg", "pdf")
#: No creation date in SVG and PDF files, so that the same figure gives the same bytes.
UNDATED = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}


def save_figure(fig, stem: str | Path, dpi: int = 300) -> list[Path]:
    """Write a matplotlib figure as ``stem.png``, ``stem.svg`` and ``stem.pdf``, each atomically, and close it."""
    import matplotlib.pyplot as plt

    paths = []
    for fmt in FIGURE_FORMATS:
        path = Path(f"{stem}.{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=UNDATED.get(fmt))
        paths.append(path)
    plt.close(fig)
    return paths


def _checked_path(path: str | Path, option: str) -> Path:
    """``path`` as a Path; InputError if it holds a NUL character, which no file name can."""
    if "\0" in str(path):
        raise InputError(f"{option} '{path}' holds a NUL character; accepted: a path without one")
    return Path(path)


def _nearest_existing(path: Path, option: str) -> Path:
    """The deepest existing ancestor of ``path``; InputError if that ancestor is not a folder."""
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{option} '{path}' lies inside '{parent}', which is a file; "
                                 "accepted: a path whose parent folders are folders")
            return parent
    return Path(path.absolute().anchor)


def _require_writable(folder: Path, path: Path, option: str) -> None:
    """InputError unless a file can be created in ``folder`` (tried, then removed at once)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".agora-write-check-", dir=folder)
    except OSError as err:
        raise InputError(f"{option} '{path}': cannot write in '{folder}' ({err.strerror}); "
                         "accepted: a path in a folder you can write") from None
    os.close(fd)
    os.remove(probe)


def check_out_file(path: str | Path, option: str = "--out") -> Path:
    """Check, before any work, that a file can be written at ``path`` (its missing folders are made later).

    Refused in one line: a path inside a file, in a folder that cannot be written, or naming a folder.
    """
    path = _checked_path(path, option)
    if path.is_dir():
        raise InputError(f"{option} '{path}' is a folder; accepted: a file name")
    if path.exists():
        _require_writable(path.parent, path, option)
        if not os.access(path, os.W_OK):
            raise InputError(f"{option} '{path}' is a file that cannot be overwritten; accepted: a writable path")
        return path
    _require_writable(_nearest_existing(path, option), path, option)
    return path


def check_out_dir(path: str | Path, option: str = "--out") -> Path:
    """Check, before any work, that ``path`` is (or can be made) a folder this process can write in."""
    path = _checked_path(path, option)
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{option} '{path}' is a file; accepted: a folder (new or existing)")
        _require_writable(path, path, option)
        return path
    _require_writable(_nearest_existing(path, option), path, option)
    return path


def write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)
    return Path(path)


def json_ready(obj):
    """Replace non-finite floats by None (strict JSON has no inf or nan)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    return obj


def dumps(obj) -> str:
    return json.dumps(json_ready(obj), indent=2, allow_nan=False, default=float)


def table_format(path: str | Path) -> str:
    """The table format a file name asks for; InputError for an unknown suffix."""
    fmt = TABLE_FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(f"cannot write a table to '{path}': use a name ending in "
                         f"{', '.join(TABLE_FORMATS)}")
    return fmt


def write_table(df, path: str | Path) -> Path:
    """Write a DataFrame as CSV, Parquet or JSON (records; numbers to 15 decimal places, pandas' most)
    by the file's suffix, atomically."""
    fmt = table_format(path)
    with atomic_path(path) as tmp:
        if fmt == "csv":
            df.to_csv(tmp, index=False)
        elif fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_json(tmp, orient="records", indent=1, double_precision=15)
    return Path(path)


@contextmanager
def staging_dir(out: str | Path):
    """Yield a fresh folder beside ``out``; on success move every file in it into ``out``.

    A run that fails leaves ``out`` as it was: no half-written reports.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield stage
        out.mkdir(parents=True, exist_ok=True)
        for item in stage.iterdir():
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def progress(iterable, total: int, desc: str, unit: str = "it"):
    """A progress bar on a terminal (done, rate, time left); silent when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=not sys.stderr.isatty(), unit=unit, leave=False)
