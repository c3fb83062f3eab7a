"""Options of ``validate`` and ``normalize`` about how a file is read: ``--sheet``,
``--explain-mapping``, ``--save-mapping`` (shared helpers, public names)."""

from __future__ import annotations

import functools

import click


def sheet_value(value: str | None) -> str | int | None:
    """``--sheet``: a sheet name, or its number counted from 1 (``2`` is the second sheet)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit() and int(text) >= 1:
        return _SheetNumber(int(text) - 1, text)
    return text


class _SheetNumber(int):
    """A 0-based sheet index that remembers how it was written, so a sheet named "2" still wins."""

    def __new__(cls, index: int, written: str):
        number = super().__new__(cls, index)
        number.written = written
        return number


def reading_options(fn):
    """``--sheet NAME|N``, ``--explain-mapping`` and ``--save-mapping FILE``."""

    @click.option("--sheet", "sheet", default=None, metavar="NAME|N",
                  help="XLSX: the sheet to read, by name or number (1 = first); "
                       "default: the sheet that looks like the table.")
    @click.option("--explain-mapping", is_flag=True,
                  help="Print, for every column, the field it is read as, why, and the alternatives.")
    @click.option("--save-mapping", "save_mapping", type=click.Path(dir_okay=False), default=None,
                  help="Write the column mapping used to this YAML file (reuse it with --mapping-file).")
    @functools.wraps(fn)
    def wrapper(*args, sheet, explain_mapping, save_mapping, **kwargs):
        return fn(*args, sheet=sheet_value(sheet), explain_mapping=explain_mapping,
                  save_mapping=save_mapping, **kwargs)

    return wrapper


def resolve_sheet(path: str, sheet):
    """A sheet number written as digits is a name when the workbook has a sheet of that name."""
    if not isinstance(sheet, _SheetNumber):
        return sheet
    from pathlib import Path

    if Path(path).suffix.lower() != ".xlsx" or not Path(path).is_file():
        return int(sheet)
    try:
        import openpyxl

        workbook = openpyxl.load_workbook(path, read_only=True)
        names = workbook.sheetnames
        workbook.close()
    except Exception:  # noqa: BLE001 - the reader reports a broken file properly
        return int(sheet)
    return sheet.written if sheet.written in names else int(sheet)


def explain_lines(result, lang: str) -> list[str]:
    """The ``--explain-mapping`` lines: one per column, in file order."""
    mapping = result.mapping
    fr = lang == "fr"
    lines = ["Colonnes → champs :" if fr else "Columns → fields:"]
    explained = getattr(mapping, "explained", None) or {}
    columns = list(explained) or list(mapping.mapping) + list(mapping.unmapped)
    for column in columns:
        choice = explained.get(column)
        if choice is None:
            name = mapping.mapping.get(column)
            why = mapping.method.get(column, "")
            alternatives = ()
        else:
            name, why, alternatives = choice.field, choice.why(lang), choice.alternatives
        target = name or ("(non lue)" if fr else "(not read)")
        line = f"  '{column}' → {target} : {why}" if fr else f"  '{column}' → {target}: {why}"
        if alternatives:
            shown = ", ".join(f"{f} ({round(s)})" for f, s in alternatives)
            line += f" ; autres : {shown}" if fr else f"; alternatives: {shown}"
        lines.append(line)
    return lines


def save_mapping(result, path: str) -> None:
    """Write ``field: Column`` for every column read (``territory`` lists its parts), atomically."""
    import yaml

    from matcher.io.writers import atomic_path

    mapping = result.mapping
    data: dict[str, str | list[str]] = {}
    for column, name in mapping.mapping.items():
        data[name] = column
    parts = getattr(mapping, "place_parts", None) or {}
    if len(parts) > 1 and "territory" in data:
        data["territory"] = list(parts)
    header = ("# coopmatch column mapping (field: column), written by --save-mapping;\n"
              "# read it back with --mapping-file.\n")
    text = header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=False)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
