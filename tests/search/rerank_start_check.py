#!/usr/bin/env python3
"""Prints the re-ranking of each search folder named (tests/search/rerank_start.test): whether the
chosen design is the start, each re-ranked design (start, chosen, mapped, its candidate rank among
the logged candidates), and the result's EDP against its baseline's; checks that the result is
the best final score of the re-ranked and that the start's entry is the logged start's."""
import json
import sys

for d in sys.argv[1:]:
    r = json.load(open(d + "/result.json"))
    log = json.load(open(d + "/search.json"))["candidates"]
    scores = sorted(set(c["score"] for c in log if c["valid"]))
    rk = r["rerank"]
    print(d, "chosen_is_start", r.get("chosen_is_start"), "re-ranked", len(rk))
    for q in rk:
        print("  start", q.get("start"), "chosen", q["chosen"], "mapped", q["final_score"] is not None,
              "candidate rank", scores.index(q["candidate_score"]) if q["candidate_score"] in scores else None)
    finals = [q["final_score"] for q in rk if q["final_score"] is not None]
    starts = [q for q in rk if q.get("start")]
    print("  result is the best final score:", r["score"] == min(finals),
          "| one start entry, the logged start's score:",
          len(starts) == 1 and starts[0]["candidate_score"] == log[0]["score"] and log[0]["index"] == -1)
    b = r.get("baseline")
    if b:
        print("  EDP vs baseline: %.6f" % (b["edp"] / r["edp"]), "equal:", b["edp"] == r["edp"])
