"""Whisper's repeated arithmetic done once (#23 audio cost, audio/reuse.py): a window is
encoded once for all the passes over it, and a beam search's beams share one
cross-attention call. No checkpoint: whisper's own modules with small random weights."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
whisper_model = pytest.importorskip("whisper.model")

from meetguard.audio.reuse import encode_once, fold_beams


class _Encoder:
    """Counts its encodings; output depends on the input."""

    def __init__(self) -> None:
        self.calls = 0

    def forward(self, x: Any) -> Any:
        self.calls += 1
        return x * 2.0 + 1.0

    def __call__(self, x: Any) -> Any:
        return self.forward(x)


def test_an_equal_window_is_encoded_once_and_any_other_afresh() -> None:
    enc = _Encoder()
    encode_once(enc)
    mel = torch.randn(1, 8, 30)
    first = enc(mel)
    again = enc(mel.clone())                       # equal values, another tensor: the same encoding
    assert enc.calls == 1 and torch.equal(first, again)
    again.add_(100.0)                              # a caller writing into its copy changes nothing kept
    assert torch.equal(enc(mel), first) and enc.calls == 1
    other = mel.clone()
    other[0, 3, 7] += 1e-3                         # one value changed: encoded again
    assert torch.equal(enc(other), other * 2.0 + 1.0) and enc.calls == 2
    assert torch.equal(enc(mel), first) and enc.calls == 3   # one window remembered: the last
    with whisper_model.disable_sdpa():             # the word alignment's kernel: its own encoding, then reused
        assert torch.equal(enc(mel), first) and enc.calls == 4
        assert torch.equal(enc(mel), first) and enc.calls == 4
    assert torch.equal(enc(mel), first) and enc.calls == 4   # the fused kernel's is still remembered


def test_a_whisper_encoder_gives_bit_for_bit_its_own_encoding_for_every_pass() -> None:
    torch.manual_seed(0)
    enc = whisper_model.AudioEncoder(n_mels=8, n_ctx=16, n_state=32, n_head=4, n_layer=2).eval()
    mel = torch.randn(1, 8, 32)
    with torch.no_grad():
        fused = enc(mel)
        with whisper_model.disable_sdpa():
            plain = enc(mel)
        encode_once(enc)
        for _ in range(2):
            assert torch.equal(enc(mel), fused)
            with whisper_model.disable_sdpa():
                assert torch.equal(enc(mel), plain)


def _decoder() -> Any:
    torch.manual_seed(1)
    dec = whisper_model.TextDecoder(n_vocab=60, n_ctx=32, n_state=32, n_head=4, n_layer=2).eval()
    torch.nn.init.normal_(dec.positional_embedding, std=0.02)   # whisper leaves it uninitialised (a checkpoint fills it)
    return dec


@pytest.mark.parametrize("n_tokens", [1, 6])
def test_beams_over_one_encoding_hear_what_each_would_alone(n_tokens: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Five beams (a batch of token rows) over one encoding (a batch of one): the folded
    cross-attention attends with one row of queries (the keys and values are not copied
    out per beam) and gives each beam the logits it gets unfolded, and alone."""
    attention = whisper_model.MultiHeadAttention.qkv_attention
    rows: list[int] = []

    def spy(self: Any, q: Any, k: Any, v: Any, mask: Any = None) -> Any:
        rows.append(q.shape[0] if mask is None else -1)   # -1: a self-attention (masked)
        return attention(self, q, k, v, mask)

    monkeypatch.setattr(whisper_model.MultiHeadAttention, "qkv_attention", spy)
    dec = _decoder()
    tokens = torch.randint(0, 60, (5, n_tokens))
    audio = torch.randn(1, 16, 32)
    with torch.no_grad():
        plain = dec(tokens, audio)
        alone = torch.cat([dec(tokens[b:b + 1], audio) for b in range(5)])
        fold_beams(dec)
        rows.clear()
        folded = dec(tokens, audio)
        assert sorted(set(rows)) == [-1, 1]   # self-attentions (masked), and cross-attentions with one row
        assert folded.shape == plain.shape
        assert torch.allclose(folded, plain, atol=1e-5) and torch.allclose(folded, alone, atol=1e-5)
        with whisper_model.disable_sdpa():        # whisper's plain attention (word alignment) too
            assert torch.allclose(dec(tokens, audio), plain, atol=1e-5)


def test_a_batch_of_encodings_is_attended_as_before() -> None:
    """Several encodings (one per row): nothing shared, nothing folded."""
    dec = _decoder()
    tokens = torch.randint(0, 60, (3, 4))
    audio = torch.randn(3, 16, 32)
    with torch.no_grad():
        plain = dec(tokens, audio)
        fold_beams(dec)
        assert torch.equal(dec(tokens, audio), plain)


def _cross_weights(dec: Any, tokens: Any, audio: Any) -> list[Any]:
    """Each layer's cross-attention weights as whisper's word alignment reads them (a forward
    hook on ``cross_attn``, its output's last item), with whisper's plain kernel."""
    got: list[Any] = []
    hooks = [b.cross_attn.register_forward_hook(lambda _m, _i, outs: got.append(outs[-1])) for b in dec.blocks]
    try:
        with torch.no_grad(), whisper_model.disable_sdpa():
            dec(tokens, audio)
    finally:
        for h in hooks:
            h.remove()
    return got


def test_folded_beams_give_each_beam_its_own_attention_weights() -> None:
    """The attention weights (qk) a folded call returns are laid out per beam again, as
    whisper's plain kernel gives them unfolded: (beams, heads, queries, keys), each beam's
    rows its own (beams with different tokens attend differently)."""
    dec = _decoder()
    tokens = torch.randint(0, 60, (5, 6))
    audio = torch.randn(1, 16, 32)
    plain = _cross_weights(dec, tokens, audio)
    fold_beams(dec)
    folded = _cross_weights(dec, tokens, audio)
    assert len(folded) == len(plain) == 2
    for p, f in zip(plain, folded, strict=True):
        assert f.shape == p.shape == (5, 4, 6, 16)
        assert torch.allclose(f, p, atol=1e-5)
        assert not torch.allclose(f[0], f[1], atol=1e-3)   # the rows really are per beam, not one beam's repeated
