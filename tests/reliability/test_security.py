"""Security: nothing the inputs hold is executed, paths stay in the repository, weights load without unpickling,
and text from claims, tests and measurements is rendered as text.

The static audit reads the syntax tree of every module under py/quantproof (not a grep: ``model.eval()`` and
``re.compile`` are fine) and fails on: ``yaml.load``/``unsafe_load``/``full_load`` and the unsafe loaders, builtin
``eval``/``exec``/``compile``/``__import__``, ``shell=True``, ``os.system``/``os.popen``, pickle-family loads,
``torch.load`` without ``weights_only=True``, ``numpy.load(allow_pickle=True)``, ``trust_remote_code=True``, a
subprocess command given as a string, and model ``from_pretrained`` without ``use_safetensors``/``gguf_file``.
"""

from __future__ import annotations

import ast
import json
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import quantproof
from quantproof.claims.loader import ClaimsFileError, parse_claims
from quantproof.ledger import writer

from .conftest import CLAIMS, NO_LAKE_PATH, ledger_of, make_repo, run_cli

PACKAGE = Path(quantproof.__file__).parent
HTML = (PACKAGE / "ledger" / "html.py").exists()

# --------------------------------------------------------------------------------------------- the static audit

UNSAFE_ATTRS = {
    "yaml": {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load", "full_load_all", "Loader",
             "UnsafeLoader", "FullLoader", "CLoader", "CUnsafeLoader", "CFullLoader"},
    "os": {"system", "popen", "execl", "execle", "execlp", "execlpe"},
    "subprocess": {"getoutput", "getstatusoutput"},
    "pickle": {"load", "loads", "Unpickler"},
    "cPickle": {"load", "loads"},
    "dill": {"load", "loads"},
    "cloudpickle": {"load", "loads"},
    "joblib": {"load"},
    "marshal": {"load", "loads"},
    "shelve": {"open"},
}
UNSAFE_BUILTINS = {"eval", "exec", "compile", "__import__", "breakpoint"}
SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}
SUBPROCESS_CALLS = {"run", "Popen", "call", "check_call", "check_output"}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.what}"


def _is_true(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def audit_source(src: str, file: str = "<src>") -> list[Finding]:
    tree = ast.parse(src, filename=file)
    out: list[Finding] = []
    alias: dict[str, str] = {}  # local name -> module (import x as y)
    imported: dict[str, tuple[str, str]] = {}  # local name -> (module, attribute) (from x import y)

    def add(node: ast.AST, what: str) -> None:
        out.append(Finding(file, getattr(node, "lineno", 0), what))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                alias[a.asname or a.name.split(".")[0]] = a.name
                if a.name.split(".")[0] in ("pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve"):
                    add(node, f"import {a.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            mod = node.module.split(".")[0]
            for a in node.names:
                imported[a.asname or a.name] = (mod, a.name)
                if a.name in UNSAFE_ATTRS.get(mod, ()) or a.name == "*" and mod in UNSAFE_ATTRS \
                        or mod == "builtins" and a.name in UNSAFE_BUILTINS:
                    add(node, f"from {node.module} import {a.name}")

    def module_attr(f: ast.AST) -> tuple[str, str] | None:
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            return alias.get(f.value.id, f.value.id), f.attr
        if isinstance(f, ast.Name) and f.id in imported:
            return imported[f.id]
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            mod = alias.get(node.value.id, node.value.id)
            if mod in UNSAFE_ATTRS and node.attr in UNSAFE_ATTRS[mod]:
                add(node, f"{mod}.{node.attr}")
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        if isinstance(f, ast.Name) and f.id in UNSAFE_BUILTINS and f.id not in imported:
            add(node, f"builtin {f.id}()")
        if "shell" in kw and not (isinstance(kw["shell"], ast.Constant) and kw["shell"].value is False):
            add(node, "shell=True")
        if "trust_remote_code" in kw and not (isinstance(kw["trust_remote_code"], ast.Constant)
                                              and kw["trust_remote_code"].value is False):
            add(node, "trust_remote_code")
        if "Loader" in kw:
            ld = kw["Loader"]
            name = ld.attr if isinstance(ld, ast.Attribute) else ld.id if isinstance(ld, ast.Name) else None
            if name not in SAFE_YAML_LOADERS:
                add(node, f"yaml Loader={name}")
        ma = module_attr(f)
        if ma == ("torch", "load") and not _is_true(kw.get("weights_only", ast.Constant(False))):
            add(node, "torch.load without weights_only=True")
        if ma in (("numpy", "load"), ("np", "load")) and _is_true(kw.get("allow_pickle", ast.Constant(False))):
            add(node, "numpy.load(allow_pickle=True)")
        if ma and ma[0] == "subprocess" and ma[1] in SUBPROCESS_CALLS and node.args:
            cmd = node.args[0]
            if isinstance(cmd, (ast.JoinedStr, ast.BinOp)) or isinstance(cmd, ast.Constant) and isinstance(
                    cmd.value, str):
                add(node, f"subprocess.{ma[1]} with a command string (use an argument list)")
        if isinstance(f, ast.Attribute) and f.attr == "from_pretrained":
            owner = ast.unparse(f.value)
            if not re.search(r"Tokenizer|Config|Processor", owner):
                star = [k.value for k in node.keywords if k.arg is None]
                ok = _is_true(kw.get("use_safetensors", ast.Constant(False))) or "gguf_file" in kw
                if not ok and star:  # **kw: the enclosing code must choose safetensors or GGUF explicitly
                    ok = bool(re.search(r"""\[["']use_safetensors["']\]\s*=\s*True""", src)) and "gguf_file" in src
                if not ok:
                    add(node, f"{owner}.from_pretrained without use_safetensors=True or gguf_file")
    return out


def audit_package() -> list[Finding]:
    out: list[Finding] = []
    for p in sorted(PACKAGE.rglob("*.py")):
        out.extend(audit_source(p.read_text(encoding="utf-8"), p.relative_to(PACKAGE.parent).as_posix()))
    return out


# The only exceptions, each with its reason. Mutation testing (issue 14) must execute a mutant of one of QuantProof's
# own modules: the source is read from py/quantproof and changed by cosmic-ray, never taken from claims, tests or
# measurement inputs, and it runs in a forked child that reports over a pipe.
ALLOWED = {
    ("quantproof/evidence/strength/server.py", "builtin exec()"): "runs a cosmic-ray mutant of our own module",
    ("quantproof/evidence/strength/server.py", "builtin compile()"): "compiles that mutant (syntax check, then exec)",
}


def test_the_package_has_no_unsafe_call() -> None:
    findings = [f for f in audit_package() if (f.file, f.what) not in ALLOWED]
    assert not findings, "unsafe constructs in py/quantproof:\n" + "\n".join(map(str, findings))


def test_every_allowed_exception_still_occurs_and_only_in_its_file() -> None:
    found = {(f.file, f.what) for f in audit_package()}
    assert set(ALLOWED) <= found, "an allowed exception no longer occurs: drop it from ALLOWED"


@pytest.mark.parametrize("snippet", [
    "import yaml\nyaml.load(s)",
    "import yaml\nyaml.load(s, Loader=yaml.SafeLoader)",  # yaml.load is flagged whatever the loader
    "import yaml as y\ny.unsafe_load(s)",
    "import yaml\nyaml.full_load(s)",
    "from yaml import unsafe_load\nunsafe_load(s)",
    "import yaml\nyaml.compose(s, Loader=yaml.Loader)",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 'f', 'eval')",
    "__import__('os')",
    "import subprocess\nsubprocess.run('ls', shell=True)",
    "import subprocess\nsubprocess.run(['ls'], shell=flag)",
    "import subprocess\nsubprocess.check_output(f'ls {d}')",
    "import subprocess as sp\nsp.Popen('ls -l')",
    "import os\nos.system('ls')",
    "from os import popen\npopen('ls')",
    "import pickle\npickle.loads(b)",
    "import marshal\nmarshal.loads(b)",
    "import torch\ntorch.load(p)",
    "import torch\ntorch.load(p, weights_only=False)",
    "import numpy as np\nnp.load(p, allow_pickle=True)",
    "AutoModel.from_pretrained(d)",
    "AutoModel.from_pretrained(d, use_safetensors=True, trust_remote_code=True)",
    "AutoModelForCausalLM.from_pretrained(d, **kw)",
])
def test_the_audit_catches_planted_violations(snippet: str) -> None:
    assert audit_source(snippet), f"the audit missed: {snippet!r}"


@pytest.mark.parametrize("snippet", [
    "model.eval()",
    "import re\nre.compile('x')",
    "import yaml\nyaml.safe_load(s)",
    "import yaml\nyaml.parse(s, Loader=yaml.SafeLoader)",
    "import subprocess\nsubprocess.run(['git', 'status'], capture_output=True, timeout=30)",
    "import subprocess\nsubprocess.run([*cc.split(), '--version'])",
    "import torch\ntorch.load(p, weights_only=True)",
    "import numpy as np\nnp.load(p, allow_pickle=False)",
    "AutoTokenizer.from_pretrained(d)",
    "AutoModel.from_pretrained(d, use_safetensors=True)",
    "AutoModel.from_pretrained(d, gguf_file=f)",
    "def _eval(n):\n    return _eval(n)",
])
def test_the_audit_passes_safe_code(snippet: str) -> None:
    assert audit_source(snippet) == []


# --------------------------------------------------------------------------------------------- claims paths

@pytest.mark.parametrize("test_id", ["/etc/passwd::x", "/abs/tests/test_a.py::t", "tests/../../etc/passwd::x",
                                     "../tests/test_mini.py::test_one_plus_one", "tests/a/../../../x.py::t"])
def test_test_ids_must_stay_in_the_repository(test_id: str) -> None:
    text = CLAIMS.replace("tests/test_mini.py::test_one_plus_one", test_id)
    with pytest.raises(ClaimsFileError) as ei:
        parse_claims(text)
    assert "no absolute paths, no '..'" in str(ei.value)


@pytest.mark.parametrize("seed", ["../seeds/toy.txt", "/etc/passwd.txt", "sub/toy.txt", "..\\\\toy.txt",
                                  "toy.txt/", "~/toy.txt", "toy.txt\\u0000", "toy"])
def test_seed_names_are_plain_file_names(seed: str) -> None:
    text = CLAIMS.replace("seed: toy.txt, quote: \"The sum of two ones is two.\"",
                          f"seed: \"{seed}\", quote: \"The sum of two ones is two.\"")
    assert text != CLAIMS
    with pytest.raises(ClaimsFileError) as ei:
        parse_claims(text)
    assert "one_plus_one.source.seed" in str(ei.value)


@pytest.mark.parametrize("decl", ["QuantProof.x\\n#eval IO.println 1", "QuantProof.x #print axioms",
                                  "«weird name»", "a..b", "x; y", "QuantProof.x\\nrun_cmd foo"])
def test_lean_names_cannot_carry_lean_commands_into_the_axiom_audit(decl: str) -> None:
    text = CLAIMS.replace("decl: QuantProof.one_plus_one", f"decl: \"{decl}\"")
    with pytest.raises(ClaimsFileError) as ei:
        parse_claims(text)
    assert "is not a Lean declaration name" in str(ei.value)


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "[1.0, .nan]", "{a: .inf}"])
def test_non_finite_parameters_are_refused(value: str) -> None:
    """A NaN parameter would otherwise be written into ledger.json as the non-JSON token NaN."""
    text = CLAIMS.replace("params: {mu: 0.0, n: 2000}", f"params: {{mu: {value}, n: 2000}}", 1)
    with pytest.raises(ClaimsFileError) as ei:
        parse_claims(text)
    assert "mean_zero.measurements[0].params.mu: must not hold .nan or .inf" in str(ei.value)


def test_test_file_names_reach_pytest_as_arguments_not_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "repo")
    evil = repo / "tests" / "test_x;touch pwned;$(touch pwned2);`touch pwned3`.py"  # pytest runs in the repo
    evil.write_text("import pytest\n\n\n@pytest.mark.claim('one_plus_one')\ndef test_y():\n    pass\n")
    claims = repo / "claims.yaml"
    claims.write_text(claims.read_text().replace(
        "      - tests/test_mini.py::test_one_plus_one\n",
        "      - tests/test_mini.py::test_one_plus_one\n      - 'tests/" + evil.name + "::test_y'\n"))
    monkeypatch.setenv("PATH", NO_LAKE_PATH)
    assert run_cli(repo, "run", "--quiet", "--skip-measurements", "--claims", "one_plus_one", "--out", "ledger") == 0
    assert not any((repo / name).exists() for name in ("pwned", "pwned2", "pwned3"))
    item = next(i for i in ledger_of(repo)["claims"][0]["tests"]["items"] if "touch" in i["id"])
    assert item["outcome"] in ("passed", "error", "not-run")  # whatever pytest made of the name, it never ran it


# --------------------------------------------------------------------------------------------- weights

class _Payload:
    """Unpickling this creates a file: the classic malicious checkpoint."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_the_pickle_payload_is_live(tmp_path: Path) -> None:
    """Positive control for the two tests below: unpickling the checkpoint does create the file."""
    target = tmp_path / "pwned"
    pickle.loads(pickle.dumps(_Payload(target))).close()  # noqa: S301 - deliberately, in a test
    assert target.exists()


def test_a_pickle_only_checkpoint_is_refused_and_never_unpickled(tmp_path: Path) -> None:
    models = pytest.importorskip("quantproof.capture.models")
    target = tmp_path / "pwned"
    d = tmp_path / "model"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama"}))
    (d / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(target)))
    with pytest.raises(models.MeasurementUnavailable, match="never unpickles"):
        models.load_causal_lm(str(d), device="cpu")
    assert not target.exists()


def test_safetensors_are_loaded_and_a_pickle_beside_them_is_ignored(tmp_path: Path) -> None:
    models = pytest.importorskip("quantproof.capture.models")
    try:
        src = models.minilm_dir()
    except models.MeasurementUnavailable as exc:
        pytest.skip(str(exc))
    import shutil

    d = tmp_path / "enc"
    shutil.copytree(src, d, ignore=shutil.ignore_patterns("1_Pooling"))
    target = tmp_path / "pwned"
    (d / "pytorch_model.bin").write_bytes(pickle.dumps(_Payload(target)))
    models.clear_loaded()
    _, _, info = models.load_encoder(str(d), device="cpu")
    assert not target.exists()
    assert "model.safetensors" in info.files and "pytorch_model.bin" not in info.files
    models.clear_loaded()


# --------------------------------------------------------------------------------------------- rendering

PAYLOADS = ["<script>alert(1)</script>", "</script><script>alert(2)</script>", "\"><img src=x onerror=alert(3)>",
            "<!--", "<style>body{display:none}</style>", "javascript:alert(4)"]
RAW = ["<script>alert(", "<img src=x", "<style>body{display:none}"]


def _poisoned(led: dict) -> dict:
    """Every free-text field a claim, a test or a measurement can fill, set to a payload."""
    led = json.loads(json.dumps(led))
    p = " ".join(PAYLOADS)
    for c in led["claims"]:
        for k in ("title", "statement", "quote", "notes", "reason"):
            c[k] = p
        c["related"] = [p]
        for d in c["formal"]["declarations"]:
            d["statement"] = d["message"] = p
        for i in c["tests"]["items"]:
            i["message"] = i["counterexample"] = p
        for m in c["measurements"]:
            m["reason"] = m["model"] = p
            m["params"] = {p: p}
            for plot in m.get("plots", []):
                plot["title"] = plot["x_label"] = plot["y_label"] = p
                for s in plot["series"]:
                    s["name"] = p
    led["provenance"]["files"] = {p: p}
    return led


@pytest.fixture(scope="module")
def xss_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run whose claims.yaml title, statement and quote are script payloads."""
    title = PAYLOADS[0]
    seed = "A toy seed. " + " ".join(PAYLOADS) + " The sum of two ones is two. Every square is negative.\n" \
        "The sample mean of standard normal draws is zero. The mean is five.\n"
    claims = CLAIMS.replace("title: one plus one", f"title: \"{title}\"").replace(
        "statement: 1 + 1 = 2 over the reals.", "statement: '" + PAYLOADS[2] + "'").replace(
        "quote: \"The sum of two ones is two.\"", "quote: '" + PAYLOADS[1] + "'")
    repo = make_repo(tmp_path_factory.mktemp("xss") / "repo", claims=claims)
    (repo / "seeds" / "toy.txt").write_text(seed)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", NO_LAKE_PATH)
        assert run_cli(repo, "run", "--quiet", "--skip-tests", "--out", "ledger") == 0
    return repo


def test_a_script_title_is_text_in_ledger_md(xss_repo: Path) -> None:
    md = (xss_repo / "ledger" / "LEDGER.md").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    for raw in RAW:
        assert raw not in md
    assert ledger_of(xss_repo)["claims"][0]["title"] == PAYLOADS[0]  # the ledger keeps the data as it is


@pytest.mark.skipif(not HTML, reason="py/quantproof/ledger/html.py does not exist yet")
def test_a_script_title_is_text_in_index_html(xss_repo: Path) -> None:
    page = (xss_repo / "ledger" / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for raw in RAW:
        assert raw not in page


def test_every_text_field_is_escaped_in_ledger_md(xss_repo: Path) -> None:
    md = writer.render_markdown(_poisoned(ledger_of(xss_repo)))
    for raw in RAW:
        assert raw not in md


@pytest.mark.skipif(not HTML, reason="py/quantproof/ledger/html.py does not exist yet")
def test_every_text_field_is_escaped_in_index_html(xss_repo: Path) -> None:
    page = writer.render_html(_poisoned(ledger_of(xss_repo)), None)
    for raw in RAW:
        assert raw not in page
    # the page's own scripts: one JSON data block and one program, nothing injected
    assert len(re.findall(r"<script\b", page)) == 2
