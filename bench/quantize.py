"""Side by side: typeformer's --quantize int8 against onnxruntime's quantize_dynamic.

Run by bench/quantize.sh (one model at a time), with a Python that has
onnxruntime and onnx (and tokenizers, for the sentence embeddings):

    python bench/quantize.py --dir OUT --name all-MiniLM-L6-v2 [--sentences] [--threads 2]

OUT holds model.onnx (typeformer's float32 export) and model_quantized.onnx
(typeformer's --quantize int8). The script

- applies onnxruntime.quantization.quantize_dynamic (QInt8 weights, its
  default op types) to model.onnx, per tensor and per channel, timing each;
- measures ONNX Runtime's CPU latency of every model at batch 1 and 8,
  sequence 128 (median of interleaved runs);
- measures the loss against float32: last_hidden_state's cosine similarity
  per token on random ids; with --sentences (a sentence-transformers model
  whose tokenizer.json is in OUT), the cosine similarity of the real
  sentences' embeddings (mean pooling, normalised, as all-MiniLM-L6-v2 is
  used) and the top-1 agreement of a zero-shot topic classifier made from
  them (each sentence's nearest label description);
- prints one JSON object.
"""

import argparse
import json
import os
import statistics
import time

import numpy as np
import onnxruntime as ort

# Real sentences, and labels for the zero-shot classifier (nearest description).
SENTENCES = [
    "The striker scored twice in the second half to win the match.",
    "The team signed a new goalkeeper before the transfer window closed.",
    "She finished the marathon in under three hours.",
    "The tennis final went to five sets and lasted four hours.",
    "Our coach wants us to practise free throws every morning.",
    "The cyclists climbed the mountain pass in heavy rain.",
    "Parliament passed the budget after a long night of debate.",
    "The president met foreign ministers to discuss the treaty.",
    "Voters will elect a new mayor next Sunday.",
    "The opposition party called for an inquiry into the scandal.",
    "A new law raises the minimum wage from January.",
    "The senator announced she will not run for re-election.",
    "The new phone has a faster processor and a better camera.",
    "Engineers released a patch that fixes the security flaw.",
    "The compiler now supports the latest language standard.",
    "Cloud providers are building data centres near the coast.",
    "This laptop's battery lasts a whole working day.",
    "The startup trained a language model on a single GPU.",
    "Add the garlic and fry it until golden before the tomatoes.",
    "This bakery makes the best sourdough bread in town.",
    "The soup needs more salt and a squeeze of lemon.",
    "We had grilled fish and rice for dinner.",
    "Whisk the eggs with sugar until the mixture is pale.",
    "The restaurant serves fresh pasta made every morning.",
    "Heavy snow is expected in the mountains tonight.",
    "The heatwave will last until the end of the week.",
    "Strong winds knocked down trees across the region.",
    "It will be sunny in the morning with showers later.",
    "The storm brought floods to the coastal towns.",
    "Temperatures will drop below freezing overnight.",
    "The orchestra played Beethoven's ninth symphony.",
    "Her new album mixes jazz with electronic beats.",
    "The guitarist tuned his instrument before the concert.",
    "Tickets for the festival sold out in ten minutes.",
    "The choir rehearsed the hymn for the wedding.",
    "He learned to play the piano at the age of six.",
    "The central bank raised interest rates by a quarter point.",
    "Shares fell sharply after the company's profit warning.",
    "Inflation slowed for the third month in a row.",
    "The bank approved our mortgage application.",
    "Investors moved their savings into government bonds.",
    "The currency weakened against the dollar.",
    "Regular exercise lowers the risk of heart disease.",
    "The doctor prescribed antibiotics for the infection.",
    "Drinking enough water helps prevent headaches.",
    "The hospital opened a new wing for children.",
    "A good night's sleep improves memory and mood.",
    "The vaccine trial showed strong protection against the virus.",
]
LABELS = [
    "This text is about sports.",
    "This text is about politics.",
    "This text is about technology.",
    "This text is about food and cooking.",
    "This text is about the weather.",
    "This text is about music.",
    "This text is about finance and the economy.",
    "This text is about health and medicine.",
]


def session(path, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def feeds_for(sess, ids, mask):
    names = [i.name for i in sess.get_inputs()]
    f = {"input_ids": ids, "attention_mask": mask}
    if "token_type_ids" in names:
        f["token_type_ids"] = np.zeros_like(ids)
    return {k: v for k, v in f.items() if k in names}


def latency(sessions, batch, seq, vocab, runs, min_time):
    rng = np.random.default_rng(0)
    ids = rng.integers(0, vocab, size=(batch, seq), dtype=np.int64)
    mask = np.ones_like(ids)
    times = {k: [] for k in sessions}
    for s in sessions.values():  # warm up
        s.run(None, feeds_for(s, ids, mask))
    for _ in range(runs):  # interleaved: every model once per round
        for k, s in sessions.items():
            f = feeds_for(s, ids, mask)
            n, t0 = 0, time.perf_counter()
            while True:
                s.run(None, f)
                n += 1
                if time.perf_counter() - t0 >= min_time:
                    break
            times[k].append((time.perf_counter() - t0) / n * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def hidden(sess, ids, mask):
    return sess.run(["last_hidden_state"], feeds_for(sess, ids, mask))[0]


def cosine_rows(a, b):
    a = a.reshape(-1, a.shape[-1])
    b = b.reshape(-1, b.shape[-1])
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def embed(sess, tok, texts):
    enc = tok.encode_batch(texts)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    h = hidden(sess, ids, mask)
    m = mask[..., None].astype(np.float32)
    e = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return e / np.linalg.norm(e, axis=-1, keepdims=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--sentences", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=1.0)
    a = ap.parse_args()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    d = a.dir
    fp32 = os.path.join(d, "model.onnx")
    models = {"float32": fp32, "typeformer --quantize int8": os.path.join(d, "model_quantized.onnx")}
    quantize_seconds = {}
    for per_channel in (False, True):
        key = "quantize_dynamic" + (" per_channel" if per_channel else "")
        path = os.path.join(d, "model_qd_pc.onnx" if per_channel else "model_qd.onnx")
        t0 = time.perf_counter()
        quantize_dynamic(fp32, path, weight_type=QuantType.QInt8, per_channel=per_channel)
        quantize_seconds[key] = time.perf_counter() - t0
        models[key] = path
    sizes = {k: os.path.getsize(p) for k, p in models.items()}
    sessions = {k: session(p, a.threads) for k, p in models.items()}
    vocab = json.load(open(os.path.join(d, "config.json")))["vocab_size"]

    lat = {f"b{b}": latency(sessions, b, 128, vocab, a.runs, a.min_time) for b in (1, 8)}

    # loss on random ids: cosine similarity of last_hidden_state per token, against float32
    rng = np.random.default_rng(1)
    ids = rng.integers(0, vocab, size=(8, 128), dtype=np.int64)
    mask = np.ones_like(ids)
    ref = hidden(sessions["float32"], ids, mask)
    random_ids = {}
    for k, s in sessions.items():
        if k == "float32":
            continue
        h = hidden(s, ids, mask)
        c = cosine_rows(ref, h)
        random_ids[k] = {"cosine_mean": float(c.mean()), "cosine_min": float(c.min()),
                         "max_abs_diff": float(np.abs(ref - h).max()), "max_abs": float(np.abs(ref).max())}

    result = {"model": a.name, "threads": a.threads, "onnxruntime": ort.__version__, "size_bytes": sizes,
              "quantize_dynamic_seconds": quantize_seconds, "latency_ms": lat,
              "hidden_cosine_random_ids": random_ids}

    if a.sentences:
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        tok.enable_truncation(128)
        ref_s = embed(sessions["float32"], tok, SENTENCES)
        ref_l = embed(sessions["float32"], tok, LABELS)
        ref_top = (ref_s @ ref_l.T).argmax(-1)
        sent = {}
        for k, s in sessions.items():
            if k == "float32":
                continue
            e = embed(s, tok, SENTENCES)
            l_ = embed(s, tok, LABELS)
            top = (e @ l_.T).argmax(-1)
            c = (e * ref_s).sum(-1)
            sent[k] = {"cosine_mean": float(c.mean()), "cosine_min": float(c.min()),
                       "top1_agreement": float((top == ref_top).mean()), "sentences": len(SENTENCES)}
        # the classifier's own accuracy, float32: sentence i is about topic i // 6
        truth = np.arange(len(SENTENCES)) // (len(SENTENCES) // len(LABELS))
        result["zero_shot_accuracy_float32"] = float((ref_top == truth).mean())
        result["sentence_embeddings"] = sent
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
