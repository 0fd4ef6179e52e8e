"""Tables as files: CSV (UTF-8 with a BOM, so Excel on a Chinese Windows opens it right)
and Excel (openpyxl). Pure: columns and rows in, text or bytes out."""
from __future__ import annotations

import csv
import io

Columns = list[tuple[str, str]]  # (field, header)


def csv_text(columns: Columns, rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([h for _, h in columns])
    for r in rows:
        w.writerow(["" if r.get(k) is None else r.get(k) for k, _ in columns])
    return "\ufeff" + buf.getvalue()


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
