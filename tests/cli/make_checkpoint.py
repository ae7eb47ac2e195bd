#!/usr/bin/env python3
"""Broken (and unusual) checkpoints for the command-line tests.

    make_checkpoint.py SRC DST CASE

copies the checkpoint folder SRC (config.json + model.safetensors) to DST
and damages DST/model.safetensors as CASE says. Standard library only.

    make_checkpoint.py --large DST GIB

writes a BERT checkpoint folder of more than GIB GiB (a 1-layer model whose
word embedding table makes the size), as a sparse file of zeros: it takes no
time and no disk space to write, and exporting it still streams every byte.
"""
import json
import math
import os
import shutil
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def header_bytes(header):
    text = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    return text.encode()


def write(path, header, data, length=None):
    h = header_bytes(header)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h) if length is None else length))
        f.write(h)
        f.write(data)


def tensors(header):
    """Tensor names in file order."""
    return sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])


def damage(src, dst, case):
    os.makedirs(dst, exist_ok=True)
    shutil.copy(os.path.join(src, "config.json"), dst)
    header, data = read(os.path.join(src, "model.safetensors"))
    out = os.path.join(dst, "model.safetensors")
    names = tensors(header)
    if case == "header_beyond_file":
        write(out, header, data, length=len(header_bytes(header)) + len(data) + 1000)
    elif case == "header_not_json":
        write(out, '{"embeddings.word_embeddings.weight": {"dtype": "F32", ' + " " * 64, data)
    elif case == "header_not_object":
        write(out, "[1, 2, 3]", data)
    elif case == "offsets_out_of_range":
        begin, end = header[names[-1]]["data_offsets"]
        header[names[-1]]["data_offsets"] = [begin + 64, end + 64]
        write(out, header, data)
    elif case == "overlap":
        # the second tensor's range starts inside the first's
        b0, e0 = header[names[0]]["data_offsets"]
        b1, e1 = header[names[1]]["data_offsets"]
        header[names[1]]["data_offsets"] = [b1 - 4, e1 - 4]
        write(out, header, data)
    elif case == "misaligned":
        # every tensor one byte later: F32 data at odd offsets (the format allows it)
        for k in names:
            b, e = header[k]["data_offsets"]
            header[k]["data_offsets"] = [b + 1, e + 1]
        write(out, header, b"\0" + data)
    elif case == "size_mismatch":
        name = next(k for k in names if k.endswith("LayerNorm.bias"))
        header[name]["shape"] = [header[name]["shape"][0] - 1]
        write(out, header, data)
    elif case == "unknown_dtype":
        header[names[0]]["dtype"] = "F33"
        write(out, header, data)
    elif case == "duplicate_name":
        text = json.dumps(header, separators=(",", ":"))
        entry = json.dumps({names[0]: header[names[0]]}, separators=(",", ":"))[1:-1]
        write(out, text[:-1] + "," + entry + "}", data)
    elif case in ("nan", "inf"):
        # the last row of the position table: validation (9 positions) never reads it
        name = next(k for k in names if k.endswith("position_embeddings.weight"))
        rows, width = header[name]["shape"]
        begin = header[name]["data_offsets"][0] + (rows - 1) * width * 4
        value = struct.pack("<f", math.nan if case == "nan" else math.inf)
        data = bytearray(data)
        data[begin:begin + 8] = value * 2
        write(out, header, bytes(data))
    else:
        sys.exit("unknown case " + case)


def large(dst, gib):
    hidden, heads, inter, positions, types = 64, 4, 64, 64, 2
    vocab = math.ceil((gib * 2**30) / (hidden * 4)) + 1000
    shapes = {"embeddings.word_embeddings.weight": [vocab, hidden],
              "embeddings.position_embeddings.weight": [positions, hidden],
              "embeddings.token_type_embeddings.weight": [types, hidden],
              "embeddings.LayerNorm.weight": [hidden], "embeddings.LayerNorm.bias": [hidden]}
    p = "encoder.layer.0."
    for m in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
        shapes[p + m + ".weight"], shapes[p + m + ".bias"] = [hidden, hidden], [hidden]
    shapes[p + "intermediate.dense.weight"], shapes[p + "intermediate.dense.bias"] = [inter, hidden], [inter]
    shapes[p + "output.dense.weight"], shapes[p + "output.dense.bias"] = [hidden, inter], [hidden]
    for m in ("attention.output.LayerNorm", "output.LayerNorm"):
        shapes[p + m + ".weight"], shapes[p + m + ".bias"] = [hidden], [hidden]
    header, at = {}, 0
    for name, shape in shapes.items():
        size = 4 * math.prod(shape)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [at, at + size]}
        at += size
    os.makedirs(dst, exist_ok=True)
    h = header_bytes(header)
    with open(os.path.join(dst, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        f.truncate(8 + len(h) + at)
    config = {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": hidden,
              "num_attention_heads": heads, "num_hidden_layers": 1, "intermediate_size": inter,
              "max_position_embeddings": positions, "type_vocab_size": types, "vocab_size": vocab}
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    if sys.argv[1] == "--large":
        large(sys.argv[2], float(sys.argv[3]))
    else:
        damage(*sys.argv[1:4])
