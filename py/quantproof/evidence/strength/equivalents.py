"""Written reasons for surviving mutants that no test can kill (equivalent mutants): ``tests/strength_equivalents.yaml``.

```yaml
equivalents:
  - file: py/quantproof/math/sign_quant.py   # required: the mutated module
    function: moment_ratio                   # optional: qualname of the function holding the mutant
    line: 127                                # optional: its line (drifts with edits; prefer `change`)
    change: "axis=-1) → mu2"                 # optional: a substring of the report's change text ("old → new")
    operator: core/NumberReplacer            # optional
    claims: [cos_eq_one_iff_sign_lattice]    # optional: equivalent only as seen through these claims' tests
    reason: why the program behaves the same under this mutant   # required, a sentence
```

Policy: an entry needs ``file``, ``reason`` and at least one of ``line``/``change`` (a reason for a whole file would
hide real gaps). ``claims`` restricts it to claims whose tests can only observe the mutant through callers that
cannot tell it apart (e.g. a helper's zero-row branch seen only through a function that returns nan there anyway). A mutant that matches an entry is a survivor with that reason and leaves the kill rate's
denominator; an entry that matches a *killed* mutant, or none at all, is reported as a problem (the code moved on).
The file is read with PyYAML's safe loader; every bad field is an error ``file:line: field: message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ...claims.loader import SchemaError

EQUIVALENTS_PATH = "tests/strength_equivalents.yaml"
_FIELDS = {"file", "function", "line", "change", "operator", "reason", "claims"}


class EquivalentsFileError(Exception):
    def __init__(self, errors: list[SchemaError]):
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Equivalent:
    file: str
    reason: str
    where: int  # line of the entry in the YAML file
    function: str | None = None
    line: int | None = None
    change: str | None = None
    operator: str | None = None
    claims: tuple[str, ...] | None = None

    def matches(self, file: str, function: str, line: int, change: str, operator: str,
                claim: str | None = None) -> bool:
        return (file == self.file
                and (self.claims is None or claim is None or claim in self.claims)
                and (self.function is None or function == self.function)
                and (self.line is None or line == self.line)
                and (self.change is None or self.change in change)
                and (self.operator is None or operator == self.operator))


def load_equivalents(path: Path, display: str = EQUIVALENTS_PATH) -> list[Equivalent]:
    """The entries of the file; an absent file has none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise EquivalentsFileError([SchemaError(display, 1, "file", f"cannot read: {exc}")]) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", 0) + 1
        raise EquivalentsFileError([SchemaError(display, line, "yaml", str(exc).splitlines()[0])]) from None
    if root is None:
        return []
    errors: list[SchemaError] = []
    out: list[Equivalent] = []
    if not isinstance(root, yaml.MappingNode):
        raise EquivalentsFileError([SchemaError(display, root.start_mark.line + 1, "equivalents",
                                                "the file must be a mapping with an `equivalents` list")])
    top = {k.value: v for k, v in root.value}
    for k, _ in root.value:
        if k.value != "equivalents":
            errors.append(SchemaError(display, k.start_mark.line + 1, k.value, "unknown field (expected `equivalents`)"))
    seq = top.get("equivalents")
    if seq is None or not isinstance(seq, yaml.SequenceNode):
        where = seq.start_mark.line + 1 if seq is not None else 1
        if seq is not None and not (isinstance(seq, yaml.ScalarNode) and seq.value in ("", "null", "~")):
            errors.append(SchemaError(display, where, "equivalents", "must be a list"))
        if errors:
            raise EquivalentsFileError(errors)
        return []
    for i, item in enumerate(seq.value):
        ctx = f"equivalents[{i}]"
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            errors.append(SchemaError(display, line, ctx, "must be a mapping"))
            continue
        fields: dict[str, tuple[str, int]] = {}
        claims: tuple[str, ...] | None = None
        for k, v in item.value:
            if k.value == "claims":
                if (not isinstance(v, yaml.SequenceNode) or not v.value
                        or not all(isinstance(c, yaml.ScalarNode) and c.value.strip() for c in v.value)):
                    errors.append(SchemaError(display, v.start_mark.line + 1, f"{ctx}.claims",
                                              "must be a non-empty list of claim ids"))
                else:
                    claims = tuple(c.value for c in v.value)
            elif k.value not in _FIELDS:
                errors.append(SchemaError(display, k.start_mark.line + 1, f"{ctx}.{k.value}",
                                          f"unknown field (allowed: {', '.join(sorted(_FIELDS))})"))
            elif not isinstance(v, yaml.ScalarNode) or not str(v.value).strip():
                errors.append(SchemaError(display, v.start_mark.line + 1, f"{ctx}.{k.value}", "must be a non-empty scalar"))
            else:
                fields[k.value] = (str(v.value), v.start_mark.line + 1)
        for req in ("file", "reason"):
            if req not in fields:
                errors.append(SchemaError(display, line, f"{ctx}.{req}", "required"))
        if "line" not in fields and "change" not in fields:
            errors.append(SchemaError(display, line, ctx, "needs `line` or `change` to say which mutant"))
        ln = None
        if "line" in fields:
            try:
                ln = int(fields["line"][0])
                if ln < 1:
                    raise ValueError
            except ValueError:
                errors.append(SchemaError(display, fields["line"][1], f"{ctx}.line", "must be a positive integer"))
        if "reason" in fields and len(fields["reason"][0].split()) < 4:
            errors.append(SchemaError(display, fields["reason"][1], f"{ctx}.reason",
                                      "say why the mutant cannot change behaviour (a sentence)"))
        if "file" in fields and "reason" in fields:
            out.append(Equivalent(fields["file"][0], fields["reason"][0], line,
                                  fields.get("function", (None,))[0], ln, fields.get("change", (None,))[0],
                                  fields.get("operator", (None,))[0], claims))
    if errors:
        raise EquivalentsFileError(errors)
    return out
