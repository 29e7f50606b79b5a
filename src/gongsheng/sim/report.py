"""The study's report: CSV tables, PNG charts and one self-contained HTML page, in one folder.

Files written (all in ``out``):

- ``periods.csv``: per period, every figure of :data:`~gongsheng.sim.figures.FIGURES` as p5,
  p50 and p95 across runs (money in yuan);
- ``runs.csv``: per run and period, the main figures (for one's own analysis);
- ``completion.csv``: per start period, release periods to complete (p5/p50/p95);
- ``earnings.csv``: percentiles of partners' and BMs' yearly earnings (yuan), all runs pooled;
- ``top_partners.csv``: per run, the top partner's yearly earnings and its share from dividends;
- ``answers.csv`` and ``summary.json``: the headline answers;
- ``growth_search.csv``, ``saturation.csv``, ``sweep.csv``, ``abuse.csv`` when computed;
- ``overview.png``, ``completion.png``, ``earnings.png``, ``growth_search.png``, ``sweep.png``,
  ``abuse.png``;
- ``report.html``: everything above, the charts embedded, readable offline.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gongsheng.sim import plots
from gongsheng.sim.abuse import AbusePoint, AbuseStudy
from gongsheng.sim.answers import (
    CLAIM_BM_YUAN,
    CLAIM_PARTNER_DIVIDEND_SHARE,
    CLAIM_TOP_PARTNER_YUAN,
    completion_bands,
    summary_rows,
)
from gongsheng.sim.figures import FIGURES
from gongsheng.sim.scenario import Abuse
from gongsheng.sim.study import Study

YUAN = 100.0
EARNING_QUANTILES = (0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100)
MAIN_FIGURES = ("gmv", "registered", "release", "release_rate", "pool_available",
                "vouchers_outstanding", "unreleased", "funded_by_new", "pool_coverage")


def _unit_scale(key: str) -> float:
    return YUAN if FIGURES[key][1] == "fen" else 1.0


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_fmt(v) for v in row])
    return path


def _fmt(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        x = float(v)
        return "" if np.isnan(x) else (f"{x:.6g}" if abs(x) < 1e15 else f"{x:.6e}")
    return v


def headline(study: Study) -> dict[str, Any]:
    """The answers in numbers (what ``summary.json`` holds and the paragraph quotes)."""
    ens = study.main
    s = ens.scenario
    comp = completion_bands(ens)
    rows = summary_rows(ens)
    e = study.earnings
    out: dict[str, Any] = {
        "scenario": s.name, "mode": ens.mode, "runs": len(ens.runs), "seed": study.seed,
        "periods": s.periods, "policy": s.policy.name, "controller": s.policy.release.controller.value,
        "nominal_periods": s.policy.release.nominal_periods,
        "registered_end": rows["registered consumers at the end"],
        "gmv_total_yuan": rows["GMV over the horizon (yuan)"],
        "release_rate_last": rows["release rate in the last period"],
        "periods_at_last_rate": float(np.nanmedian(ens.figure("periods_at_rate")[:, -1])),
        "completion_period0_p5_p50_p95": [float(x) for x in comp[:, 0]] if comp.size else [],
        "completion_last_start_p50": float(comp[1, -2]) if comp.shape[1] > 1 else None,
        "funded_by_new_p50_last": float(ens.bands("funded_by_new")[1, -1]),
        "top_partner_yuan_p50": float(np.median(e.top_partner)) if len(e.top_partner) else None,
        "top_partner_dividend_share_p50":
            float(np.nanmedian(e.top_partner_dividend_share)) if len(e.top_partner) else None,
        "partner_yuan_p50": float(np.median(e.partner_total)) if len(e.partner_total) else None,
        "bm_yuan_p50": float(np.median(e.bm)) if len(e.bm) else None,
        "bm_yuan_p99": float(np.percentile(e.bm, 99)) if len(e.bm) else None,
        "bm_share_over_1m": e.bm_share_over_claim,
        "claims": {"top_partner_yuan": CLAIM_TOP_PARTNER_YUAN,
                   "partner_dividend_share": CLAIM_PARTNER_DIVIDEND_SHARE,
                   "bm_yuan": CLAIM_BM_YUAN},
    }
    if study.growth is not None:
        out["growth_needed_monthly"] = study.growth.needed
        out["growth_search_high"] = study.growth.high
    if study.abuse is not None:
        out["abuse"] = abuse_headline(study.abuse, s.abuse)
    if study.shortfall is not None:
        sf = study.shortfall
        out["promise_runs_short"] = sf.runs_short
        out["promise_runs"] = len(sf.first_short)
        out["promise_first_short_period_p50"] = (
            float(np.nanmedian(sf.first_short)) if sf.runs_short else None)
        out["promise_max_unfunded_yuan_p50"] = float(np.median(sf.max_unfunded_fen)) / YUAN
    return out


def abuse_headline(st: AbuseStudy, a: Abuse) -> dict[str, Any]:
    """The abuse study's answers: the scenario's own point and where the scheme stops paying."""
    p = st.scenario_point
    first = st.controllers[0]
    free = {c: st.point(c, st.holds[0], st.rates[0]) for c in st.controllers}
    return {
        "merchant_share": a.merchant_share, "fake_consumers": a.fake_consumers,
        "spend_yuan": a.spend_fen / YUAN, "runs": st.runs,
        "controller": p.controller, "hold_periods": p.hold, "detection_rate": p.detection,
        "rings": p.rings, "release_share": p.release_share, "cashed_share": p.cashed_share,
        "gain_per_ring_yuan": p.gain_per_ring / YUAN, "gain_over_spend": p.gain_over_spend,
        "completion_delay": p.completion_delay,
        "baseline_completion": st.baseline_completion.get(p.controller),
        "deficit_extra_yuan": p.deficit_extra / YUAN,
        "undetected": {c: {"hold": st.holds[0], "detection_rate": st.rates[0],
                           "gain_over_spend": x.gain_over_spend,
                           "gain_per_ring_yuan": x.gain_per_ring / YUAN,
                           "release_share": x.release_share,
                           "completion_delay": x.completion_delay,
                           "deficit_extra_yuan": x.deficit_extra / YUAN}
                       for c, x in free.items() if x is not None},
        "break_even": {f"{c} hold {h}": {"grid_rate": r, "crossing": x}
                       for (c, h), (r, x) in st.break_even.items()},
        "first_controller": first,
    }


def _abuse_row(p: AbusePoint) -> list[Any]:
    """One point of the abuse study as a table row (money in yuan)."""
    return [getattr(p, c) / YUAN if c in ABUSE_FEN else getattr(p, c) for c in ABUSE_COLUMNS]


def abuse_paragraph(h: dict[str, Any]) -> str:
    """The abuse answer in plain English (the README's abuse paragraph)."""
    parts = [
        f"With {h['merchant_share'] * 100:.0f}% of the voucher-accepting alliance merchants "
        f"wash-trading ({h['rings']:.0f} rings, each buying {h['spend_yuan']:.0f} yuan a month "
        f"through each of {h['fake_consumers']} fake accounts), under `{h['controller']}` with a "
        f"{h['hold_periods']}-month hold and {h['detection_rate'] * 100:.0f}% detection a month "
        f"the rings take {h['release_share'] * 100:.2f}% of all vouchers released and keep "
        f"{h['cashed_share'] * 100:.2f}%; a ring's net gain is {h['gain_per_ring_yuan']:,.0f} "
        f"yuan ({h['gain_over_spend'] * 100:+.0f}% of the concessions it paid)."]
    for c, u in h["undetected"].items():
        words = (f"Undetected and with a {u['hold']}-month hold, under `{c}` a ring gets back "
                 f"{(1 + u['gain_over_spend']) * 100:.0f}% of its concessions "
                 f"({u['gain_per_ring_yuan']:,.0f} yuan per ring); the rings take "
                 f"{u['release_share'] * 100:.1f}% of the releases")
        if u["completion_delay"] > 0.05:
            words += f" and honest holdings complete {u['completion_delay']:.1f} periods later"
        if u["deficit_extra_yuan"] > 0:
            words += (f" and the pool's unfunded promise grows by "
                      f"{u['deficit_extra_yuan'] / 1e6:.1f} million yuan")
        parts.append(words + ".")
    stops = []
    for key, b in h["break_even"].items():
        if b["grid_rate"] is None:
            stops.append(f"{key}: no detection rate of the grid")
        elif b["grid_rate"] == 0:
            stops.append(f"{key}: it never pays")
        else:
            stops.append(f"{key}: from about {b['crossing'] * 100:.0f}% a month")
    parts.append("The scheme stops paying its rings (" + "; ".join(stops) + ").")
    return " ".join(parts)


def paragraph(h: dict[str, Any]) -> str:
    """The answer in one paragraph of plain English (the README's)."""
    c = h["completion_period0_p5_p50_p95"]
    parts = [
        f"Under the `{h['controller']}` controller of the `{h['policy']}` policy, the "
        f"`{h['scenario']}` scenario ({h['runs']} Monte Carlo runs, {h['mode']} mode) reaches "
        f"{h['registered_end'] / 1e6:.2f} million registered consumers and "
        f"{h['gmv_total_yuan'] / 1e9:.1f} billion yuan of GMV in {h['periods']} months.",
    ]
    if c:
        parts.append(
            f"A holding earned in the first month takes {c[1]:.0f} monthly releases to reach its "
            f"cap (p5-p95: {c[0]:.0f}-{c[2]:.0f}) instead of the promised {h['nominal_periods']}; "
            f"in the last month the pool pays {h['release_rate_last'] * 100:.2f}% of a cap per "
            f"period, so a new holding would take {h['periods_at_last_rate']:.0f} months.")
    parts.append(
        f"The period's own new concessions fund {h['funded_by_new_p50_last'] * 100:.0f}% of "
        "the last release.")
    if h.get("growth_search_high") is not None:
        g = h.get("growth_needed_monthly")
        parts.append(
            f"Keeping the {h['nominal_periods']}-period promise needs a constant monthly growth of "
            f"about {g * 100:.1f}%." if g is not None else
            f"No constant monthly growth up to {h['growth_search_high'] * 100:.0f}% keeps the "
            f"{h['nominal_periods']}-period promise.")
    if h.get("promise_runs") is not None:
        if h["promise_runs_short"]:
            parts.append(
                f"Paying the promise regardless (`promise`), the pool stops covering the vouchers "
                f"outstanding in month {h['promise_first_short_period_p50']:.0f} "
                f"({h['promise_runs_short']} of {h['promise_runs']} runs), with up to "
                f"{h['promise_max_unfunded_yuan_p50'] / 1e6:.1f} million yuan unfunded.")
        else:
            parts.append("Paying the promise regardless (`promise`), the pool still covers the "
                         "vouchers outstanding over the horizon.")
    if h.get("top_partner_yuan_p50") is not None:
        parts.append(
            f"The top city partner earns {h['top_partner_yuan_p50'] / 1e6:.2f} million yuan in the "
            f"last year ({h['top_partner_dividend_share_p50'] * 100:.0f}% from dividends; the seed "
            f"claims over 3.27 million, 70%); the median partner "
            f"{h['partner_yuan_p50'] / 1e3:.0f} thousand. The median business manager earns "
            f"{h['bm_yuan_p50'] / 1e3:.0f} thousand yuan a year and the top 1% "
            f"{h['bm_yuan_p99'] / 1e3:.0f} thousand "
            f"({h['bm_share_over_1m'] * 100:.1f}% reach the seed's million).")
    if h.get("abuse") is not None:
        parts.append(abuse_paragraph(h["abuse"]))
    return " ".join(parts)


def write_tables(study: Study, out: Path) -> list[Path]:
    ens = study.main
    periods = ens.scenario.periods
    bands = {k: ens.bands(k) / _unit_scale(k) for k in FIGURES}
    header = ["period"] + [f"{k}_{q}" for k in FIGURES for q in ("p5", "p50", "p95")]
    rows = ([t] + [bands[k][i, t] for k in FIGURES for i in range(3)] for t in range(periods))
    files = [_write_csv(out / "periods.csv", header, rows)]
    run_rows = ([j, t] + [r.figures[k][t] / _unit_scale(k) for k in MAIN_FIGURES]
                for j, r in enumerate(ens.runs) for t in range(periods))
    files.append(_write_csv(out / "runs.csv", ["run", "period", *MAIN_FIGURES], run_rows))
    comp = completion_bands(ens)
    files.append(_write_csv(out / "completion.csv", ["start_period", "p5", "p50", "p95"],
                            ([k, *comp[:, k]] for k in range(comp.shape[1]))))
    e = study.earnings
    dist = [(role, q, float(np.percentile(values, q)) if len(values) else np.nan)
            for role, values in (("partner (dividend + team)", e.partner_total),
                                 ("partner dividend", e.partner_dividend), ("bm", e.bm))
            for q in EARNING_QUANTILES]
    files.append(_write_csv(out / "earnings.csv", ["role", "percentile", "yuan_per_year"], dist))
    files.append(_write_csv(out / "top_partners.csv",
                            ["run", "top_partner_yuan_per_year", "share_from_dividends"],
                            ((i, v, d) for i, (v, d) in enumerate(
                                zip(e.top_partner, e.top_partner_dividend_share, strict=True)))))
    h = headline(study)
    files.append(_write_csv(out / "answers.csv", ["answer", "value"],
                            ((k, v) for k, v in h.items() if not isinstance(v, dict | list))))
    (out / "summary.json").write_text(json.dumps(h, indent=2, default=float), encoding="utf-8")
    files.append(out / "summary.json")
    if study.abuse is not None:
        files.append(_write_csv(out / "abuse.csv", ABUSE_COLUMNS,
                                (_abuse_row(p) for p in study.abuse.points)))
    if study.growth is not None:
        files.append(_write_csv(out / "growth_search.csv", ["monthly_growth", "share_of_runs_kept"],
                                study.growth.tried))
    if study.saturation is not None:
        files.append(_write_csv(out / "saturation.csv",
                                ["figure", "scenario", study.saturation.variant_label],
                                study.saturation.rows))
    if len(study.ensembles) > 1:
        keys = list(summary_rows(study.ensembles[0]))
        files.append(_write_csv(out / "sweep.csv", ["point", *keys],
                                ([e.label, *summary_rows(e).values()] for e in study.ensembles)))
    return files


def write_charts(study: Study, out: Path) -> dict[str, Path]:
    ens = study.main
    bands = {k: ens.bands(k) for k in FIGURES}
    charts = {"overview": plots.overview(bands, f"{ens.scenario.name}: {len(ens.runs)} runs, "
                                         f"p5-p50-p95", out / "overview.png"),
              "completion": plots.completion(completion_bands(ens),
                                             ens.scenario.policy.release.nominal_periods,
                                             out / "completion.png"),
              "earnings": plots.earnings(study.earnings.partner_total, study.earnings.bm,
                                         (CLAIM_TOP_PARTNER_YUAN, CLAIM_BM_YUAN),
                                         out / "earnings.png")}
    if study.growth is not None:
        charts["growth_search"] = plots.growth_search(list(study.growth.tried), study.growth.needed,
                                                      out / "growth_search.png")
    if study.abuse is not None:
        st = study.abuse
        charts["abuse"] = plots.abuse(list(st.rates), {c: {h: st.gain(c, h) for h in st.holds}
                                                       for c in st.controllers},
                                      out / "abuse.png")
    if len(study.ensembles) > 1:
        rows = [summary_rows(e) for e in study.ensembles]
        picked = ("GMV over the horizon (yuan)", "release rate in the last period",
                  "periods a holding of period 0 takes")
        charts["sweep"] = plots.sweep([e.label for e in study.ensembles],
                                      {k: [r[k] for r in rows] for k in picked}, out / "sweep.png")
    return charts


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(_fmt(v)))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_html(study: Study, out: Path, charts: dict[str, Path], command: str) -> Path:
    ens = study.main
    s = ens.scenario
    h = headline(study)
    last = {k: ens.bands(k)[:, -1] / _unit_scale(k) for k in FIGURES}
    sections = [
        f"<h1>Simulation: {html.escape(s.name)}</h1>",
        f"<p>{html.escape(s.description)}</p>",
        f"<p><code>{html.escape(command)}</code> &middot; policy {html.escape(s.policy.name)} "
        f"({s.policy.digest}) &middot; {ens.mode} mode &middot; {len(ens.runs)} runs &middot; "
        f"seed {study.seed}</p>",
        "<h2>The answer</h2>", f"<p>{html.escape(paragraph(h))}</p>",
        "<h2>Per period (p5 / p50 / p95 across runs)</h2>", _img(charts["overview"]),
        "<h3>Last period, every figure</h3>",
        _table(["figure", "unit", "p5", "p50", "p95"],
               ((FIGURES[k][0], "yuan" if FIGURES[k][1] == "fen" else FIGURES[k][1], *last[k])
                for k in FIGURES if study.abuse is not None or not k.startswith("abuse_"))),
        "<p>Every period of every figure: <a href='periods.csv'>periods.csv</a>; per run: "
        "<a href='runs.csv'>runs.csv</a>.</p>",
        "<h2>How long does a holding take?</h2>", _img(charts["completion"]),
        "<p>Release periods a holding earned in period k needs to reach its cap (actual, or "
        "projected at the last period's rate when unfinished): "
        "<a href='completion.csv'>completion.csv</a>.</p>",
    ]
    if study.growth is not None:
        g = study.growth
        sections += ["<h2>Growth needed to keep the promise</h2>", _img(charts["growth_search"]),
                     f"<p>Bisection over constant monthly growth on a replica of the scenario "
                     f"({g.periods} periods, coverage fade off, {GROWTH_NOTE}).</p>"]
    if study.saturation is not None:
        sat = study.saturation
        sections += ["<h2>Effect of saturation</h2>",
                     _table(["figure (p50)", "scenario", sat.variant_label], sat.rows)]
    if study.abuse is not None:
        sections += ["<h2>Wash trading: does it pay?</h2>",
                     f"<p>{html.escape(abuse_paragraph(h['abuse']))}</p>", _img(charts["abuse"]),
                     f"<p>{html.escape(ABUSE_NOTE)}</p>",
                     _table(ABUSE_COLUMNS, (_abuse_row(p) for p in study.abuse.points)),
                     "<p>The same table: <a href='abuse.csv'>abuse.csv</a>.</p>"]
    if study.shortfall is not None:
        sf = study.shortfall
        sections += ["<h2>Under <code>promise</code>: when does the pool fall short?</h2>",
                     _table(["run", "first period with pool coverage < 1", "max unfunded (yuan)"],
                            ((i, f, u / YUAN) for i, (f, u) in
                             enumerate(zip(sf.first_short, sf.max_unfunded_fen, strict=True))))]
    e = study.earnings
    sections += [
        "<h2>Partners and business managers against the seed's claims</h2>",
        _img(charts["earnings"]),
        _table(["measure", "simulated", "seed's claim"], [
            ("top partner, yuan/year (p50 over runs)", h["top_partner_yuan_p50"],
             CLAIM_TOP_PARTNER_YUAN),
            ("top partner's share from dividends", h["top_partner_dividend_share_p50"],
             CLAIM_PARTNER_DIVIDEND_SHARE),
            ("median BM, yuan/year", h["bm_yuan_p50"], CLAIM_BM_YUAN),
            ("share of BMs at 1 million yuan/year or more", e.bm_share_over_claim, ""),
        ]),
    ]
    if "sweep" in charts:
        rows = [summary_rows(x) for x in study.ensembles]
        sections += ["<h2>Sweep</h2>", _img(charts["sweep"]),
                     _table(["point", *rows[0]], ([x.label, *r.values()]
                                                  for x, r in zip(study.ensembles, rows, strict=True)))]
    sections.append(f"<p class='note'>{html.escape(MODE_NOTE[ens.mode])}</p>")
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>gongsheng simulation: {html.escape(s.name)}</title><style>{CSS}</style>"
            "</head><body>" + "\n".join(sections) + "</body></html>")
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def write_report(study: Study, out: Path, command: str = "gongsheng simulate") -> dict[str, Path]:
    """Write every file of the report into ``out`` (created if needed); return them by name."""
    out.mkdir(parents=True, exist_ok=True)
    files = {p.name: p for p in write_tables(study, out)}
    charts = write_charts(study, out)
    files.update({p.name: p for p in charts.values()})
    files["report.html"] = write_html(study, out, charts, command)
    return files


ABUSE_COLUMNS = ("controller", "hold", "detection", "rings", "detected_share", "concession",
                 "cashed", "forfeited", "gain_per_ring", "gain_over_spend", "release_share",
                 "cashed_share", "completion_delay", "deficit_extra")
ABUSE_FEN = ("concession", "cashed", "forfeited", "gain_per_ring", "deficit_extra")
ABUSE_NOTE = ("Each point: the scenario with its rings at one release controller, hold and "
              "detection rate, means over its runs, money in yuan; the same seeds at every point "
              "and in the baseline without rings (the same honest population and the same rings). "
              "Net gain = releases cashed after the hold (valued at face) minus concessions paid, "
              "to the horizon; a detected ring forfeits what is held and its unreleased "
              "entitlement. completion_delay: release periods more that the honest holdings of "
              "the first half take than without rings; deficit_extra: how much more the pool "
              "owes at the end.")
GROWTH_NOTE = "two runs per growth tried, the promise kept when half of the runs keep it"
MODE_NOTE = {
    "exact": "Exact mode: integer fen throughout, the domain's rounding rules, per-holder floors "
             "of releases; the same figures the live engine posts for the same orders.",
    "fast": "Fast mode is a projection: order waterfalls are split per merchant batch, points and "
            "releases per holder are float64 without the per-holder floor. It agrees with exact "
            "mode within 0.5% per money figure (or 0.01% of the period's GMV, whichever is larger).",
}
CSS = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
       "img{max-width:100%}table{border-collapse:collapse;margin:1em 0;font-size:.9em}"
       "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
       "th{background:#f3f3f3}td:first-child{text-align:left}.note{color:#666;font-size:.9em}")
