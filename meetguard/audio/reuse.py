"""Whisper's repeated arithmetic, done once (#23: the audio cost of a long recording).

Two things openai-whisper computes again and again on CPU for the same answer:

- **A window's encoding** (:func:`encode_once`). ``transcribe`` runs the audio encoder
  (the costliest single step of a short decode: about a second of CPU for tiny.en's 30 s
  window, two for base's) on the same 30 s mel window once for each temperature it tries
  (``decode_with_fallback`` builds a new decoding task per temperature), and the word
  alignment (``timing.find_alignment``) once more, with whisper's plain attention kernel
  instead of PyTorch's fused one. The mel window and the weights are the same, so with the
  same kernel the encoding is too: an input equal to the last one (compared in full, value
  for value, not by identity) gets a copy of the last output made with that kernel, any
  other is encoded afresh. Bit for bit what whisper computes: a window tried at three
  temperatures is encoded twice (decode, alignment), not four times.
- **The beams' cross-attention** (:func:`fold_beams`). In a beam search (the release's
  verification decode, 5 beams) every beam attends to the same encoding: whisper keeps
  its keys and values once and lets PyTorch broadcast them over the beams, which on CPU
  copies them out for every beam at every token of every layer (memory-bound: about 14 ms
  a call against 0.8 ms, measured on this machine). Cross-attention has no mask, so each
  beam's query attends on its own: the beams' queries are laid out as one sequence over
  the one set of keys and values and put back afterwards. Same arithmetic per query.

What changes in the numbers: nothing for the encodings; a beam's cross-attention runs in
another block layout, the same sums in another order, equal to rounding (about 2e-7 of a
value on random inputs, measured), so it was checked on the decodes: base's beam search as the
release verification runs it, plain and folded, on the leak corpus's tuning clips and windows
of the bench recording, gave the same tokens, word times and probabilities every time
(docs/benchmarks.md, "Audio cost: repeated arithmetic"). Greedy decodes (one row of queries)
and the word alignment (one token row) are not folded. Every window is still
decoded, by the same search, and aligned; only repeated arithmetic is skipped. One decode at
a time per model (the backend's lock), so one remembered window per model and kernel is enough.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["encode_once", "fold_beams"]


def encode_once(encoder: Any) -> None:
    """Make ``encoder`` (a whisper ``AudioEncoder``) return a copy of its last output when
    called again on an equal input (same shape, dtype and values) with the same attention
    kernel (whisper's fused one or its plain one: the word alignment turns the fused one
    off), so every encoding is bit for bit the one it would compute."""
    import torch
    from whisper.model import MultiHeadAttention

    forward: Callable[[Any], Any] = encoder.forward
    last: dict[bool, tuple[Any, Any]] = {}   # per kernel: (input, output) of the last encoding

    def encoded(x: Any) -> Any:
        kernel = bool(MultiHeadAttention.use_sdpa)
        seen = last.get(kernel)
        if seen is not None and seen[0].shape == x.shape and seen[0].dtype == x.dtype and torch.equal(seen[0], x):
            return seen[1].clone()
        out = forward(x)
        last[kernel] = (x.detach().clone(), out.detach().clone())
        return out

    encoder.forward = encoded


def fold_beams(decoder: Any) -> None:
    """Make each cross-attention of ``decoder`` (a whisper ``TextDecoder``) attend with the
    queries of several beams (a batch over one shared encoding) as one sequence, with no
    mask, instead of broadcasting the keys and values over the batch."""
    for block in decoder.blocks:
        attn = getattr(block, "cross_attn", None)
        if attn is not None:
            attn.qkv_attention = _folded(attn.qkv_attention)


def _folded(plain: Callable[..., Any]) -> Callable[..., Any]:
    def qkv_attention(q: Any, k: Any, v: Any, mask: Any = None) -> Any:
        n_batch, n_ctx, n_state = q.shape
        if mask is not None or n_batch == 1 or k.shape[0] != 1:
            return plain(q, k, v, mask)
        wv, qk = plain(q.reshape(1, n_batch * n_ctx, n_state), k, v, None)
        return wv.reshape(n_batch, n_ctx, wv.shape[-1]), _unfold_qk(qk, n_batch, n_ctx)

    return qkv_attention


def _unfold_qk(qk: Any, n_batch: int, n_ctx: int) -> Any:
    """Whisper's attention weights (heads, queries, keys) of the folded call, per beam again:
    (1, heads, beams * queries, keys) -> (beams, heads, queries, keys)."""
    if qk is None:
        return None
    _one, heads, _rows, keys = qk.shape
    return qk.reshape(heads, n_batch, n_ctx, keys).transpose(0, 1)
