"""QUALITY.md from fast and full runs of the same sets (see scripts/quality).

usage: quality_md.py CPU NAME GOLD_DIR FAST_OUT FULL_OUT [NAME GOLD_DIR FAST_OUT FULL_OUT ...]
Reads each run's reports and eval.json (written next to the run as OUT.eval.json). Stdlib only.
"""
import json
import os
import sys


def load_eval(out):
    with open(out + ".eval.json", encoding="utf-8") as f:
        return json.load(f)


def reports(out):
    d = os.path.join(out, "reports")
    res = {}
    for name in sorted(os.listdir(d)):
        if name.endswith(".json"):
            with open(os.path.join(d, name), encoding="utf-8") as f:
                r = json.load(f)
            res[r["id"]] = r
    return res


def ratio(r):
    if not r or r.get("value") is None:
        return "n/a"
    return f"{r['value']:.3f} ({r['hits']}/{r['total']})"


def f1(p):
    return "n/a" if not p or p.get("f1") is None else f"{p['f1']:.3f}"


def pct(n, total):
    return "n/a" if total == 0 else f"{n}/{total} ({100 * n / total:.0f}%)"


def main():
    cpu, rest = sys.argv[1], sys.argv[2:]
    sets = [rest[i:i + 4] for i in range(0, len(rest), 4)]
    out = []
    w = out.append
    w("# Full mode's writing, measured\n")
    w("Regenerate: `scripts/quality` (runs fast and full mode over each set, scores them with "
      "`township-digest eval`, writes this file). Nothing here is judged by a person: the numbers "
      "come from `eval` (its `writing` section reads the run's reports alone; the other columns "
      "need the gold labels).\n")
    w(f"CPU of this run: {cpu}.\n")
    w("- **generated**: the summary's every sentence written by the generator and passing every "
      "check (numbers in the item it summarises, each clause said by one item, no prompt echo, "
      "similarity); **partly**: the sentence on the work done generated, the problems composed "
      "from their themes; the rest is composed by the fast-mode template.")
    w("- **items saying what was done**: achievement items with a '：what was done' part "
      "or one of their figures in the text (a bare heading such as 强化组织领导 has neither).")
    w("- Sets: `dev` (the 8 reports of ../shared/corpus/dev, prompts were written looking at "
      "them), `held`, `fresh`, `w`, `x`, `v`, `u` and `t` (challenge reports written by helpers "
      "who never saw our prompts; the summary prompts were not tuned on them; `w` and `x` were "
      "scored unseen, then structure rules came from them; `v`, `u` and `t` are the held halves "
      "of their batches, only scored).\n")
    w("| set | mode | reports | generated | partly | mean length | items saying what was done | summary numbers in source | fabricated numbers | exact quotes | theme F1 (digest) | ROUGE-L |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    runs = {}
    for name, gold, fast, full in sets:
        for mode, o in (("fast", fast), ("full", full)):
            e = load_eval(o)
            rs = reports(o)
            runs[(name, mode)] = (e, rs, gold)
            wr = e.get("writing", {})
            n = wr.get("reports", 0)
            ov = e["overall"]
            said = wr.get("achievement_items_saying_what_was_done", 0)
            total = wr.get("achievement_items", 0)
            mean = wr.get("summary_chars_mean")
            w(f"| {name} | {mode} | {n} | {pct(wr.get('generated_summaries', 0), n)} | "
              f"{pct(wr.get('partly_generated_summaries', 0), n)} | "
              f"{'n/a' if mean is None else f'{mean:.0f}'} | {pct(said, total)} | "
              f"{ratio(ov.get('summary_numbers'))} | {ov.get('fabricated_numbers')} | "
              f"{ratio(ov.get('exact_quotes'))} | {f1(ov.get('themes_digest'))} | "
              f"{'n/a' if ov.get('summary_rouge_l') is None else format(ov['summary_rouge_l'], '.3f')} |")
    w("")
    w("## Why generated text was refused (full mode)\n")
    for name, _, _, _ in sets:
        wr = runs[(name, "full")][0].get("writing", {})
        w(f"**{name}**: item rewrites refused {sum(wr.get('item_rewrites_refused', {}).values())} "
          f"of {wr.get('items', 0)} items; summary sentences refused "
          f"{sum(wr.get('summary_sentences_refused', {}).values())}.\n")
        for kind in ("item_rewrites_refused", "summary_sentences_refused"):
            for why, k in sorted(wr.get(kind, {}).items(), key=lambda x: -x[1]):
                w(f"- {k} × {why}")
        w("")
    # The sample: the first 5 reports of the last set (the cleanest held-out one).
    name, gold, _, _ = sets[-1]
    _, fast_rs, _ = runs[(name, "fast")]
    _, full_rs, _ = runs[(name, "full")]
    w(f"## Side by side: the first 5 reports of `{name}`\n")
    for rid in sorted(full_rs)[:5]:
        full_r, fast_r = full_rs[rid], fast_rs.get(rid)
        src = full_r["source"]
        try:
            with open(src, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            text = ""
        excerpt = " ".join(text.split())[:260]
        w(f"### {rid} ({full_r.get('township') or 'township not found'}, summary {full_r.get('summary_origin')})\n")
        w(f"Source excerpt (first 260 characters of `{src}`):\n")
        w(f"> {excerpt}…\n")
        if fast_r:
            w(f"**Fast**: {fast_r['summary']}\n")
        w(f"**Full**: {full_r['summary']}\n")
        w("Achievement items (full mode):\n")
        for a in full_r["achievements"][:5]:
            w(f"- {a['text']}")
        w("")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
