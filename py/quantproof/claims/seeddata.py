"""Seed figures taken from the seed's own text, never retyped.

A measurement link can bind parameters to figures of its seed:

* ``seed_values: {name: FRAGMENT}``: FRAGMENT is a verbatim piece of the seed (whitespace-normalised) holding one
  number, or marking the number it means as ``{{0.21}}`` when it holds several (``"from {{0.21}} MB to 0.02 MB"``).
  The number is substituted for ``name`` in an ``arith`` expression (as the exact decimal it is written as), or set
  as the float parameter ``name``.
* A restatement may quote its source: ``seed_values: {name: {seed: 000_….txt, quote: FRAGMENT}}`` and
  ``seed_table: {seed: 000_….txt, rows: …}`` bind figures from another seed, checked against that seed's text.
* ``seed_table: {rows: [ROW, ...], columns: {param: N}}``: each ROW is a table row quoted verbatim from the seed
  (``| 0.10 | 0.9972 | 0.9979 | 0.0024 | 0.134 |``); cell N (1-based, split on ``|``) of every row must hold exactly
  one number, and the list of those numbers becomes the list parameter ``param``.

Policy: a fragment or row that is not in the seed, a cell or fragment without exactly one number, an ``arith``
expression that does not use a bound name, or a bound name the measurement does not take is an input error
(``quantproof check`` reports it as ``file:line: field: message``). Pure functions; the caller reads the seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .model import MeasurementLink

NUMBER = re.compile(r"(?<![0-9.])[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?(?![0-9])")
MARK = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SeedDataError(ValueError):
    """A seed binding that does not resolve; ``field`` names the claims.yaml field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Bound:
    """One figure taken from the seed: where it was quoted and the number as written."""

    name: str
    quote: str
    text: str  # the number exactly as written in the seed

    @property
    def value(self) -> float:
        return float(self.text)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "quote": self.quote, "value": self.text}


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def fragment_number(fragment: str) -> tuple[str, str]:
    """(the number as written, the fragment without markers); raises ValueError when not exactly one is meant."""
    marks = MARK.findall(fragment)
    plain = MARK.sub(lambda m: m.group(1), fragment)
    if len(marks) > 1:
        raise ValueError(f"{fragment!r} marks {len(marks)} numbers; mark one")
    if marks:
        nums = NUMBER.findall(marks[0])
        if len(nums) != 1 or nums[0] != marks[0].strip():
            raise ValueError(f"the marked text {marks[0]!r} is not one number")
        return nums[0], plain
    nums = NUMBER.findall(fragment)
    if len(nums) != 1:
        raise ValueError(f"{fragment!r} holds {len(nums)} numbers; quote one, or mark it as {{{{number}}}}")
    return nums[0], plain


def table_cells(row: str) -> list[str]:
    """Cells of a Markdown table row (leading/trailing pipes dropped): ``| a | b |`` -> ``['a', 'b']``."""
    r = row.strip()
    if r.startswith("|"):
        r = r[1:]
    if r.endswith("|"):
        r = r[:-1]
    return [c.strip() for c in r.split("|")]


def cell_number(cell: str) -> str:
    nums = NUMBER.findall(cell)
    if len(nums) != 1:
        raise ValueError(f"cell {cell!r} holds {len(nums)} numbers, not one")
    return nums[0]


def other_seeds_quoted(link: MeasurementLink) -> set[str]:
    """File names of the seeds other than the claim's own that the link quotes figures from."""
    out = set(link.seed_values_from.values())
    if link.seed_table is not None and link.seed_table.seed:
        out.add(link.seed_table.seed)
    return out


def resolve(link: MeasurementLink, seed_text: str, param_types: dict[str, type] | None = None, *,
            other_seeds: dict[str, str] | None = None) -> tuple[dict[str, Any], list[Bound]]:
    """The link's parameters with the seed's figures bound in, and the figures used. Raises SeedDataError.

    ``seed_text`` is the claim's own seed; ``other_seeds`` maps the file names of other seeds that the link quotes
    (``{seed: FILE, quote: ...}``, ``seed_table.seed``) to their text."""
    others = other_seeds or {}

    def text_of(name: str | None, fld: str) -> str:
        if name is None:
            return seed_text
        if name not in others:
            raise SeedDataError(fld, f"no seed file {name!r}")
        return others[name]

    params = dict(link.params)
    bound: list[Bound] = []
    for name, fragment in link.seed_values.items():
        try:
            text, plain = fragment_number(fragment)
        except ValueError as exc:
            raise SeedDataError(f"seed_values.{name}", str(exc)) from None
        src = link.seed_values_from.get(name)
        if normalise(plain) not in normalise(text_of(src, f"seed_values.{name}")):
            raise SeedDataError(f"seed_values.{name}", f"{plain!r} is not in {src or 'the seed'} verbatim")
        bound.append(Bound(name, plain if src is None else f"{src}: {plain}", text))
    if link.seed_table is not None:
        src = link.seed_table.seed
        seed_lines = {normalise(line) for line in text_of(src, "seed_table.seed").splitlines()}
        for row in link.seed_table.rows:
            if normalise(row) not in seed_lines:
                raise SeedDataError("seed_table.rows", f"{row!r} is not a line of {src or 'the seed'} (verbatim)")
        for param, col in link.seed_table.columns.items():
            values = []
            for row in link.seed_table.rows:
                cells = table_cells(row)
                if col > len(cells):
                    raise SeedDataError(f"seed_table.columns.{param}", f"row {row!r} has {len(cells)} cells")
                try:
                    values.append(cell_number(cells[col - 1]))
                except ValueError as exc:
                    raise SeedDataError(f"seed_table.columns.{param}", str(exc)) from None
            params[param] = [float(v) for v in values]
            bound.extend(Bound(f"{param}[{i}]", row, v) for i, (row, v) in enumerate(zip(link.seed_table.rows,
                                                                                          values)))
    if link.seed_values:
        if link.name == "arith":
            expr = str(params.get("expr", ""))
            names = {b.name: b.text for b in bound if b.name in link.seed_values}
            used = set(IDENT.findall(expr)) & set(names)
            unused = sorted(set(names) - used)
            if unused:
                raise SeedDataError("seed_values", f"the expression {expr!r} does not use {', '.join(unused)}")
            params["expr"] = IDENT.sub(lambda m: f"({names[m.group()]})" if m.group() in names else m.group(), expr)
        else:
            for b in bound:
                if b.name not in link.seed_values:
                    continue
                if param_types is not None and param_types.get(b.name) is not float:
                    raise SeedDataError(f"seed_values.{b.name}",
                                        f"{link.name} has no float parameter {b.name!r} to bind a seed figure to")
                params[b.name] = b.value
    return params, bound
