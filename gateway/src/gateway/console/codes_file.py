"""The console's upload of voucher codes: a CSV file of `code,pin` lines (the pin may be left out; a first line
`code,pin` is taken as a header). Every line is checked before anything is stored, and every bad line is named:
an empty line or code, a code or PIN too long, a code the file already had, a line of more than two fields.
The messages name lines, never a code (codes are secrets)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from gateway.schemas import MAX_CODE_LENGTH, MAX_CODES_PER_UPLOAD, CodeInput

# Enough to fix a file without a wall of messages.
MAX_REPORTED_ERRORS = 20
HEADERS = (("code",), ("code", "pin"))


@dataclass
class CodesFile:
    codes: list[CodeInput] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def shown_errors(self) -> list[str]:
        """The first errors, and how many more there are."""
        shown = self.errors[:MAX_REPORTED_ERRORS]
        if len(self.errors) > MAX_REPORTED_ERRORS:
            shown.append(f"and {len(self.errors) - MAX_REPORTED_ERRORS} more lines with errors")
        return shown


def read_codes(data: bytes, max_bytes: int) -> CodesFile:
    """The codes of a file, or its errors (then no code: nothing of a bad file is to be stored)."""
    result = CodesFile()
    if len(data) > max_bytes:
        result.errors.append(f"the file is larger than {max_bytes} bytes: split it")
        return result
    try:
        text = data.decode("utf-8-sig")  # spreadsheets often write a byte-order mark
    except UnicodeDecodeError as exc:
        result.errors.append(f"the file is not UTF-8 text (byte {exc.start})")
        return result
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    first_line_of: dict[str, int] = {}
    end = 0
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if start == 1 and tuple(f.strip().lower() for f in row) in HEADERS:
                continue
            _check(row, start, first_line_of, result)
    except csv.Error as exc:
        result.errors.append(f"line {end + 1}: malformed CSV ({exc})")
    if not result.errors and not result.codes:
        result.errors.append("the file has no codes: one code a line, code,pin")
    if len(result.codes) > MAX_CODES_PER_UPLOAD:
        result.errors.append(f"the file has {len(result.codes)} codes: at most {MAX_CODES_PER_UPLOAD} per upload")
    if result.errors:
        result.codes = []
    return result


def _check(row: list[str], line: int, first_line_of: dict[str, int], result: CodesFile) -> None:
    if not any(f.strip() for f in row):
        result.errors.append(f"line {line}: empty line")
        return
    if len(row) > 2:
        result.errors.append(f"line {line}: {len(row)} fields, expected code,pin")
        return
    code, pin = row[0].strip(), (row[1].strip() if len(row) == 2 else "")
    if not code:
        result.errors.append(f"line {line}: the code is empty")
        return
    if len(code) > MAX_CODE_LENGTH:
        result.errors.append(f"line {line}: the code is too long ({len(code)} characters, at most "
                             f"{MAX_CODE_LENGTH})")
        return
    if len(pin) > MAX_CODE_LENGTH:
        result.errors.append(f"line {line}: the PIN is too long ({len(pin)} characters, at most {MAX_CODE_LENGTH})")
        return
    if code in first_line_of:
        result.errors.append(f"line {line}: the same code as line {first_line_of[code]}")
        return
    first_line_of[code] = line
    result.codes.append(CodeInput(code=code, pin=pin or None))
