"""Artifacts as arrays plus JSON: a store artifact encoded without pickle.

An artifact (a staged run set with what was measured on it: dicts, lists, numpy
arrays, torch tensors, `RunConfig`, `History`, `staged.Staged` ...) is written as one
safetensors blob: every array and tensor is a named tensor of the blob, and the
structure around them is a JSON manifest kept in the blob's ``__metadata__``.

Why not pickle: unpickling calls whatever the bytes name, so anyone who can write a
shared store file could run code on every machine that reads it. Decoding here calls
no function named by the data. Arrays are read by safetensors (a length-checked
header plus raw bytes); the manifest is plain JSON; the only classes ever
instantiated are the containers below and the dataclasses and namedtuples on an
allow-list (`GROKCORE_TYPES`, or `register`ed by the program itself), built with
their own constructors (so their ``__post_init__`` checks run).

Manifest nodes: JSON null, booleans, integers, strings and finite floats stand for
themselves and a JSON list for a Python list; everything else is an object with a
``"$"`` tag: float (non-finite), tuple, set, frozenset, dict, OrderedDict (items as
[key, value] pairs, so keys need not be strings), ndarray, npscalar, tensor (a
``ref`` to a tensor of the blob; one object stored twice is one ref, and decodes to
one object again), dataclass, namedtuple (an allow-listed ``type``). Reference
cycles and any other type are refused when encoding, with the type named.

Tensors are stored detached and on the CPU, whatever device they were on (an
artifact made on a GPU machine loads anywhere). Dtypes numpy lacks (bfloat16, the
float8 types) are stored as integers of the same width and viewed back.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import math
import struct
import sys
from collections import OrderedDict
from typing import Any

import numpy as np

FORMAT = "grokcore-artifact/1"  # the manifest's format tag; bump on an incompatible change
_META_KEY = "grokcore"
_HEADER_LIMIT = 100 << 20  # safetensors' own limit on the JSON header (100 MB)

# Classes an artifact may hold besides the containers. Resolved by importing their
# module only when one is met; the module names come from this list, never from data.
GROKCORE_TYPES = (
    "grokcore.engine.config:RunConfig",
    "grokcore.engine.config:ModelSpec",
    "grokcore.engine.config:OptimSpec",
    "grokcore.engine.llc:SGLDConfig",
    "grokcore.engine.staged:Staged",
    "grokcore.engine.staged:Checkpoint",
    "grokcore.base.history:History",
)
_REGISTERED: dict[str, type] = {}


class ArtifactDecodeError(ValueError):
    """The blob is not an artifact this code can read (damaged, another format, a type
    not on the allow-list). The caller treats the artifact as missing."""


def type_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def register(cls: type) -> type:
    """Allow instances of ``cls`` (a dataclass or a namedtuple) in artifacts; usable as a
    class decorator. Registration is per process: a reader must register it too."""
    if not (dataclasses.is_dataclass(cls) or _is_namedtuple_type(cls)):
        raise TypeError(f"{type_name(cls)}: only dataclasses and namedtuples can be registered")
    _REGISTERED[type_name(cls)] = cls
    return cls


def _is_namedtuple_type(cls: type) -> bool:
    return isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")


def _allowed_type(name: str) -> type:
    """The class ``name`` ('module:qualname') if it is registered or on `GROKCORE_TYPES`."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in GROKCORE_TYPES:
        raise ArtifactDecodeError(f"type {name} is not allowed in artifacts")
    module, qualname = name.split(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


# ---------------------------------------------------------------- encoding


class _Encoder:
    """Walks an object tree into manifest nodes, collecting its arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.refs: dict[int, str] = {}  # id(array or tensor) -> its ref: shared stays shared
        self.keep: list[Any] = []  # keeps encoded objects alive, so no id() is reused meanwhile
        self.active: set[int] = set()  # containers being encoded: a repeat is a cycle

    def node(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int) and type(obj) is int:
            return obj
        if type(obj) is float:
            return obj if math.isfinite(obj) else {"$": "float", "v": repr(obj)}
        if isinstance(obj, np.ndarray) and type(obj) is np.ndarray:
            return {"$": "ndarray", "ref": self._array_ref(obj, lambda: obj)}
        if isinstance(obj, np.generic):
            return {"$": "npscalar", "ref": self._array_ref(obj, lambda: np.asarray(obj))}
        torch = sys.modules.get("torch")  # no tensor can exist unless torch was imported
        if torch is not None and isinstance(obj, torch.Tensor):
            return self._tensor(obj, torch)
        if id(obj) in self.active:
            raise TypeError(f"artifact holds a reference cycle through a {type(obj).__name__}; cannot store it")
        self.active.add(id(obj))
        try:
            return self._container(obj)
        finally:
            self.active.discard(id(obj))

    def _container(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is list:
            return [self.node(v) for v in obj]
        if kind in (tuple, set, frozenset):
            items = sorted(obj, key=repr) if kind is not tuple else obj  # sets: a stable order
            return {"$": kind.__name__, "items": [self.node(v) for v in items]}
        if kind in (dict, OrderedDict):
            return {"$": kind.__name__, "items": [[self.node(k), self.node(v)] for k, v in obj.items()]}
        name = type_name(kind)
        if name not in _REGISTERED and name not in GROKCORE_TYPES:
            raise TypeError(f"cannot store an object of type {name} in an artifact: only containers, numbers, "
                            "strings, arrays, tensors and allow-listed classes (artifact_codec.register)")
        if _is_namedtuple_type(kind):
            return {"$": "namedtuple", "type": name, "items": [self.node(v) for v in obj]}
        if dataclasses.is_dataclass(obj):
            fields = [[f.name, self.node(getattr(obj, f.name))]
                      for f in dataclasses.fields(obj) if hasattr(obj, f.name)]
            return {"$": "dataclass", "type": name, "fields": fields}
        raise TypeError(f"{name} is registered but is neither a dataclass nor a namedtuple")

    def _array_ref(self, obj: Any, as_array: Any) -> str:
        if id(obj) not in self.refs:
            array = as_array()
            if not _storable(array.dtype):
                raise TypeError(f"cannot store a numpy array of dtype {array.dtype} in an artifact")
            self.refs[id(obj)] = ref = f"t{len(self.arrays)}"
            # copy(order='C'), not ascontiguousarray: that turns a 0-d array (a scalar) into 1-d
            self.arrays[ref] = array if array.flags.c_contiguous else array.copy(order="C")
            self.keep.append(obj)
        return self.refs[id(obj)]

    def _tensor(self, t: Any, torch: Any) -> dict:
        dtype = str(t.dtype).removeprefix("torch.")

        def as_array() -> np.ndarray:
            cpu = t.detach().cpu().contiguous()
            try:
                return cpu.numpy()
            except TypeError:  # a dtype numpy lacks (bfloat16, float8): its bits, as integers
                width = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[cpu.element_size()]
                return cpu.view(width).numpy()

        return {"$": "tensor", "ref": self._array_ref(t, as_array), "dtype": dtype}


def _storable(dtype: np.dtype) -> bool:
    """Numeric and boolean dtypes, as safetensors stores them (complex128 it does not)."""
    return dtype.kind in "biuf" or dtype == np.complex64


def encode(obj: Any) -> bytes:
    """``obj`` as one safetensors blob (arrays) with the JSON manifest in its metadata.
    TypeError names the first part of ``obj`` that cannot be stored."""
    from safetensors.numpy import save

    enc = _Encoder()
    root = enc.node(obj)
    manifest = json.dumps({"format": FORMAT, "root": root}, allow_nan=False, separators=(",", ":"))
    return save(enc.arrays, metadata={_META_KEY: manifest})


# ---------------------------------------------------------------- decoding


def _metadata(blob: bytes) -> dict:
    """The safetensors header's ``__metadata__``, read with length checks (no safetensors
    call needed: the header is 8 bytes of little-endian length, then that much JSON)."""
    if len(blob) < 8:
        raise ArtifactDecodeError("too short for a safetensors blob")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > min(_HEADER_LIMIT, len(blob) - 8):
        raise ArtifactDecodeError("safetensors header length out of range")
    try:
        header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ArtifactDecodeError(f"bad safetensors header: {err}") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get(_META_KEY), str):
        raise ArtifactDecodeError("no grokcore manifest in the blob")
    return meta


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.objects: dict[tuple[str, str], Any] = {}  # (kind, ref) -> object: shared stays shared

    def node(self, n: Any) -> Any:
        if n is None or isinstance(n, (bool, int, float, str)):
            return n
        if isinstance(n, list):
            return [self.node(v) for v in n]
        if not isinstance(n, dict) or not isinstance(n.get("$"), str):
            raise ArtifactDecodeError(f"bad manifest node of type {type(n).__name__}")
        tag = n["$"]
        handler = getattr(self, f"_n_{tag}", None)
        if handler is None:
            raise ArtifactDecodeError(f"unknown manifest tag {tag!r}")
        return handler(n)

    def _items(self, n: dict, field: str = "items") -> list:
        items = n.get(field)
        if not isinstance(items, list):
            raise ArtifactDecodeError(f"manifest {n['$']} without a list of {field}")
        return items

    def _pairs(self, n: dict) -> list[tuple[Any, Any]]:
        pairs = self._items(n)
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise ArtifactDecodeError(f"manifest {n['$']} items must be [key, value] pairs")
        return [(self.node(k), self.node(v)) for k, v in pairs]

    def _n_float(self, n: dict) -> float:
        if n.get("v") not in ("nan", "inf", "-inf"):
            raise ArtifactDecodeError(f"bad non-finite float {n.get('v')!r}")
        return float(n["v"])

    def _n_tuple(self, n: dict) -> tuple:
        return tuple(self.node(v) for v in self._items(n))

    def _n_set(self, n: dict) -> set:
        return {self.node(v) for v in self._items(n)}

    def _n_frozenset(self, n: dict) -> frozenset:
        return frozenset(self.node(v) for v in self._items(n))

    def _n_dict(self, n: dict) -> dict:
        return dict(self._pairs(n))

    def _n_OrderedDict(self, n: dict) -> OrderedDict:
        return OrderedDict(self._pairs(n))

    def _array(self, n: dict) -> np.ndarray:
        ref = n.get("ref")
        if not isinstance(ref, str) or ref not in self.arrays:
            raise ArtifactDecodeError(f"manifest refers to a missing array {ref!r}")
        return self.arrays[ref]

    def _shared(self, kind: str, n: dict, make: Any) -> Any:
        key = (kind, str(n.get("ref")))
        if key not in self.objects:
            self.objects[key] = make(self._array(n))
        return self.objects[key]

    def _n_ndarray(self, n: dict) -> np.ndarray:
        return self._shared("ndarray", n, lambda a: a)

    def _n_npscalar(self, n: dict) -> np.generic:
        def scalar(a: np.ndarray) -> np.generic:
            if a.ndim != 0:
                raise ArtifactDecodeError("a numpy scalar must be stored as a 0-d array")
            return a[()]

        return self._shared("npscalar", n, scalar)

    def _n_tensor(self, n: dict) -> Any:
        import torch

        # vars(), not getattr: a name from the blob must not reach torch's lazy-import __getattr__
        dtype = vars(torch).get(str(n.get("dtype")))
        if not isinstance(dtype, torch.dtype):
            raise ArtifactDecodeError(f"unknown tensor dtype {n.get('dtype')!r}")

        def tensor(a: np.ndarray) -> Any:
            t = torch.from_numpy(a)
            if t.dtype == dtype:
                return t
            if t.element_size() != dtype.itemsize or t.dtype.is_floating_point:
                raise ArtifactDecodeError(f"tensor stored as {a.dtype} cannot be viewed as {dtype}")
            return t.view(dtype)

        return self._shared("tensor", n, tensor)

    def _n_namedtuple(self, n: dict) -> tuple:
        cls = _allowed_type(str(n.get("type")))
        if not _is_namedtuple_type(cls):
            raise ArtifactDecodeError(f"{n.get('type')} is not a namedtuple")
        return cls(*(self.node(v) for v in self._items(n)))

    def _n_dataclass(self, n: dict) -> Any:
        cls = _allowed_type(str(n.get("type")))
        if not dataclasses.is_dataclass(cls):
            raise ArtifactDecodeError(f"{n.get('type')} is not a dataclass")
        pairs = self._items(n, "fields")
        if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
            raise ArtifactDecodeError(f"{n['type']}: fields must be [name, value] pairs")
        values = {name: self.node(v) for name, v in pairs}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if set(values) - set(fields):
            raise ArtifactDecodeError(f"{n['type']} has no field(s) {sorted(set(values) - set(fields))}")
        try:  # the class's own constructor: its checks run on what the blob holds
            obj = cls(**{k: v for k, v in values.items() if fields[k].init})
        except (TypeError, ValueError) as err:
            raise ArtifactDecodeError(f"{n['type']}: {err}") from None
        for k, v in values.items():
            if not fields[k].init:
                object.__setattr__(obj, k, v)
        return obj


def decode(blob: bytes) -> Any:
    """The object `encode` stored in ``blob``; ArtifactDecodeError if ``blob`` is not one."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    meta = _metadata(blob)
    try:
        manifest = json.loads(meta[_META_KEY])
    except (ValueError, RecursionError) as err:
        raise ArtifactDecodeError(f"bad manifest JSON: {err}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else None
        raise ArtifactDecodeError(f"manifest format {got!r}, expected {FORMAT!r}")
    try:
        arrays = load(blob)
    except SafetensorError as err:
        raise ArtifactDecodeError(f"bad safetensors data: {err}") from None
    try:
        return _Decoder(arrays).node(manifest.get("root"))
    except RecursionError:
        raise ArtifactDecodeError("manifest nested too deeply") from None
    except TypeError as err:  # e.g. a list as a dict key or set member: not what encode writes
        raise ArtifactDecodeError(f"bad manifest: {err}") from None
