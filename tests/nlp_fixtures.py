"""Helpers for the NLP tests: a tiny random-weight sentiment model saved like a real one."""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

WORDS = (
    "the service was great terrible awful good bad love hate slow fast app update crash refund "
    "thanks never again ok fine support delivery late broken amazing worst best price brand new "
    "i we you it is not very so a an and or but this that customer help"
).split()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
STANDARD = {0: "negative", 1: "neutral", 2: "positive"}


def build_tiny_model(
    path: Path, id2label: dict[int, str] | None = None, seed: int = 0, initializer_range: float = 0.5
) -> Path:
    """Save a 2-layer, 32-wide BERT classifier and a WordLevel tokenizer into ``path``.

    The weights are drawn wide (``initializer_range`` 0.5 by default) so that the output depends
    on the input; the usual 0.02 gives nearly the same probabilities for every text. Around 0.2 the
    activations stay in the range real models have, which int8 quantization tests need.
    """
    id2label = id2label or STANDARD
    vocab = {token: index for index, token in enumerate(SPECIALS + list(WORDS))}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase()])
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
    )
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128, initializer_range=initializer_range,
        num_labels=len(id2label), id2label=id2label, label2id={name: index for index, name in id2label.items()},
    )
    torch.manual_seed(seed)
    model = BertForSequenceClassification(config)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
