"""Plain data across the trust boundary: JSON text in, fresh Python values out, nothing executed.

The judge (trusted) and the harness (in the student's kernel) exchange values as JSON.
:func:`decode` builds only plain values: ``None``, ``bool``, ``int``, ``float``, ``str``,
lists, tuples, dicts, numpy scalars of a known dtype, and *fresh* ``torch.Tensor`` /
``numpy.ndarray`` objects made from raw bytes. No ``pickle``, no ``eval``, no class named
by the sender is ever instantiated: a student's ``Tensor`` subclass with
``__torch_function__``, a ``float`` subclass with a lying ``__eq__`` or an object with a
``__reduce__`` arrives as its plain value (or as an :class:`Opaque` placeholder), so it
cannot bend the comparison that judges it.

Tensors keep their dtype, shape, device type (``cpu``; ``meta`` without data) and
``requires_grad``; ``grad_fn`` cannot cross, so checks about the autograd graph run as
probes in the kernel and come back as plain evidence.

Example
-------
>>> import torch
>>> text = encode({"loss": torch.tensor(0.5), "n": (3, "x")})
>>> value = decode(text)
>>> type(value["loss"]) is torch.Tensor, value["n"]
(True, (3, 'x'))
"""
from __future__ import annotations

import base64
import json
import math

LIMIT = 64 * 2**20          # bytes of encoded text a reply may have, at most
DEPTH = 32                  # nesting, at most
_NUMPY_SCALARS = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                  "float16", "float32", "float64")


class Opaque:
    """A value of a type that cannot cross the boundary; only its type's name does."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name} object (not plain data)>"


class DecodeError(ValueError):
    """The text is not data this codec writes (too large, too deep, malformed)."""


def _torch():
    import torch
    return torch


def _dtype(name: str):
    torch = _torch()
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise DecodeError(f"unknown tensor dtype {name!r}")
    return dtype


def _pack(value, depth: int):
    if depth > DEPTH:
        raise ValueError(f"value nested deeper than {DEPTH} levels")
    # exact types first: a subclass of a plain type is converted to the plain type
    if value is None or type(value) in (bool, str):
        return value
    if isinstance(value, int) and not _is_numpy(value):
        return int.__index__(value) if type(value) is not int else value
    if isinstance(value, float) and not _is_numpy(value):
        value = float.__float__(value)
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, tuple)):
        items = [_pack(v, depth + 1) for v in list.__iter__(value)] if isinstance(value, list) \
            else [_pack(v, depth + 1) for v in tuple.__iter__(value)]
        return items if isinstance(value, list) else {"$tuple": items}
    if isinstance(value, dict):
        return {"$dict": [[_pack(k, depth + 1), _pack(v, depth + 1)] for k, v in dict.items(value)]}
    torch = _torch()
    if isinstance(value, torch.Tensor):
        return {"$tensor": _pack_tensor(value)}
    if _is_numpy(value):
        return _pack_numpy(value)
    return {"$opaque": type(value).__qualname__}


def _is_numpy(value) -> bool:
    return type(value).__module__ == "numpy"


def _pack_tensor(t) -> dict:
    torch = _torch()
    with torch._C.DisableTorchFunctionSubclass():   # a subclass's __torch_function__ stays out
        t = torch.Tensor.as_subclass(t, torch.Tensor)
        meta = {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape),
                "device": t.device.type, "requires_grad": bool(t.requires_grad)}
        if t.device.type == "meta":
            return meta
        plain = t.detach().cpu().contiguous()
        if plain.dtype is torch.bool:
            plain = plain.to(torch.uint8)
        raw = plain.reshape(-1).view(torch.uint8).numpy().tobytes() if plain.numel() else b""
    meta["data"] = base64.b64encode(raw).decode("ascii")
    return meta


def _pack_numpy(value):
    import numpy as np
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        if array.dtype.name not in _NUMPY_SCALARS:
            return {"$opaque": f"numpy.ndarray[{array.dtype.name}]"}
        return {"$ndarray": {"dtype": array.dtype.name, "shape": list(array.shape),
                             "data": base64.b64encode(array.tobytes()).decode("ascii")}}
    if isinstance(value, np.generic) and value.dtype.name in _NUMPY_SCALARS:
        item = value.item()
        return {"$numpy": value.dtype.name,
                "value": item if not isinstance(item, float) or math.isfinite(item) else repr(item)}
    return {"$opaque": type(value).__qualname__}


def encode(value) -> str:
    """``value`` as JSON text (see the module doc for what crosses); raises ValueError when too large."""
    text = json.dumps(_pack(value, 0), separators=(",", ":"), allow_nan=False)
    if len(text) > LIMIT:
        raise ValueError(f"value is {len(text) / 2**20:.0f} MiB encoded, more than {LIMIT // 2**20} MiB")
    return text


def _unpack(obj, depth: int):
    if depth > DEPTH:
        raise DecodeError(f"nested deeper than {DEPTH} levels")
    if obj is None or type(obj) in (bool, int, float, str):
        return obj
    if type(obj) is list:
        return [_unpack(v, depth + 1) for v in obj]
    if type(obj) is not dict or len(obj) not in (1, 2):
        raise DecodeError(f"unexpected {type(obj).__name__}")
    tag = next(iter(obj))
    body = obj[tag]
    if tag == "$tuple" and type(body) is list:
        return tuple(_unpack(v, depth + 1) for v in body)
    if tag == "$dict" and type(body) is list:
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2:
                raise DecodeError("malformed dict entry")
            key = _unpack(pair[0], depth + 1)
            if type(key) not in (str, int, float, bool, tuple) and key is not None:
                raise DecodeError("dict key of an unhashable type")
            out[key] = _unpack(pair[1], depth + 1)
        return out
    if tag == "$float" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "$tensor" and type(body) is dict:
        return _unpack_tensor(body)
    if tag == "$ndarray" and type(body) is dict:
        return _unpack_ndarray(body)
    if tag == "$numpy" and body in _NUMPY_SCALARS:
        import numpy as np
        value = obj.get("value")
        value = float(value) if value in ("nan", "inf", "-inf") else value
        if type(value) not in (bool, int, float):
            raise DecodeError("malformed numpy scalar")
        return np.dtype(body).type(value)
    if tag == "$opaque" and type(body) is str:
        return Opaque(body[:200])
    raise DecodeError(f"unknown tag {tag!r}")


def _shape(body) -> list[int]:
    shape = body.get("shape")
    if type(shape) is not list or not all(type(s) is int and s >= 0 for s in shape):
        raise DecodeError("malformed shape")
    return shape


def _unpack_tensor(body: dict):
    torch = _torch()
    dtype, shape = _dtype(str(body.get("dtype"))), _shape(body)
    grad = body.get("requires_grad") is True and (dtype.is_floating_point or dtype.is_complex)
    if body.get("device") == "meta":
        return torch.empty(shape, dtype=dtype, device="meta", requires_grad=grad)
    if body.get("device") != "cpu" and body.get("device") not in ("cuda", "mps", "xpu"):
        raise DecodeError("unknown device")
    raw = base64.b64decode(str(body.get("data", "")), validate=True)
    stored = torch.uint8 if dtype is torch.bool else dtype
    itemsize = torch.empty((), dtype=stored).element_size()
    if len(raw) != math.prod(shape) * itemsize:
        raise DecodeError(f"tensor data of {len(raw)} bytes for shape {shape} and dtype {dtype}")
    if not raw:
        return torch.empty(shape, dtype=dtype, requires_grad=grad)
    flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(stored).reshape(shape)
    out = flat.to(torch.bool) if dtype is torch.bool else flat.clone()
    return out.requires_grad_(grad)


def _unpack_ndarray(body: dict):
    import numpy as np
    name, shape = str(body.get("dtype")), _shape(body)
    if name not in _NUMPY_SCALARS:
        raise DecodeError(f"unknown array dtype {name!r}")
    raw = base64.b64decode(str(body.get("data", "")), validate=True)
    if len(raw) != math.prod(shape) * np.dtype(name).itemsize:
        raise DecodeError("array data does not match its shape")
    return np.frombuffer(raw, dtype=name).reshape(shape).copy()


def decode(text) -> object:
    """The plain value written by :func:`encode`; raises :class:`DecodeError` on anything else."""
    if type(text) is not str:
        raise DecodeError(f"expected text, got {type(text).__name__}")
    if len(text) > LIMIT:
        raise DecodeError(f"{len(text) / 2**20:.0f} MiB of text, more than {LIMIT // 2**20} MiB")
    try:
        return _unpack(json.loads(text), 0)
    except DecodeError:
        raise
    except (ValueError, TypeError, RecursionError) as exc:   # bad JSON, an unhashable key...
        raise DecodeError(f"not data: {str(exc)[:80]}") from None
