#!/usr/bin/env python3
"""Synthetic shard outputs for scale checks (issue 15): N report results as `run --shard K/S`
would leave them (shard-K-of-S/{shard.json, reports/<id>.json, comparable/<id>.txt}), for
`township-digest merge` to join.

    scripts/scale_gen.py TEMPLATE_SHARD N OUT [--shards S] [--seed X]
                         [--other-vectors JSONL [--other-rate R]]

TEMPLATE_SHARD is a real shard folder (`run --mode fast --shard 0/1` over a few reports): its
fingerprint (models, themes, prompts) is reused, so the merge accepts the synthetic shards, and
its reports are the models for the synthetic ones. Comparable texts are built from the Chinese
report texts under fixtures/ (masked as the program masks them: letters kept, digits as '#',
the rest dropped), cut into segments, mixed and lightly mutated; about 2% of reports are
near-copies of an earlier one (edited at 0.5-3% of characters), some in groups of up to 8, so
the digest has near-duplicate clusters as real batches do. A fresh text is 20% boilerplate (a
bank of 60 stock segments every report may use) and 80% segments of the fixture texts with
--mutate of their characters replaced (default 0.12: a township's own wording; lower values make
every text share more with every other, the hard case for the near-duplicate join). Townships sit in counties of ~20; about
70% of reports name no city. With --other-vectors (the `embed_lines` example's output for
scripts/other_quotes.txt: 87 real shortcomings of the challenge sets that fit no theme, with
their e5 vectors), a share --other-rate of reports (default 0.55, the share measured on the
challenge sets in fast mode) get one such shortcoming, and its vector is kept in the shard's
emerging/<id>.json as `run --shard` keeps it, with a little noise (--other-noise, default 0.01 per
dimension, then normalised: cosine ~0.96 to its quote's vector) so that no two reports' vectors
are the same, as in a real batch where reports word their problems differently; without it, no
report has one. Deterministic for a seed.
"""
import argparse
import glob
import hashlib
import json
import os
import random
import re
import shutil

THEMES = [
    "uneven_outreach", "inactive_liaisons", "funding_shortage", "shallow_outreach",
    "staff_capacity", "cadre_awareness", "enforcement_irregular", "coordination_gaps",
    "public_awareness", "mediation_weak", "legality_review", "digital_lag",
]
SYL = "安宁平和兴丰泰顺福康盛隆永昌新华东西南北中山河川湖林石桥沟岭坪湾滩岗庄堡屯集"


def mask(text):
    out = []
    for c in text:
        if c.isnumeric():
            if not out or out[-1] != "#":
                out.append("#")
        elif c.isalpha():
            out.append(c)
    return "".join(out)


def name(rng, suffix):
    return "".join(rng.choice(SYL) for _ in range(rng.choice((2, 2, 3)))) + suffix


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("template")
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--mutate", type=float, default=0.12,
                    help="share of characters of a township's own segments replaced (default 0.12)")
    ap.add_argument("--other-vectors", help="JSONL of [quote, vector] (examples/embed_lines)")
    ap.add_argument("--other-rate", type=float, default=0.55,
                    help="share of reports with one shortcoming that fits no theme (default 0.55)")
    ap.add_argument("--other-noise", type=float, default=0.01,
                    help="standard deviation of the noise added to each dimension (default 0.01)")
    args = ap.parse_args()
    other = []
    if args.other_vectors:
        with open(args.other_vectors, encoding="utf-8") as f:
            other = [json.loads(line) for line in f if line.strip()]
    rng = random.Random(args.seed)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    tpl_record = json.load(open(os.path.join(args.template, "shard.json"), encoding="utf-8"))
    tpl_reports = [
        json.load(open(p, encoding="utf-8"))
        for p in sorted(glob.glob(os.path.join(args.template, "reports", "*.json")))
    ]
    sources = sorted(glob.glob(os.path.join(root, "fixtures", "**", "*.txt"), recursive=True))
    pool = [m for m in (mask(open(p, encoding="utf-8", errors="replace").read()) for p in sources)
            if sum(1 for c in m if "\u4e00" <= c <= "\u9fff") > 500]
    alphabet = sorted({c for m in pool for c in m if "\u4e00" <= c <= "\u9fff"})

    def segment(ln):
        src = rng.choice(pool)
        at = rng.randint(0, max(0, len(src) - ln))
        return src[at:at + ln]

    # Boilerplate every batch shares (stock phrases, copied headings): a fixed bank of segments.
    boiler = [segment(rng.randint(20, 80)) for _ in range(60)]

    def fresh_text():
        parts, total, goal = [], 0, rng.randint(1000, 3000)
        while total < goal:
            if rng.random() < 0.2:
                seg = list(rng.choice(boiler))
            else:
                seg = list(segment(rng.randint(60, 300)))
                for k in range(len(seg)):
                    if rng.random() < args.mutate:
                        seg[k] = rng.choice(alphabet)
            parts.append("".join(seg))
            total += len(seg)
        return "".join(parts)

    def near_copy(text, rate):
        chars = list(text)
        for _ in range(max(1, int(len(chars) * rate))):
            k = rng.randrange(len(chars))
            chars[k] = rng.choice(alphabet)
        return "".join(chars)

    n_counties = max(1, args.n // 20)
    cities = [name(rng, "市") for _ in range(max(1, n_counties // 8))]
    counties = [(name(rng, rng.choice("县区")), rng.choice(cities)) for _ in range(n_counties)]

    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    S = args.shards
    dirs = [os.path.join(args.out, f"shard-{k}-of-{S}") for k in range(S)]
    for d in dirs:
        os.makedirs(os.path.join(d, "reports"))
        os.makedirs(os.path.join(d, "comparable"))
        os.makedirs(os.path.join(d, "emerging"))

    inputs, statuses = [], [[] for _ in range(S)]
    texts = []
    burst = None
    width = len(str(args.n))
    for i in range(args.n):
        rid = f"s{i:0{width}d}"
        source = f"/data/synthetic/{rid}.txt"
        shard = i % S
        if burst:
            orig, left = burst
            burst = (orig, left - 1) if left > 1 else None
            text = near_copy(texts[orig], rng.uniform(0.005, 0.02))
        elif texts and rng.random() < 0.012:
            # A near-copy of an earlier report; sometimes the start of a group of copies.
            orig = rng.randrange(len(texts))
            if rng.random() < 0.3:
                burst = (orig, rng.randint(2, 7))
            text = near_copy(texts[orig], rng.uniform(0.005, 0.03))
        else:
            text = fresh_text()
        texts.append(text)
        county, city = counties[min(n_counties - 1, i * n_counties // args.n)]
        rep = json.loads(json.dumps(rng.choice(tpl_reports)))
        rep["id"] = rid
        rep["source"] = source
        rep["sha256"] = hashlib.sha256(source.encode()).hexdigest()
        rep["township"] = name(rng, rng.choice("乡镇"))
        rep["county"] = county if rng.random() < 0.9 else None
        rep["city"] = city if rng.random() < 0.3 else None
        rep["year"] = 2024
        themes = rng.sample(THEMES, len(rep["shortcomings"]))
        for sc, th in zip(rep["shortcomings"], themes):
            sc["theme"] = th
        if other and rep["shortcomings"] and rng.random() < args.other_rate:
            sc = rep["shortcomings"][-1]
            sc["theme"] = "other"
            q, vector = rng.choice(other)
            vector = [x + rng.gauss(0.0, args.other_noise) for x in vector]
            norm = sum(x * x for x in vector) ** 0.5
            vector = [x / norm for x in vector]
            sc["text"] = q
            sc["evidence"] = [{"quote": q, "start": 0, "end": len(q)}]
            with open(os.path.join(dirs[shard], "emerging", rid + ".json"), "w") as f:
                json.dump([vector], f)
        d = dirs[shard]
        with open(os.path.join(d, "reports", rid + ".json"), "w", encoding="utf-8") as f:
            json.dump(rep, f, ensure_ascii=False, indent=2)
        with open(os.path.join(d, "comparable", rid + ".txt"), "w", encoding="utf-8") as f:
            f.write(text)
        inputs.append({"index": i, "source": source, "id": rid, "shard": shard})
        statuses[shard].append(
            {"source": source, "id": rid, "status": "done", "error": None, "warnings": 0})
    for k, d in enumerate(dirs):
        rec = dict(tpl_record)
        rec["shard"] = {"index": k, "count": S}
        rec["inputs"] = inputs
        rec["discover_errors"] = []
        rec["statuses"] = statuses[k]
        with open(os.path.join(d, "shard.json"), "w", encoding="utf-8") as f:
            json.dump(rec, f, ensure_ascii=False)
    print(f"{args.n} synthetic report results in {S} shards under {args.out}")


if __name__ == "__main__":
    main()
