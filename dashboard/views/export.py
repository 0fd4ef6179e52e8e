"""Tables as files: CSV (UTF-8 with a BOM, so Excel on a Chinese Windows opens it right)
and Excel (openpyxl). Pure: columns and rows in, text or bytes out."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

Columns = list[tuple[str, str]]  # (field, header)


def csv_text(columns: Columns, rows: list[dict]) -> str:
    return "".join(csv_chunks(columns, rows))


def csv_chunks(columns: Columns, rows: Iterable[dict], every: int = 1000) -> Iterator[str]:
    """The CSV a piece at a time (the BOM and the header first, then `every` rows per
    piece): a long export is streamed, never held whole."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    buf.write("\ufeff")
    w.writerow([h for _, h in columns])
    for i, r in enumerate(rows, 1):
        w.writerow(["" if r.get(k) is None else r.get(k) for k, _ in columns])
        if i % every == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def xlsx_bytes(columns: Columns, rows: list[dict], title: str) -> bytes:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "gridwatch"
    ws.append([title])
    ws.append([h for _, h in columns])
    for r in rows:
        ws.append([r.get(k) for k, _ in columns])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
