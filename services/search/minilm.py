"""The shipped all-MiniLM-L6-v2 run directly in torch: its tokenizer (`tokenizers`), its weights
(`safetensors`) and the six BERT layers in a few lines, mean-pooled and L2-normalised exactly as
sentence-transformers does it.

Why not sentence-transformers: importing it (and transformers behind it) costs ~200 MB of resident
memory before any model is loaded, half of what the bot uses when idle; this module costs the weights
(~90 MB) on top of torch. It also batches the way a book needs: all texts sorted by their token count,
each batch holding at most `batch_size` texts and `max_tokens` padded tokens, so little is spent on
padding and the memory a batch takes stays bounded however long the book is.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

MAX_SEQ_LENGTH = 256  # the model's sentence_bert_config.json: longer texts are cut here
# A batch is padded to a multiple of this many tokens: the CPU kernels keep a compiled primitive (and its
# scratch memory) per shape, and one shape per token count made RSS climb by ~130 MB over one book.
PAD_TO = 8
# ... and, further, to one of a few shapes: in bfloat16 the kernels keep ~2 MB of live memory per
# (texts, tokens) shape, and the sentences an extractive answer embeds (5-40 texts of any length) made
# new shapes for hundreds of questions (+2 MB per answer; float32 stayed flat). Rows are padded to a
# power of two, tokens to a step of SHAPE_STEPS: a few dozen shapes in all, at most ~1.5x the work.
SHAPE_STEPS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


def padded_shape(texts: int, tokens: int) -> tuple[int, int]:
    """The (rows, tokens) a batch of `texts` texts, the longest `tokens` long, is run as."""
    rows = 1 << max(0, texts - 1).bit_length()
    length = next((step for step in SHAPE_STEPS if step >= tokens), -(-tokens // PAD_TO) * PAD_TO)
    return rows, length


class MiniLM:
    """A BERT encoder with mean pooling; `encode` gives float32 unit vectors."""

    def __init__(self, path: str | Path, device: str = "cpu") -> None:
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        path = Path(path)
        config = json.loads((path / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config["layer_norm_eps"])
        self.layers_count = int(config["num_hidden_layers"])
        self.device = torch.device(device)
        self.max_length = MAX_SEQ_LENGTH
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_length)
        weights = load_file(str(path / "model.safetensors"), device=str(self.device))
        self.weights = self._prepare(weights)
        self._cast: dict[torch.dtype, dict[str, torch.Tensor]] = {}
        self._packed: dict[str, Any] = {}

    def _prepare(self, w: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Keep what the encoder needs; query, key and value become one matrix (one matmul)."""
        import torch

        kept: dict[str, torch.Tensor] = {}
        for name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
            kept[name] = w[f"embeddings.{name}.weight"]
        kept["ln.w"], kept["ln.b"] = w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"]
        for i in range(self.layers_count):
            p = f"encoder.layer.{i}."
            kept[f"{i}.qkv.w"] = torch.cat(
                [w[f"{p}attention.self.{n}.weight"] for n in ("query", "key", "value")]
            )
            kept[f"{i}.qkv.b"] = torch.cat(
                [w[f"{p}attention.self.{n}.bias"] for n in ("query", "key", "value")]
            )
            kept[f"{i}.ao.w"], kept[f"{i}.ao.b"] = (
                w[f"{p}attention.output.dense.weight"],
                w[f"{p}attention.output.dense.bias"],
            )
            kept[f"{i}.aln.w"] = w[f"{p}attention.output.LayerNorm.weight"]
            kept[f"{i}.aln.b"] = w[f"{p}attention.output.LayerNorm.bias"]
            kept[f"{i}.in.w"], kept[f"{i}.in.b"] = (
                w[f"{p}intermediate.dense.weight"],
                w[f"{p}intermediate.dense.bias"],
            )
            kept[f"{i}.out.w"], kept[f"{i}.out.b"] = w[f"{p}output.dense.weight"], w[f"{p}output.dense.bias"]
            kept[f"{i}.oln.w"], kept[f"{i}.oln.b"] = (
                w[f"{p}output.LayerNorm.weight"],
                w[f"{p}output.LayerNorm.bias"],
            )
        return {name: tensor.contiguous() for name, tensor in kept.items()}

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]

    def _linears(self, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        """The layers' matrices and biases in `dtype`, cast once (~21 MB in bfloat16) rather than on
        every batch as autocast would."""
        cached = self._cast.get(dtype)
        if cached is None:
            cached = {
                name: tensor if tensor.dtype == dtype else tensor.to(dtype)
                for name, tensor in self.weights.items()
                if name.split(".")[1:2] in (["qkv"], ["ao"], ["in"], ["out"])
            }
            self._cast[dtype] = cached
        return cached

    def _int8(self) -> dict[str, Any]:
        """The layers' matrices quantised to int8 once, per output channel, packed for the CPU's int8
        kernels (activations are quantised per batch: "dynamic" quantisation)."""
        import torch

        packed = self._packed
        if not packed:
            for name in {key.rsplit(".", 1)[0] for key in self._linears(torch.float32)}:
                weight, bias = self.weights[f"{name}.w"], self.weights[f"{name}.b"]
                scales = (weight.abs().amax(dim=1) / 127).clamp(min=1e-8).double()
                zeros = torch.zeros(weight.shape[0], dtype=torch.long)
                with warnings.catch_warnings():  # quantised tensors are deprecated in favour of torchao
                    warnings.simplefilter("ignore", UserWarning)
                    quantised = torch.quantize_per_channel(weight, scales, zeros, 0, torch.qint8)
                packed[name] = torch.ops.quantized.linear_prepack(quantised, bias)
        return packed

    def _linear(self, precision: str) -> Callable[[torch.Tensor, str], torch.Tensor]:
        """`linear(x, name)` for one of the layers' matrices in `precision`."""
        import torch
        import torch.nn.functional as F

        if precision in ("int8", "int8-7bit"):
            packed = self._int8()
            seven_bits = precision == "int8-7bit"  # CPUs without VNNI: activations in 7 bits

            def int8(x: torch.Tensor, name: str) -> torch.Tensor:
                return torch.ops.quantized.linear_dynamic(x.float().contiguous(), packed[name], seven_bits)

            return int8
        dtype = torch.bfloat16 if precision == "bfloat16" else torch.float32
        lw = self._linears(dtype)

        def plain(x: torch.Tensor, name: str) -> torch.Tensor:
            return F.linear(x.to(dtype), lw[f"{name}.w"], lw[f"{name}.b"])

        return plain

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, precision: str = "float32") -> torch.Tensor:
        """(batch, tokens) ids and 0/1 mask -> (batch, hidden) mean-pooled, normalised vectors.

        `precision` ("float32", "bfloat16", "int8" or "int8-7bit") is what the matrix products run in (and the
        attention, in bfloat16); the embeddings, the residual stream, layer norms and pooling stay in
        float32."""
        import torch.nn.functional as F

        w, eps, heads, hidden = self.weights, self.eps, self.heads, self.hidden
        linear = self._linear(precision)
        batch, length = ids.shape
        x = (
            F.embedding(ids, w["word_embeddings"])
            + w["position_embeddings"][:length]
            + w["token_type_embeddings"][0]
        )
        x = F.layer_norm(x, (hidden,), w["ln.w"], w["ln.b"], eps)
        attend = mask[:, None, None, :].bool()
        size = hidden // heads
        for i in range(self.layers_count):
            qkv = linear(x, f"{i}.qkv")
            q, k, v = qkv.view(batch, length, 3, heads, size).permute(2, 0, 3, 1, 4).unbind(0)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=attend)
            a = linear(a.transpose(1, 2).reshape(batch, length, hidden), f"{i}.ao")
            x = F.layer_norm(x + a.float(), (hidden,), w[f"{i}.aln.w"], w[f"{i}.aln.b"], eps)
            h = linear(F.gelu(linear(x, f"{i}.in")), f"{i}.out")
            x = F.layer_norm(x + h.float(), (hidden,), w[f"{i}.oln.w"], w[f"{i}.oln.b"], eps)
        weights = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, dim=-1)

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 32,
        max_tokens: int = 4096,
        precision: str = "float32",
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Unit vectors (float32, one row per text, in the texts' order).

        Texts are sorted by token count and cut into batches of at most `batch_size` texts and
        `max_tokens` padded tokens (a single longer text still makes a batch of one); `on_batch` hears
        the size of each batch as it is run. `precision`: "float32", "bfloat16" or "int8" (see `forward`)."""
        import torch

        dim = self.hidden
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        ids = self.token_ids(texts)
        order = sorted(range(len(ids)), key=lambda index: len(ids[index]))
        out = np.empty((len(ids), dim), dtype=np.float32)
        with torch.inference_mode():
            for batch in _batches(order, [len(row) for row in ids], batch_size, max_tokens):
                rows, length = padded_shape(len(batch), len(ids[batch[-1]]))
                tokens = torch.zeros((rows, length), dtype=torch.long)
                mask = torch.zeros((rows, length), dtype=torch.long)
                mask[len(batch) :, 0] = 1  # padding rows attend to one token (no empty softmax); dropped
                for row, index in enumerate(batch):
                    n = len(ids[index])
                    tokens[row, :n] = torch.tensor(ids[index])
                    mask[row, :n] = 1
                vectors = self.forward(tokens.to(self.device), mask.to(self.device), precision)
                out[batch] = vectors[: len(batch)].cpu().numpy()
                if on_batch is not None:
                    on_batch(len(batch))
        return out


def _batches(order: list[int], lengths: list[int], batch_size: int, max_tokens: int) -> list[list[int]]:
    """`order` (indices sorted by length, shortest first) cut into batches of at most `batch_size`
    texts whose padded size (count x longest) stays within `max_tokens`."""
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        if current and (len(current) >= batch_size or (len(current) + 1) * lengths[index] > max_tokens):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches
