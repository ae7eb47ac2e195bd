"""What the client scripts (optimum_generate.py, optimum_seq2seq.py) share:
their arguments, the fixtures with a generation run, the export, the cache
a graph declares, and the comparison with Transformers' generate()."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def arguments(doc: str, argv: list[str] | None, only_example: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exporter", type=Path, default=REPO / "build" / "typeformer-export")
    ap.add_argument("--fixtures", type=Path, default=REPO / "tests" / "fixtures")
    ap.add_argument("--only", nargs="+", metavar="DIR", help=f"fixture folders, e.g. {only_example}")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    return ap.parse_args(argv)


def fixtures_with_generation(root: Path, feature: str, only: list[str] | None) -> list[Path]:
    """The fixture folders <root>/*/<feature> with a generate.safetensors (those of `only`)."""
    return [d for d in sorted(root.glob(f"*/{feature}"))
            if (d / "generate.safetensors").exists() and (not only or d.parent.name in only)]


def export(exporter: Path, fixture: Path, feature: str, out: Path, extra: list[str] | None = None) -> str:
    """Export the fixture with typeformer-export (`extra`: more options); "" when it worked, else why not."""
    run = subprocess.run([str(exporter), "--model", str(fixture), "--feature", feature, *(extra or []), str(out)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        return f"export failed ({run.returncode}): {run.stderr.strip().splitlines()[-1:]}"
    return ""


def declared_cache(model_file: Path, name: str) -> tuple[int | None, int | None]:
    """The heads and head size a graph declares for its cache input `name`
    ([batch, heads, past, size]; None for another layout, e.g. BLOOM's)."""
    import onnx

    for i in onnx.load(str(model_file), load_external_data=False).graph.input:
        if i.name == name:
            dims = i.type.tensor_type.shape.dim
            if len(dims) == 4 and dims[1].HasField("dim_value") and dims[3].HasField("dim_value"):
                return dims[1].dim_value, dims[3].dim_value
    return None, None


def compare(got, want, want_logits, first_new: int) -> tuple[bool, str]:
    """Optimum's generate() output `got` against Transformers' tokens `want`
    [B, T] and logits [N, B, V]; the tokens shown from `first_new` on."""
    import torch

    logits = torch.stack([x.to(torch.float32) for x in got.logits])
    diff = (logits - want_logits).abs().max().item() if logits.shape == want_logits.shape else float("inf")
    same = torch.equal(got.sequences, want)
    note = f"tokens {'equal' if same else 'DIFFER'}, logits max |diff| {diff:.2e}"
    if not same:
        note += f" (got {got.sequences[0, first_new:].tolist()}, want {want[0, first_new:].tolist()})"
    return same, note


def failure(e: Exception) -> str:
    return f"fails: {type(e).__name__}: " + " ".join(str(e).split())[:400]
