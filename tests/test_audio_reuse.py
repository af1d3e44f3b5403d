"""Whisper's repeated arithmetic done once (#23 audio cost, audio/reuse.py): a window is
encoded once per attention kernel for all the passes over it, bit for bit. No checkpoint:
whisper's own encoder with small random weights."""

from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")
whisper_model = pytest.importorskip("whisper.model")

from meetguard.audio.reuse import encode_once


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
