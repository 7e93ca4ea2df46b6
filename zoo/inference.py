"""Fast inference with a checked runtime: the same ONNX Runtime exports that ``zoo bench`` times.

    from zoo.inference import FastEncoder

    enc = FastEncoder.from_pretrained("zoo-work/students/time-xh-xs", runtime="onnx-int8")
    vectors = enc.encode(["Molweni!", "Ndiyabulela kakhulu."])     # (2, hidden) mean-pooled
    out = enc(["Molweni!"])                                          # last_hidden_state + attention_mask

The first use of a runtime exports the model (``torch.onnx.export``; int8 by dynamic quantisation) into
``cache_dir()/onnx/<model>-<revision>/`` and checks it against the eager PyTorch model on ``check_texts``
(cosine of mean-pooled embeddings >= 0.9999 fp32, >= 0.99 int8). The result is stored next to the export
(``check.json``); a runtime that failed its check is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.errors import UsageError, ZooError
from zoo.fileio import write_json_atomic

# Used when the caller gives no check texts: short sentences in several scripts and languages.
DEFAULT_CHECK_TEXTS = (
    "Molweni, ninjani namhlanje?",
    "Abantwana baya esikolweni kusasa ngamnye.",
    "The committee will publish its report next week.",
    "Die Stadt liegt am Ufer eines großen Flusses.",
    "Le gouvernement a annoncé de nouvelles mesures hier soir.",
    "A tanulmány eredményei meglepték a kutatókat.",
    "یہ کتاب بہت دلچسپ ہے اور میں اسے دوبارہ پڑھوں گا۔",
    "Ndiyabulela kakhulu ngoncedo lwakho.",
)


class FastEncoder:
    """An encoder behind a runtime (``eager``, ``onnx-fp32``, ``onnx-int8``) with its tokenizer."""

    def __init__(self, runtime, tokenizer, name: str, max_length: int, agreement: dict[str, Any] | None):
        self.runtime = runtime
        self.tokenizer = tokenizer
        self.runtime_name = name
        self.max_length = max_length
        self.agreement = agreement

    @classmethod
    def from_pretrained(
        cls,
        model: str | Path,
        runtime: str = "onnx-int8",
        threads: int | None = None,
        cache_dir: str | Path | None = None,
        max_length: int = 512,
        check_texts: Sequence[str] | None = None,
        spin: bool = True,
    ) -> FastEncoder:
        """Load ``model`` (a checkpoint dir or Hub id) behind ``runtime``; export and check on first use.

        ``cache_dir`` replaces the folder of exports (default ``cache_dir()/onnx``); ``threads`` defaults to
        the CPUs this process may use; ``spin=False`` stops idle worker threads from spin-waiting (better
        on a busy machine).
        """
        from zoo.bench.protocol import n_cpus
        from zoo.models import model_from_arg
        from zoo.onnx_export import ONNX_FILE, export_onnx, export_root, quantize_int8
        from zoo.runtimes import MIN_COSINE, OrtRuntime, TorchRuntime, check_agreement

        if runtime not in ("eager", "onnx-fp32", "onnx-int8"):
            raise UsageError(f"unknown runtime '{runtime}'", hint="eager, onnx-fp32 or onnx-int8")
        ref = model_from_arg(str(model))
        tokenizer = ref.load_tokenizer()
        threads = threads or n_cpus()
        if runtime == "eager":
            import torch

            torch.set_num_threads(threads)
            return cls(TorchRuntime(ref.load_model()), tokenizer, runtime, max_length, None)
        root = export_root(ref.id, ref.revision())
        if cache_dir is not None:
            root = Path(cache_dir).expanduser() / root.name
        sub = root / ("int8" if runtime == "onnx-int8" else "fp32")
        check_file = sub / "check.json"
        texts = list(check_texts or DEFAULT_CHECK_TEXTS)
        agreement = None
        if check_file.is_file():
            import json

            agreement = json.loads(check_file.read_text(encoding="utf-8"))
        else:
            model_obj = ref.load_model()
            eager = TorchRuntime(model_obj)
            batches = [_tokenise(tokenizer, texts[i : i + 16], max_length) for i in range(0, len(texts), 16)]
            reference = [eager.hidden(b) for b in batches]
            path = export_onnx(model_obj, root)
            if runtime == "onnx-int8":
                path = quantize_int8(path, root)
            rt = OrtRuntime(path, runtime, threads, spin=spin)
            got = [rt.hidden(b) for b in batches]
            agreement = check_agreement(
                reference, got, [b["attention_mask"] for b in batches], MIN_COSINE[runtime]
            )
            agreement["check_texts"] = len(texts)
            write_json_atomic(check_file, agreement)
        if not agreement.get("ok"):
            raise ZooError(
                f"{runtime} export of {ref.id} disagrees with the eager model "
                f"(min cosine {agreement.get('min_cosine')}, threshold {agreement.get('threshold')})",
                hint=f"use runtime='onnx-fp32' or 'eager', or delete {sub} to re-export",
            )
        rt = OrtRuntime(sub / ONNX_FILE, runtime, threads, spin=spin)
        return cls(rt, tokenizer, runtime, max_length, agreement)

    def __call__(self, texts: Sequence[str], max_length: int | None = None) -> dict[str, np.ndarray]:
        """``{"last_hidden_state": (n, len, hidden) float32, "attention_mask": (n, len)}`` for ``texts``."""
        batch = _tokenise(self.tokenizer, list(texts), max_length or self.max_length)
        return {"last_hidden_state": self.runtime.hidden(batch), "attention_mask": batch["attention_mask"]}

    def encode(self, texts: Sequence[str], batch_size: int = 32, normalize: bool = False) -> np.ndarray:
        """Mean-pooled sentence embeddings, (n, hidden) float32; L2-normalised when ``normalize``."""
        from zoo.runtimes import mean_pool

        if isinstance(texts, str):
            raise UsageError("encode() takes a list of texts, not a string")
        out = []
        for i in range(0, len(texts), batch_size):
            o = self(texts[i : i + batch_size])
            out.append(mean_pool(o["last_hidden_state"], o["attention_mask"]).astype(np.float32))
        vecs = np.concatenate(out) if out else np.zeros((0, 0), np.float32)
        if normalize and len(vecs):
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return vecs


def _tokenise(tokenizer, texts: list[str], max_length: int) -> dict[str, np.ndarray]:
    enc = tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="np")
    return {
        "input_ids": enc["input_ids"].astype(np.int64),
        "attention_mask": enc["attention_mask"].astype(np.int64),
    }
