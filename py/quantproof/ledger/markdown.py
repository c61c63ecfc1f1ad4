"""``LEDGER.md``: the ledger as Markdown for reviewers who read it in a repository browser."""

from __future__ import annotations

from typing import Any

from .verdict import VERDICTS


def _cell(text: Any) -> str:
    s = "" if text is None else str(text)
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def _estimate(m: dict[str, Any]) -> str:
    e = m.get("estimate")
    if not e:
        return _cell(m.get("reason") or "")
    s = _fmt(e["value"])
    if e.get("lo") is not None and e.get("hi") is not None:
        s += f" [{_fmt(e['lo'])}, {_fmt(e['hi'])}]"
    if e.get("n"):
        s += f" (n={e['n']})"
    return s


def _coverage(cov: Any) -> list[str]:
    """The source-coverage table: per seed, its units, how many have claims, no-claim marks by category, gaps."""
    if not isinstance(cov, dict) or not cov.get("seeds"):
        return []
    out = ["## Source coverage", "",
           "Units of each seed linked to claims, or marked no-claim with a category and a reason "
           f"(map: `{_cell(cov.get('map') or 'none')}`); *needs a claim* marks a checkable unit no claim covers yet.",
           "", "| seed | title | units | with claims | no claim, by category | needs a claim | unmapped "
           "| linked or marked |", "|---|---|---|---|---|---|---|---|"]
    for sd in cov["seeds"]:
        c = sd.get("counts") or {}
        cats = ", ".join(f"{k} {v}" for k, v in sorted((c.get("no_claim") or {}).items())) or "—"
        out.append(f"| `{_cell(sd.get('seed'))}` | {_cell(sd.get('title'))} | {c.get('units', 0)} | "
                   f"{c.get('with_claims', 0)} | {_cell(cats)} | {c.get('needs_claim', 0)} | {c.get('unmapped', 0)} | "
                   f"{_fmt(c.get('covered_pct'))}% |")
    out.append("")
    errors = cov.get("errors") or []
    if errors:
        out += [f"**{len(errors)} problem(s) in the coverage map** (`quantproof check` fails on them):", ""]
        out += [f"- {_cell(e)}" for e in errors[:50]]
        out += [f"- … and {len(errors) - 50} more"] if len(errors) > 50 else []
        out.append("")
    if cov.get("unreached"):
        out += ["Claims no unit reaches: " + ", ".join(f"`{_cell(x)}`" for x in cov["unreached"]), ""]
    return out


def render_markdown(ledger: dict[str, Any]) -> str:
    prov = ledger["provenance"]
    summ = ledger["summary"]
    out = ["# QuantProof ledger", ""]
    if not ledger.get("complete", True):
        out += ["> **Partial run**: " + _cell(str(ledger.get("selection"))) + " — not a complete ledger.", ""]
    lean = prov.get("lean", {})
    out += [
        f"- commit `{prov.get('commit')}`{' (dirty)' if prov.get('dirty') else ''}; device {prov.get('device')} "
        f"({_cell(prov.get('device_name'))}), dtype {prov.get('dtype')}, seed {prov.get('seed')}",
        f"- Lean: toolchain `{lean.get('toolchain')}`, Mathlib `{lean.get('mathlib')}`, "
        f"built: **{'yes' if lean.get('built') else 'no — proofs not kernel-checked'}** (lake: {lean.get('lake')})",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in sorted(prov.get("versions", {}).items()) if v),
        f"- claims.yaml sha256 `{prov.get('claims_sha256')}`",
        "",
        "## Summary",
        "",
        "| verdict | claims |",
        "|---|---|",
    ]
    out += [f"| {v} | {summ['by_verdict'].get(v, 0)} |" for v in VERDICTS if summ["by_verdict"].get(v)]
    out += ["", f"Total: {summ['total']} claims.", ""]
    out += _coverage(ledger.get("coverage"))
    out += ["## Claims", "",
            "| id | seed | kind | verdict | formal | tests | measurements | reason |", "|---|---|---|---|---|---|---|---|"]
    for c in ledger["claims"]:
        t = c["tests"]
        tests = f"{t['status']} ({t['passed']}✓ {t['failed']}✗)" if t["status"] != "none" else "—"
        meas = ", ".join(m["outcome"] for m in c["measurements"]) or "—"
        out.append(f"| `{c['id']}` | {c['seed'][:3]} | {c['kind']} | **{c['verdict']}** | {c['formal']['status']} | "
                   f"{tests} | {meas} | {_cell(c['reason'])} |")
    out += ["", "## Evidence", ""]
    for c in ledger["claims"]:
        rule = f" (rule {_cell(c['rule'])})" if c.get("rule") else ""
        out += [f"### `{c['id']}` — {_cell(c['title'])}", "",
                f"**{c['verdict']}**{rule}: {_cell(c['reason'])}", "",
                f"> {_cell(c['quote'])} — seed {c['seed']}", "",
                f"Statement: {_cell(c['statement'])}", ""]
        if c.get("corrected"):
            out += [f"Corrected statement: {_cell(c['corrected'])}", ""]
        assumptions = [a for a in c.get("assumptions") or [] if isinstance(a, dict)]
        if assumptions:
            out += ["Assumptions:", ""]
            out += [f"- {_cell(a.get('text'))} ({_cell(a.get('by') or '—')}"
                    + (f", {_cell(a.get('kind'))}" if a.get("kind") else "") + ")" for a in assumptions]
            out.append("")
        if c.get("notes"):
            out += [f"Notes: {_cell(c['notes'])}", ""]
        for d in c["formal"]["declarations"]:
            out.append(f"- Lean `{d['name']}` ({d['role']}): {d['status']}" +
                       (f" — {_cell(d['message'])}" if d.get("message") else ""))
        for i in c["tests"]["items"]:
            line = f"- test `{i['id']}` ({i['role']}): {i['outcome']}"
            if i.get("counterexample"):
                line += f" — counterexample: `{_cell(i['counterexample'])[:300]}`"
            out.append(line)
        st = c["tests"].get("strength")
        if isinstance(st, dict):
            rate = st.get("kill_rate")
            out.append(f"- mutation strength: {st.get('killed')}/{(st.get('mutants') or 0) - (st.get('equivalent') or 0)}"
                       f" mutants killed ({f'{rate:.2f}' if isinstance(rate, (int, float)) else '—'}; threshold "
                       f"{st.get('threshold')}): **{'meets' if st.get('meets_threshold') else 'below'}**"
                       + (" — stale" if st.get("stale") else "") + f"; {st.get('survivor_count', 0)} surviving")
        elif c["tests"]["items"]:
            out.append("- mutation strength: no record")
        for m in c["measurements"]:
            out.append(f"- measurement `{m['name']}` {_cell(m['params'])} → {m['output']} ({m['role']}): "
                       f"{_estimate(m)}; expected {_cell(m['expect'])}: **{m['outcome']}**"
                       + (f"; model {_cell(m['model'])}" if m.get("model") else ""))
        out.append("")
    return "\n".join(out) + "\n"
