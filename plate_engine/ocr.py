"""Text-line recognition (PP-OCR CTC recogniser) restricted to plate characters.

The model scores ~18,700 symbols per time step. Plates use 0-9 and A-Z, so the
probabilities are folded into 37 classes: blank, 36 plate characters. Lower-case letters
add to their capital; separators, punctuation, emblems and every other script add to the
blank (a dash or a flag between characters must simply vanish). Each decoded character
keeps its distribution over the 36 characters: the alternatives (O/0, I/1, B/8...) that
the format rules and the candidate list need.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from .decode import Image
from .models import Model

FloatArray = npt.NDArray[np.float32]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_HEIGHT = 48
_MAX_WIDTH = 480  # 10:1, longer than any single-line plate
# Narrowest batch: lines are padded to at least this width (PP-OCR pads to 320).
MIN_BATCH_WIDTH = 0


@dataclass(frozen=True, slots=True)
class LineRead:
    """One recognised line: best path plus per-character alternatives."""

    text: str  # best path over the 36 plate characters, upper case
    probs: FloatArray  # len(text) x 36: each character's distribution over ALPHABET
    conf: FloatArray  # len(text): probability of the chosen character (its own time step)
    raw: str  # best path over the full vocabulary (for ':' '/' date/time detection)
    cols: npt.NDArray[np.int32]  # time step of each character (for splitting lines)
    steps: int  # number of time steps of this line's own width


class LineRecognizer:
    """Batched CTC recognition; keeps no per-call state (safe to share between threads)."""

    def __init__(self, model: Model) -> None:
        self._model = model
        meta = model.metadata
        vocab = ["<blank>", *meta["character"].splitlines(), " "]
        self._vocab = vocab
        # Column of each plate character in the 37-class folding; -1: folded into blank.
        fold = np.zeros(len(vocab), dtype=np.int64)
        for i, ch in enumerate(vocab):
            up = _latin(ch)
            fold[i] = ALPHABET.index(up) + 1 if up else 0
        # Only the ~62 plate columns are summed (one small matmul); everything else is
        # whatever is left of 1, i.e. the blank.
        self._keep = np.flatnonzero(fold > 0)
        self._fold = np.zeros((len(self._keep), 37), dtype=np.float32)
        self._fold[np.arange(len(self._keep)), fold[self._keep]] = 1.0

    def read(self, crops: list[Image]) -> list[LineRead]:
        if not crops:
            return []
        widths = [_width_for(c) for c in crops]
        order = np.argsort(widths)
        out: list[LineRead | None] = [None] * len(crops)
        # Batches of similar width waste little padding; 8 lines keep the batch tensor small.
        for start in range(0, len(crops), 8):
            idx = order[start : start + 8]
            bw = max(MIN_BATCH_WIDTH, *(widths[i] for i in idx))
            # PP-OCR pads with 0 after normalising to -1..1 (mid grey), as in training.
            batch = np.zeros((len(idx), 3, _HEIGHT, bw), dtype=np.float32)
            for j, i in enumerate(idx):
                resized = cv2.resize(crops[i], (widths[i], _HEIGHT), interpolation=cv2.INTER_LINEAR)
                batch[j, :, :, : widths[i]] = resized.transpose(2, 0, 1) * (2 / 255.0) - 1.0
            probs = self._model.run(batch)
            steps = probs.shape[1]
            for j, i in enumerate(idx):
                own = max(1, math.ceil(steps * widths[i] / bw))
                out[i] = self._decode(probs[j, :own])
        return [r for r in out if r is not None]

    def _decode(self, p: FloatArray) -> LineRead:
        raw_idx = p.argmax(axis=1)
        raw = _collapse([self._vocab[k] if k > 0 else "" for k in raw_idx], raw_idx)
        plate = p[:, self._keep] @ self._fold
        plate[:, 0] = np.clip(1.0 - plate[:, 1:].sum(axis=1), 0.0, 1.0)
        best = plate.argmax(axis=1)
        chars: list[str] = []
        rows: list[FloatArray] = []
        conf: list[float] = []
        cols: list[int] = []
        t = 0
        n = len(best)
        while t < n:
            k = int(best[t])
            if k == 0:
                t += 1
                continue
            # A run of the same class is one character (CTC collapses repeats).
            end = t
            while end + 1 < n and best[end + 1] == k:
                end += 1
            peak = t + int(plate[t : end + 1, k].argmax())
            dist = plate[peak, 1:]
            total = float(dist.sum())
            rows.append(dist / total if total > 0 else dist)
            conf.append(float(plate[peak, k]))
            chars.append(ALPHABET[k - 1])
            cols.append(peak)
            t = end + 1
        probs = np.array(rows, dtype=np.float32).reshape(-1, 36)
        return LineRead(
            "".join(chars),
            probs,
            np.array(conf, dtype=np.float32),
            raw,
            np.array(cols, dtype=np.int32),
            n,
        )


# Cyrillic and Greek letters drawn like Latin ones (code points, to keep the source
# unambiguous): the multilingual model often picks them on a plate (Cyrillic I for I,
# Cyrillic O for O), and they must count as the Latin letter.
_HOMOGLYPHS: dict[str, str] = {
    chr(0x0410): "A",
    chr(0x0412): "B",
    chr(0x0415): "E",
    chr(0x041A): "K",
    chr(0x041C): "M",
    chr(0x041D): "H",
    chr(0x041E): "O",
    chr(0x0420): "P",
    chr(0x0421): "C",
    chr(0x0422): "T",
    chr(0x0423): "Y",
    chr(0x0425): "X",
    chr(0x0406): "I",
    chr(0x0408): "J",
    chr(0x0405): "S",
    chr(0x0430): "A",
    chr(0x0435): "E",
    chr(0x043E): "O",
    chr(0x0440): "P",
    chr(0x0441): "C",
    chr(0x0443): "Y",
    chr(0x0445): "X",
    chr(0x0456): "I",
    chr(0x0458): "J",
    chr(0x0455): "S",
    chr(0x0391): "A",
    chr(0x0392): "B",
    chr(0x0395): "E",
    chr(0x0396): "Z",
    chr(0x0397): "H",
    chr(0x0399): "I",
    chr(0x039A): "K",
    chr(0x039C): "M",
    chr(0x039D): "N",
    chr(0x039F): "O",
    chr(0x03A1): "P",
    chr(0x03A4): "T",
    chr(0x03A5): "Y",
    chr(0x03A7): "X",
}


def _latin(ch: str) -> str:
    """The plate character a vocabulary entry stands for, or "" if none."""
    if len(ch) != 1:
        return ""
    ch = _HOMOGLYPHS.get(ch, ch)
    ch = unicodedata.normalize("NFKC", ch).upper()  # fullwidth letters and digits
    return ch if len(ch) == 1 and ch in ALPHABET else ""


def _collapse(chars: list[str], idx: npt.NDArray[np.int64]) -> str:
    out = []
    prev = -1
    for ch, k in zip(chars, idx, strict=True):
        if k != prev and ch:
            out.append(ch)
        prev = int(k)
    return "".join(out)


def _width_for(crop: Image) -> int:
    h, w = crop.shape[:2]
    return int(min(_MAX_WIDTH, max(_HEIGHT, math.ceil(_HEIGHT * w / max(h, 1)))))
