"""The page's vocabulary and colours: verdict and status names, their display order, and every colour pair.

Policy: each (text, background) pair the page uses is listed by :func:`contrast_pairs` with the WCAG 2.x contrast
it must reach (4.5:1 for text, 3:1 for graphics and focus rings); the unit tests check every pair, so a colour
cannot be changed into an unreadable one. Nothing here reads a ledger.
"""

from __future__ import annotations

# Display order of the verdicts (best-supported first; "error" last: the table's descending sort starts with it).
VERDICTS: tuple[str, ...] = ("verified", "supported", "conditional", "refuted", "mis-stated", "vacuous",
                             "not-reproduced", "conflicting", "unsupported", "open", "unchecked", "error")

VERDICT_HELP: dict[str, str] = {
    "verified": "an asserting Lean proof is kernel-checked",
    "supported": "asserting tests or measurements hold",
    "conditional": "holds only under a hypothesis the project added",
    "refuted": "the literal claim is contradicted",
    "mis-stated": "false as written, a corrected statement holds",
    "vacuous": "true only trivially",
    "not-reproduced": "the seed's figure did not reproduce on our model",
    "conflicting": "evidence disagrees",
    "unsupported": "evidence ran and did not establish the claim (nor its negation)",
    "open": "a conjecture, or stated only with sorry",
    "unchecked": "nothing decisive ran",
    "error": "every piece of evidence crashed",
}

# (text colour, background colour) for each verdict badge; every pair has contrast >= 4.5:1 (unit-tested).
VERDICT_COLORS: dict[str, tuple[str, str]] = {
    "verified": ("#0b4a1f", "#c9eed5"),
    "supported": ("#24511a", "#e4f4d6"),
    "conditional": ("#0b4a52", "#d3eff2"),
    "refuted": ("#8a0f0f", "#fbd9d9"),
    "mis-stated": ("#733500", "#fde2c6"),
    "vacuous": ("#4a2a7a", "#ebe0f8"),
    "not-reproduced": ("#5e4600", "#fbefc0"),
    "conflicting": ("#7a1250", "#f9d7ec"),
    "unsupported": ("#5a3a1a", "#efe3d5"),
    "open": ("#143f7a", "#dbe8fb"),
    "unchecked": ("#383d44", "#e6e8eb"),
    "error": ("#ffffff", "#8a0f0f"),
}
UNKNOWN_VERDICT = ("#383d44", "#ffffff")

# Tones for channel statuses (text colour, background colour); also >= 4.5:1.
TONE_COLORS: dict[str, tuple[str, str]] = {
    "good": ("#0b4a1f", "#dcf3e3"),
    "bad": ("#8a0f0f", "#fde0e0"),
    "warn": ("#663d00", "#fff0cc"),
    "info": ("#143f7a", "#e0ebfc"),
    "neutral": ("#383d44", "#eceef1"),
    "error": ("#ffffff", "#8a0f0f"),
}

STATUS_TONES: dict[str, dict[str, str]] = {
    "formal": {"proved": "good", "refuted": "bad", "sorry": "warn", "build-failed": "error", "missing": "warn",
               "not-built": "neutral", "open": "info", "none": "neutral", "blocked": "warn",
               "axioms-rejected": "error", "statement-changed": "warn"},
    "tests": {"passed": "good", "failed": "bad", "error": "error", "skipped": "neutral", "none": "neutral",
              "not-run": "neutral"},
    "measurements": {"consistent": "good", "inconsistent": "bad", "inconclusive": "info", "not-run": "neutral",
                     "error": "error", "mixed": "info", "none": "neutral"},
}
STATUS_ORDER: dict[str, tuple[str, ...]] = {
    "formal": ("proved", "refuted", "sorry", "build-failed", "missing", "not-built", "open", "none"),
    "tests": ("passed", "failed", "error", "skipped", "not-run", "none"),
    "measurements": ("consistent", "inconsistent", "mixed", "not-run", "error", "none"),
}
CHANNELS = ("formal", "tests", "measurements")
CHANNEL_LABELS = {"formal": "Formal (Lean)", "tests": "Tests", "measurements": "Measurements"}
KIND_ORDER = ("theorem", "asymptotic", "arithmetic", "empirical", "definitional", "conjecture")

# Tones of a measurement's discrimination and a control's expectation (shown as badges).
DISCRIMINATION_TONES = {"discriminating": "good", "exact": "good", "non-discriminating": "bad",
                        "undetermined": "warn"}

# Colours of the seed documents' units by coverage: a unit with claims is drawn with the colours of its verdicts;
# a no-claim unit and a unit the map does not mention get these (text, background).
# (Gaps are drawn on white with a dashed or wavy underline, so they cannot be mistaken for the amber and red of the
# not-reproduced and refuted verdicts.)
COVERAGE_COLORS: dict[str, tuple[str, str]] = {
    "no-claim": ("#383d44", "#f0f1f3"),
    "needs-claim": ("#5c3d00", "#ffffff"),
    "unmapped": ("#8a0f0f", "#ffffff"),
}

THEME: dict[str, str] = {
    "text": "#1b1f24",
    "muted": "#525a63",
    "bg": "#ffffff",
    "panel": "#f5f7f9",
    "border": "#c4cad1",
    "link": "#0a55c2",
    "focus": "#0a55c2",
    "accent_bg": "#12305a",
    "accent_text": "#ffffff",
    "code_bg": "#f1f3f5",
    "counterexample_bg": "#fff4f4",
    "counterexample_border": "#b42318",
    "axis": "#3f464e",
    "grid": "#e3e6ea",
    "region_bg": "#dbe8fb",
    "region_text": "#143f7a",
}

# Series colours for plots (graphics need >= 3:1 against white; unit-tested) with distinct markers and dashes, so
# no series is told apart by colour alone.
PLOT_PALETTE: tuple[str, ...] = ("#0a62a8", "#c0470a", "#007a52", "#a3367b", "#6b5500", "#5b4aa0", "#4d5560")
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X")
DASHES: tuple[tuple[float, ...], ...] = ((), (6, 3), (2, 3), (8, 3, 2, 3), (1, 2), (10, 4), (4, 2, 1, 2))
OUTCOME_COLORS = {"consistent": "#0b4a1f", "inconsistent": "#8a0f0f"}
OUTCOME_OTHER = "#383d44"


def relative_luminance(color: str) -> float:
    """WCAG 2.x relative luminance of a ``#rgb`` / ``#rrggbb`` colour."""
    c = color.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    if len(c) != 6:
        raise ValueError(f"not a hex colour: {color!r}")
    chans = []
    for i in (0, 2, 4):
        v = int(c[i:i + 2], 16) / 255.0
        chans.append(v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4)
    r, g, b = chans
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio (1..21) between two colours."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def contrast_pairs() -> list[tuple[str, str, str, float]]:
    """Every (name, foreground, background, required ratio) colour pair the page uses for text or graphics."""
    t = THEME
    pairs: list[tuple[str, str, str, float]] = [
        ("body text", t["text"], t["bg"], 4.5),
        ("body text on panel", t["text"], t["panel"], 4.5),
        ("muted text", t["muted"], t["bg"], 4.5),
        ("muted text on panel", t["muted"], t["panel"], 4.5),
        ("link", t["link"], t["bg"], 4.5),
        ("link on panel", t["link"], t["panel"], 4.5),
        ("code", t["text"], t["code_bg"], 4.5),
        ("counterexample", t["text"], t["counterexample_bg"], 4.5),
        ("header", t["accent_text"], t["accent_bg"], 4.5),
        ("focus ring", t["focus"], t["bg"], 3.0),
        ("focus ring on panel", t["focus"], t["panel"], 3.0),
        ("plot axis text", t["axis"], t["bg"], 4.5),
        ("plot claimed-region label", t["region_text"], t["bg"], 4.5),
        ("plot claimed-region edge", t["region_text"], t["region_bg"], 3.0),
    ]
    for v, (fg, bg) in VERDICT_COLORS.items():
        pairs.append((f"verdict {v}", fg, bg, 4.5))
    for tone, (fg, bg) in TONE_COLORS.items():
        pairs.append((f"tone {tone}", fg, bg, 4.5))
    for name, (fg, bg) in COVERAGE_COLORS.items():
        pairs.append((f"coverage {name}", fg, bg, 4.5))
    for i, c in enumerate(PLOT_PALETTE):
        pairs.append((f"plot series {i}", c, t["bg"], 3.0))
    for name, c in OUTCOME_COLORS.items():
        pairs.append((f"plot estimate {name}", c, t["bg"], 3.0))
    pairs.append(("plot estimate other", OUTCOME_OTHER, t["bg"], 3.0))
    return pairs


def theme_css() -> str:
    """The colour part of the stylesheet: :root variables and one rule per verdict, tone and coverage state."""
    t = THEME
    root = (":root{color-scheme:light;" + "".join(f"--{k}:{v};" for k, v in (
        ("text", t["text"]), ("muted", t["muted"]), ("bg", t["bg"]), ("panel", t["panel"]), ("border", t["border"]),
        ("link", t["link"]), ("focus", t["focus"]), ("code", t["code_bg"]), ("accent-bg", t["accent_bg"]),
        ("accent-text", t["accent_text"]), ("ce-bg", t["counterexample_bg"]),
        ("ce-border", t["counterexample_border"]))) + "}\n")
    rules = "".join(f".v-{v}{{color:{fg};background:{bg};border-color:{fg}33}}\n"
                    for v, (fg, bg) in VERDICT_COLORS.items())
    rules += f".v-unknown{{color:{UNKNOWN_VERDICT[0]};background:{UNKNOWN_VERDICT[1]};border-color:#383d44}}\n"
    rules += "".join(f".t-{k}{{color:{fg};background:{bg}}}\n" for k, (fg, bg) in TONE_COLORS.items())
    rules += "".join(f".u-{k}{{color:{fg};background:{bg}}}\n" for k, (fg, bg) in COVERAGE_COLORS.items())
    return "\n" + root + rules
