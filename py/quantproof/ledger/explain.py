"""``quantproof explain ID``: why a claim got its verdict, from the ledger alone.

The text lists the verdict and the rule that fired (ledger/verdict.py), then every piece of evidence the rules saw —
its role, its state, the numbers (value, interval, expectation, each control's value and outcome, a test's
counterexample, a Lean declaration's status, the tests' mutation strength) and, where it decided nothing, why — then the claim's assumptions,
premises and corrected statement. A pure function of the ledger's claim record; printing is the CLI's job.
"""

from __future__ import annotations

from typing import Any

from .verdict import VERDICT_RULES


def _num(v: Any) -> str:
    return f"{float(v):.6g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _estimate(est: dict[str, Any] | None) -> str:
    if not est:
        return "no value"
    s = _num(est.get("value"))
    if isinstance(est.get("lo"), (int, float)) and isinstance(est.get("hi"), (int, float)):
        lvl = est.get("level")
        s += f" [{_num(est['lo'])}, {_num(est['hi'])}]" + (f" ({lvl:.0%} interval" if lvl else " (interval")
        s += f", {est['method']})" if est.get("method") else ")"
    elif est.get("method"):
        s += f" ({est['method']})"
    if est.get("n"):
        s += f", n = {est['n']}"
    return s


def expect_text(x: dict[str, Any] | None) -> str:
    """An expectation as ledger.json stores it, in words: '= 8 ± 0.5', 'in [0.919, 0.965]', '> 2.4', …"""
    if not x:
        return "none"
    if "value" in x:
        return f"= {_num(x['value'])}" + (f" ± {_num(x['tol'])}" if x.get("tol") else "")
    if "band" in x:
        return f"in [{_num(x['band'][0])}, {_num(x['band'][1])}]"
    if "compare" in x:
        c = x["compare"]
        op = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}.get(c.get("op"), c.get("op"))
        return f"{op} {c.get('with')}" + (f" + {_num(c['margin'])}" if c.get("margin") else "")
    ops = {"at_least": "≥", "at_most": "≤", "greater_than": ">", "less_than": "<"}
    k = next(iter(x))
    return f"{ops.get(k, k)} {_num(x[k])}"


def _measurement_lines(m: dict[str, Any]) -> list[str]:
    out = [f"  measurement {m['name']}.{m['output']} [{m['role']}] params {m.get('params')}"]
    out.append(f"    value       {_estimate(m.get('estimate'))}")
    out.append(f"    expectation {expect_text(m.get('expect'))}  ->  {m.get('outcome')}"
               + (f"  ({m['reason']})" if m.get("reason") else ""))
    if m.get("exact"):
        out.append("    exact by construction (no interval needed)")
    for c in m.get("controls") or []:
        out.append(f"    control     '{c['label']}' (should {c['should']}): {_estimate(c.get('estimate'))}"
                   f"  ->  {c.get('outcome')}" + (f" ({c['reason']})" if c.get("reason") else ""))
    if m.get("discrimination"):
        out.append(f"    discrimination: {m['discrimination']}")
    for b in m.get("seed_values") or []:
        out.append(f"    seed figure {b['name']} = {b['value']} from \"{b['quote']}\"")
    if m.get("model"):
        out.append(f"    model       {m['model']}")
    return out


def strength_lines(st: dict[str, Any] | None, has_tests: bool, cid: str = "ID") -> list[str]:
    """The claim's mutation strength (``tests.strength``): kill rate, counts, threshold, staleness, survivors."""
    if not isinstance(st, dict):
        return ["  mutation strength: no record (`quantproof strength` has not measured these tests)"] if has_tests \
            else []
    rate = st.get("kill_rate")
    live = (st.get("mutants") or 0) - (st.get("equivalent") or 0)
    thr = st.get("threshold")
    head = (f"  mutation strength: {st.get('killed')}/{live} mutants killed"
            + (f" ({rate:.2f})" if isinstance(rate, (int, float)) else " (nothing to kill)")
            + (f", threshold {thr:.2f}" if isinstance(thr, (int, float)) else "")
            + f", {'meets' if st.get('meets_threshold') else 'below'} it"
            + (", STALE (code changed since)" if st.get("stale") else "")
            + f"; {st.get('survivor_count', 0)} surviving, {st.get('equivalent', 0)} equivalent")
    out = [head]
    for sv in st.get("survivors") or []:
        out.append(f"    survivor {sv.get('file')}:{sv.get('line')} {sv.get('change')} — {sv.get('reason')}")
    if (st.get("survivor_count") or 0) > len(st.get("survivors") or []):
        out.append(f"    … `quantproof strength --show {cid}` lists all of them")
    for t in st.get("no_project_code") or []:
        out.append(f"    runs no project code (no evidence): {t}")
    return out


def explain(claim: dict[str, Any]) -> str:
    """The explanation of one ledger claim record (a dict from ledger.json's ``claims``)."""
    lines = [f"{claim['id']}: {claim['verdict']}" + (f"  (rule {claim['rule']}: {VERDICT_RULES.get(claim['rule'], '')})"
                                                    if claim.get("rule") else ""),
             f"  {claim.get('title', '')}",
             f"  statement: {claim.get('statement', '')}",
             f"  reason: {claim.get('reason', '')}", ""]
    ev = claim.get("evidence") or []
    if ev:
        lines.append("evidence the rules saw:")
        for e in ev:
            mark = "decisive" if e.get("decisive") else f"not decisive: {e.get('why_not_decisive')}"
            lines.append(f"  [{e['channel']}/{e['role']}] {e['state']:7} {e.get('detail') or e['label']}  ({mark})")
        lines.append("")
    for d in (claim.get("formal") or {}).get("declarations", []):
        lines.append(f"  Lean {d['name']} [{d['role']}]: {d['status']}" + (f" — {d['message']}" if d.get("message")
                                                                              else ""))
    for t in (claim.get("tests") or {}).get("items", []):
        lines.append(f"  test {t['id']} [{t['role']}]: {t['outcome']}" + (f" — {t['message']}" if t.get("message")
                                                                          else ""))
        if t.get("counterexample"):
            lines.extend("      " + line for line in str(t["counterexample"]).splitlines())
    tests = claim.get("tests") or {}
    lines.extend(strength_lines(tests.get("strength"), bool(tests.get("items")), claim["id"]))
    for m in claim.get("measurements") or []:
        lines.extend(_measurement_lines(m))
    if claim.get("assumptions"):
        lines.append("")
        lines.append("assumptions of the reading:")
        for a in claim["assumptions"]:
            lines.append(f"  - {a['text']}  ({a['kind']}, {'the seed' if a['by'] == 'seed' else 'ours'})")
    if claim.get("premises"):
        lines.append(f"premises: {', '.join(claim['premises'])}")
    if claim.get("corrected"):
        lines.append(f"corrected statement: {claim['corrected']}")
    if claim.get("notes"):
        lines.append(f"notes: {claim['notes']}")
    return "\n".join(lines).rstrip() + "\n"
