"""Fuzzing the claims.yaml loader and ``quantproof check``.

Whatever bytes claims.yaml holds, loading it either gives a claim set or raises ``ClaimsFileError`` whose every
line reads ``<file>:<line>: <field>: <message>`` (one error per line); ``quantproof check`` exits 0/1 or 2 with the
same lines on stderr. Never another exception, never a hang (a SIGALRM watchdog turns a hang into a failure;
hypothesis's deadline flags slow examples), and nothing in the file is ever evaluated.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quantproof.claims.loader import MAX_BYTES, MAX_DEPTH, ClaimsFileError, SchemaError, load_claims, parse_claims
from quantproof.claims.model import ClaimSet

from .conftest import CLAIMS, make_repo, run_cli, watchdog

N = int(os.environ.get("QP_FUZZ_EXAMPLES", "0"))  # raise for a longer local fuzzing session
FUZZ = settings(
    max_examples=N or 120,
    deadline=2000,  # ms per example: parsing any accepted input is fast
    derandomize=not N,  # CI: the same examples every run (no flaky reds); QP_FUZZ_EXAMPLES=5000: explore
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture],
)
HARD_LIMIT_S = 20.0  # the watchdog: anything slower is treated as a hang

NAME = "claims.yaml"


def error_line_re(file: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(file)}:(?P<line>\d+): (?P<field>\S[^\n]*?): (?P<msg>\S[^\n]*)")


def assert_well_formed(exc: ClaimsFileError, file: str, text: str | bytes) -> None:
    """Every error is a SchemaError printed as one ``file:line: field: message`` line with a real line number."""
    assert exc.errors, "a ClaimsFileError must carry at least one error"
    lines = str(exc).split("\n")
    assert len(lines) == len(exc.errors), f"an error message spans several lines: {str(exc)!r}"
    n_lines = (text.count(b"\n") if isinstance(text, bytes) else text.count("\n")) + 1
    pat = error_line_re(file)
    for err, line in zip(exc.errors, lines):
        assert isinstance(err, SchemaError)
        m = pat.fullmatch(line)
        assert m, f"not 'file:line: field: message': {line!r}"
        assert 0 <= int(m["line"]) <= n_lines + 1, f"line {m['line']} outside a {n_lines}-line file: {line!r}"


def outcome(text: str) -> ClaimSet | ClaimsFileError:
    """parse_claims under the watchdog: a ClaimSet or a well-formed ClaimsFileError, nothing else."""
    with watchdog(HARD_LIMIT_S):
        try:
            return parse_claims(text, NAME)
        except ClaimsFileError as exc:
            assert_well_formed(exc, NAME, text)
            return exc


def rejected(text: str) -> ClaimsFileError:
    r = outcome(text)
    assert isinstance(r, ClaimsFileError), "expected the claims file to be rejected"
    return r


# --------------------------------------------------------------------------------------------- strategies

CLAIM_FIELDS = ["id", "title", "source", "kind", "statement", "lean", "tests", "measurements", "related", "notes",
                "assumptions", "scope", "corrected", "premises"]
ODD_FIELDS = CLAIM_FIELDS + ["seed", "quote", "decl", "role", "name", "params", "output", "expect", "key", "value",
                             "tol", "band", "compare", "with", "op", "margin", "schema", "claims", "<<", "~", "",
                             "control", "label", "should", "seed_values", "seed_table", "rows", "columns", "test",
                             "text", "by"]

odd_text = st.lists(
    st.characters(codec="utf-8") | st.sampled_from(
        ["\u202e", "\u200b", "\ufeff", "\u0000", "\x85", "\u2028", "\t", "\r", "\n", "ℝ", "𝔼", "\U0001f600",
         "é", "e\u0301", ":", "#", "&", "*", "!", "|", ">", "%", "@", "`", "'", '"', "-", "?", "{", "}", "[", "]"]),
    max_size=30,
).map("".join)
scalars = (st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=True, allow_infinity=True)
           | odd_text | st.sampled_from(CLAIM_FIELDS + ["theorem", "asserts", "refutes", "selftest_normal_mean"]))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(ODD_FIELDS) | odd_text, inner, max_size=4),
    max_leaves=25,
)


def valid_claim(i: int) -> dict:
    return {"id": f"c{i}", "title": "t", "source": {"seed": "toy.txt", "quote": "The mean is five."},
            "kind": "empirical", "statement": "s",
            "measurements": [{"name": "selftest_normal_mean", "params": {"mu": 0.0}, "output": "mean",
                              "role": "asserts", "expect": {"value": 0.0, "tol": 0.2}}]}


@st.composite
def damaged_claims_doc(draw) -> str:
    """A document built from valid claims with fields dropped, retyped, added or renamed, then dumped as YAML."""
    claims = []
    for i in range(draw(st.integers(0, 4))):
        c = valid_claim(draw(st.integers(0, 3)))  # small id range: duplicate ids are common
        for _ in range(draw(st.integers(0, 4))):
            op = draw(st.sampled_from(["drop", "retype", "add", "deep"]))
            key = draw(st.sampled_from(sorted(c) or ["id"]))
            if op == "drop":
                c.pop(key, None)
            elif op == "retype":
                c[key] = draw(values)
            elif op == "add":
                c[draw(st.sampled_from(ODD_FIELDS) | odd_text)] = draw(values)
            elif key in ("source", "measurements") and isinstance(c.get(key), (dict, list)) and c[key]:
                target = c[key] if isinstance(c[key], dict) else c[key][0]
                if isinstance(target, dict):
                    target[draw(st.sampled_from(ODD_FIELDS))] = draw(values)
        claims.append(c)
    doc: object = {"schema": draw(st.sampled_from([1, 1, 1, 2, "1", True, None, 1.0])), "claims": claims}
    if draw(st.booleans()):
        doc = draw(values) if draw(st.integers(0, 5)) == 0 else doc
    return yaml.safe_dump(doc, allow_unicode=draw(st.booleans()), sort_keys=False,
                          default_flow_style=draw(st.sampled_from([None, True, False])))


YAML_SNIPPETS = ["\n", "\n  ", "\n    ", ": ", "- ", "[", "]", "{", "}", ",", "&a ", "*a", "!!python/object:os.system ",
                 "!!binary ", "!foo ", "? ", "|\n", ">-\n", "'", '"', "#", "%YAML 1.1\n", "---\n", "...\n", "\t",
                 "<<: ", "~", "0x1F", "1e999", "9" * 5000, "\x00", "\ufeff", "\u202e", "\\", "\r\n", "id: ", "claims:"]


@st.composite
def mutated_claims_text(draw) -> str:
    """The spine's valid claims file with random edits: a corpus-based fuzzer for malformed YAML."""
    text = CLAIMS
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        if op == "insert":
            text = text[:pos] + draw(st.sampled_from(YAML_SNIPPETS) | odd_text) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 30)):]
        elif op == "replace":
            text = text[:pos] + draw(st.sampled_from(YAML_SNIPPETS)) + text[pos + 1:]
        else:  # duplicate a run of lines: duplicate keys, claims and ids
            lines = text.splitlines(keepends=True)
            a = draw(st.integers(0, len(lines) - 1))
            b = draw(st.integers(a, min(len(lines), a + 8)))
            text = "".join(lines[:b] + lines[a:b] + lines[b:])
    return text


yaml_noise = st.lists(st.sampled_from(YAML_SNIPPETS) | odd_text, max_size=30).map("".join)


# --------------------------------------------------------------------------------------------- properties

@FUZZ
@given(damaged_claims_doc())
def test_wrong_types_missing_unknown_fields_and_duplicates(text: str) -> None:
    outcome(text)


@FUZZ
@given(mutated_claims_text())
def test_mutated_claims_file(text: str) -> None:
    outcome(text)


@FUZZ
@given(yaml_noise)
def test_yaml_noise(text: str) -> None:
    outcome(text)


@FUZZ
@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=200))
def test_any_unicode_including_lone_surrogates(text: str) -> None:
    outcome(text)


@FUZZ
@given(st.binary(max_size=300) | mutated_claims_text().flatmap(
    lambda t: st.tuples(st.just(t.encode("utf-8", "surrogatepass")), st.integers(0, len(t)),
                        st.binary(min_size=1, max_size=4))
    .map(lambda x: x[0][:x[1]] + x[2] + x[0][x[1]:])))
def test_arbitrary_bytes_including_invalid_utf8(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "claims.yaml"
    path.write_bytes(raw)
    with watchdog(HARD_LIMIT_S):
        try:
            load_claims(path, display_name="claims.yaml")
        except ClaimsFileError as exc:
            assert_well_formed(exc, "claims.yaml", raw)


def test_invalid_utf8_names_the_line() -> None:
    raw = CLAIMS.encode().replace(b"title: one plus one", b"title: one \xff\xfe plus one")
    line = raw[: raw.index(b"\xff")].count(b"\n") + 1
    with pytest.raises(ClaimsFileError) as ei:
        load_claims_bytes(raw)
    assert str(ei.value) == f"claims.yaml:{line}: (file): not valid UTF-8"


def load_claims_bytes(raw: bytes) -> ClaimSet:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "claims.yaml"
        p.write_bytes(raw)
        return load_claims(p, display_name="claims.yaml")


# --------------------------------------------------------------------------------------------- named attacks

@pytest.mark.parametrize("text, field", [
    (CLAIMS.replace("  - id: mean_five", "  - id: mean_zero"), "id"),  # duplicate claim id
    (CLAIMS.replace("    kind: theorem\n", "    kind: theorem\n    kind: conjecture\n", 1), "kind"),  # duplicate key
    (CLAIMS.replace("schema: 1\n", "schema: 1\nschema: 1\n"), "schema"),
    (CLAIMS.replace("    title: one plus one\n", "    title: one plus one\n    colour: blue\n"), "one_plus_one.colour"),
    (CLAIMS.replace("    title: one plus one\n", ""), "one_plus_one.title"),
    (CLAIMS.replace("    title: one plus one\n", "    title: [1, 2]\n"), "one_plus_one.title"),
    (CLAIMS.replace("schema: 1", "schema: 2"), "schema"),
    (CLAIMS.replace("schema: 1", "schema: true"), "schema"),
    (CLAIMS.replace("expect: {value: 0.0, tol: 0.2}", "expect: {value: .nan, tol: 0.2}"),
     "mean_zero.measurements[0].expect.value"),
    (CLAIMS.replace("expect: {value: 0.0, tol: 0.2}", "expect: {value: " + "9" * 5000 + "}"), "(document)"),
    (CLAIMS.replace("id: one_plus_one", "id: " + "7" * 5000), "(document)"),  # beyond int()'s digit limit
    (CLAIMS.replace("id: one_plus_one", 'id: "one\\nplus"'), "claims[line 3].id"),
    (CLAIMS.replace("    title: one plus one\n", '    title: one plus one\n    "evil\\nkey: x": 1\n'), "one_plus_one"),
    (CLAIMS.replace("    tests:\n      - tests/test_mini.py::test_one_plus_one\n", "    tests: {a: 1}\n"),
     "one_plus_one.tests"),
])
def test_named_malformations_are_reported_at_their_field(text: str, field: str) -> None:
    exc = rejected(text)
    assert any(e.field.startswith(field) for e in exc.errors), str(exc)


def test_a_key_holding_a_newline_stays_on_one_line() -> None:
    exc = rejected(CLAIMS.replace("    title: one plus one\n", '    title: one plus one\n    "a\\nb: c": 1\n'))
    assert len(str(exc).splitlines()) == len(exc.errors) == 1
    assert str(exc).startswith("claims.yaml:5: one_plus_one.a\\nb: c: unknown field"), str(exc)


def test_nul_and_control_characters_are_reported_on_one_line_with_their_line() -> None:
    text = CLAIMS.replace("one plus one", "one\x00plus one", 1)
    exc = rejected(text)
    line = text[: text.index("\x00")].count("\n") + 1
    assert exc.errors[0].line == line, str(exc)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 2, 200, 5000, 50_000])
def test_deep_nesting_is_rejected_quickly(depth: int) -> None:
    for text in ("schema: 1\nclaims: " + "[" * depth + "]" * depth + "\n",
                 "schema: 1\nclaims: " + "{a: " * depth + "1" + "}" * depth + "\n"):
        t0 = time.monotonic()
        exc = rejected(text)
        assert time.monotonic() - t0 < 5.0
        assert any("nest" in e.message for e in exc.errors), str(exc)


def test_billion_laughs_is_rejected_before_expansion() -> None:
    lines = ["schema: 1", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    lines.append("claims: *a9")
    t0 = time.monotonic()
    exc = rejected("\n".join(lines) + "\n")
    assert time.monotonic() - t0 < 2.0
    assert exc.errors[0].line == 2 and "anchors/aliases are not allowed" in exc.errors[0].message


@pytest.mark.parametrize("snippet", ["&x one plus one", "*x", "&x [1, 2]"])
def test_any_anchor_or_alias_is_rejected(snippet: str) -> None:
    exc = rejected(CLAIMS.replace("title: one plus one", f"title: {snippet}"))
    assert "anchors/aliases" in str(exc)


def test_oversized_file_is_rejected_without_parsing(tmp_path: Path) -> None:
    p = tmp_path / "claims.yaml"
    p.write_bytes(CLAIMS.encode() + b"# " + b"x" * MAX_BYTES + b"\n")
    t0 = time.monotonic()
    with pytest.raises(ClaimsFileError) as ei:
        load_claims(p, display_name="claims.yaml")
    assert time.monotonic() - t0 < 2.0
    assert str(ei.value) == f"claims.yaml:0: (file): larger than {MAX_BYTES} bytes"


def test_too_many_claims_is_an_error() -> None:
    exc = rejected("schema: 1\nclaims:\n" + "  - 0\n" * 10_001)
    assert any("more than 10000 claims" in e.message for e in exc.errors)


def test_a_large_valid_file_loads_in_bounded_time() -> None:
    items = "".join(f"  - {{id: c{i}, title: t, kind: theorem, statement: '{'s' * 200}', "
                    f"source: {{seed: a.txt, quote: q}}}}\n" for i in range(2000))
    t0 = time.monotonic()
    cs = outcome("schema: 1\nclaims:\n" + items)
    assert isinstance(cs, ClaimSet) and len(cs.claims) == 2000
    assert time.monotonic() - t0 < HARD_LIMIT_S


def test_parse_claims_text_api_enforces_the_size_limit_too() -> None:
    t0 = time.monotonic()
    exc = rejected("schema: 1\nclaims: []\n#" + "x" * MAX_BYTES + "\n")
    assert time.monotonic() - t0 < 2.0
    assert "larger than" in str(exc)


# --------------------------------------------------------------------------------------------- nothing is evaluated

PAYLOAD_TAGS = [
    "!!python/object/apply:builtins.open [{path}, 'w']",
    "!!python/object/new:builtins.open [{path}, 'w']",
    "!!python/object/apply:os.system ['touch {bare}']",
    "!!python/object/apply:subprocess.call [['touch', {path}]]",
]


def _payload(template: str, path: Path) -> str:
    return template.format(path=repr(str(path)), bare=str(path))


def test_the_payloads_are_live_under_an_unsafe_loader(tmp_path: Path) -> None:
    """Positive control: these tags really do create the file when a YAML loader evaluates them."""
    for i, template in enumerate(PAYLOAD_TAGS[:2]):
        target = tmp_path / f"pwned{i}"
        obj = yaml.unsafe_load(f"x: {_payload(template, target)}\n")
        if hasattr(obj["x"], "close"):
            obj["x"].close()
        assert target.exists()


@pytest.mark.parametrize("template", PAYLOAD_TAGS)
@pytest.mark.parametrize("where", ["title", "params", "key", "top"])
def test_python_tags_are_rejected_and_never_evaluated(tmp_path: Path, template: str, where: str) -> None:
    target = tmp_path / "pwned"
    tag = _payload(template, target)
    if where == "title":
        text = CLAIMS.replace("title: one plus one", f"title: {tag}")
    elif where == "params":
        text = CLAIMS.replace("params: {mu: 0.0, n: 2000}", f"params: {{mu: {tag}, n: 2000}}", 1)
    elif where == "key":
        text = CLAIMS.replace("    title: one plus one\n", f"    ? {tag}\n    : 1\n    title: one plus one\n")
    else:
        text = f"--- {tag}\n"
    exc = rejected(text)
    assert not target.exists(), "a python tag in claims.yaml was evaluated"
    if where == "key":  # a tagged sequence as a mapping key is refused before its tag is even looked at
        assert any("mapping keys must be plain strings" in e.message for e in exc.errors), str(exc)
    else:
        assert any("python/object" in e.message and "not allowed" in e.message for e in exc.errors), str(exc)


@pytest.mark.parametrize("tag", ["!!python/name:os.system", "!!python/module:os", "!!binary aGVsbG8=",
                                 "!!timestamp 2001-12-14", "!!set {a, b}", "!custom x", "!!omap [a: 1]"])
def test_non_standard_tags_are_rejected(tag: str) -> None:
    exc = rejected(CLAIMS.replace("title: one plus one", f"title: {tag}"))
    assert any("not allowed" in e.message for e in exc.errors), str(exc)


def test_check_never_evaluates_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    target = tmp_path / "pwned"
    (repo / "claims.yaml").write_text(CLAIMS.replace("title: one plus one",
                                                     f"title: {_payload(PAYLOAD_TAGS[0], target)}"))
    assert run_cli(repo, "check") == 2
    assert run_cli(repo, "run", "--quiet", "--skip-tests", "--skip-measurements") == 2
    assert not target.exists()
    assert not (repo / "ledger" / "ledger.json").exists()
    assert "is not allowed" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------- the CLI

@pytest.fixture(scope="module")
def cli_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("fuzz") / "repo")


def _check_cli(repo: Path, capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    (repo / "claims.yaml").write_bytes(data)
    capsys.readouterr()
    with watchdog(HARD_LIMIT_S):
        rc = run_cli(repo, "check")
    out, err = capsys.readouterr()
    assert rc in (0, 2), f"exit {rc}\n{out}\n{err}"
    if rc == 0:
        assert out.startswith("ok: ")
        return
    lines = err.splitlines()
    assert lines and re.fullmatch(r"\d+ error\(s\)( in the claims file| in the claims' links)?:", lines[0]), err
    claims_name = str(repo / "claims.yaml")
    pat = re.compile(r"(?P<file>[^\n]+?):(?P<line>\d+): (?P<field>\S[^\n]*?): (?P<msg>\S[^\n]*)")
    for line in lines[1:]:
        assert line.startswith("  "), line
        m = pat.fullmatch(line[2:])
        assert m, f"not 'file:line: field: message': {line!r}"
        assert m["file"] == claims_name or m["file"].startswith("tests/"), line


@settings(FUZZ, max_examples=N or 60)
@given(data=mutated_claims_text().map(str.encode) | damaged_claims_doc().map(str.encode) | st.binary(max_size=200))
def test_check_cli_on_fuzzed_files(cli_repo: Path, capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    _check_cli(cli_repo, capsys, data)


@pytest.mark.parametrize("data", [b"", b"\xff\xfe\x00", b"---\n...\n", b"[]", b"schema: 1\n", b"claims: []\n",
                                  b"schema: 1\nclaims:\n", b"schema: 1\nclaims: []\n---\nschema: 1\n"])
def test_check_cli_on_degenerate_files(cli_repo: Path, capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    _check_cli(cli_repo, capsys, data)


def test_check_cli_on_a_missing_or_directory_claims_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo")
    assert run_cli(repo, "--claims-file", "nope.yaml", "check") == 2
    assert "(file): cannot read" in capsys.readouterr().err
    assert run_cli(repo, "--claims-file", "seeds", "check") == 2
    assert "(file): cannot read" in capsys.readouterr().err
