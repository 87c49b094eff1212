#!/usr/bin/env python3
"""Dumps every cell of every sheet of an .xlsx file as JSON, read by openpyxl (pinned in
scripts/setup), so the tests check orderflow's workbooks with a reader that is not ours.

    scripts/xlsx-dump.py FILE.xlsx > cells.json

{"sheets": [{"name", "freeze", "autofilter", "rows": [[{"v", "t", "f", "b"}, ...], ...]}]}:
v the value (a string with Excel's _xHHHH_ escapes decoded, a datetime as ISO 8601 with milliseconds, as openpyxl reads it: wall-clock time, no
zone), t openpyxl's data_type ('s' text, 'n' number, 'b' boolean, 'd' date, 'f' formula), f the
number format, b whether the font is bold. Numbers are JSON numbers with Python's shortest
round-trip text of the stored double.
"""
import datetime
import json
import re
import sys

import openpyxl


# ECMA-376 (ST_Xstring) writes characters XML cannot carry, such as CR, as _xHHHH_ (and a literal
# "_xHHHH_" with its underscore as _x005F_); Excel decodes them, openpyxl leaves inline strings as is.
ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def cell(c):
    v = c.value
    if isinstance(v, str):
        v = ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), v)
    elif isinstance(v, datetime.datetime):
        v = v.isoformat(timespec="milliseconds")
    elif isinstance(v, (datetime.date, datetime.time)):
        v = v.isoformat()
    return {"v": v, "t": c.data_type, "f": c.number_format, "b": bool(c.font and c.font.b)}


def main(path):
    # Not read_only: frozen panes and the autofilter are read only by the full reader.
    wb = openpyxl.load_workbook(path)
    sheets = []
    for ws in wb.worksheets:
        rows = [[cell(c) for c in row] for row in ws.iter_rows()]
        sheets.append({"name": ws.title, "freeze": ws.freeze_panes, "autofilter": ws.auto_filter.ref, "rows": rows})
    json.dump({"openpyxl": openpyxl.__version__, "sheets": sheets}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
