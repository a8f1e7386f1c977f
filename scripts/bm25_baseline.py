"""Plain BM25 (rank_bm25's BM25Okapi, k1=1.5, b=0.75) over given texts: the retrieval baseline of
npm run eval:multihop, measured in the same run as the product's retrieval.

Reads JSON from standard input: {"documents": [text, ...], "queries": [text, ...], "k": 10}.
Writes JSON to standard output: {"top": [[document index, ...] per query], "tokenizer": "..."}.
Tokens: lower-cased runs of word characters (Unicode), no stemming, no stop words.
"""
import json
import re
import sys

from rank_bm25 import BM25Okapi

TOKEN = re.compile(r"\w+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def main() -> None:
    job = json.load(sys.stdin)
    k = int(job.get("k", 10))
    bm25 = BM25Okapi([tokens(d) for d in job["documents"]])
    top = []
    for q in job["queries"]:
        scores = bm25.get_scores(tokens(q))
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:k]
        top.append(order)
    json.dump({"top": top, "tokenizer": r"lower-cased \w+ runs, no stemming, no stop words"}, sys.stdout)


if __name__ == "__main__":
    main()
