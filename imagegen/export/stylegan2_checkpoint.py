"""Read StyleGAN2 generator weights for stylegan2_onnx.py.

Two layouts are understood, told apart by their key names (see README.md):

  rosinality  rosinality's stylegan2-pytorch: style.1.weight, input.input,
              conv1.conv.weight, convs.N.*, to_rgbs.N.*, latent_avg at the top
  ada         NVlabs' stylegan2-ada-pytorch (and the stylegan2 networks of
              stylegan3): mapping.fc0.weight, mapping.w_avg, synthesis.b4.const,
              synthesis.bR.conv0/conv1/torgb.*

Both are turned into the state dict of stylegan2_onnx.Generator, together with
the configuration read from the weights themselves (resolution, channels per
resolution, number of mapping layers) and from the pickle where there is one
(conv_clamp, the mapping learning-rate multiplier, the architecture).

Files are read without running code from them. A stylegan2-ada-pytorch .pkl
stores each network as "persistent" objects whose class source code is
embedded and exec'd by NVlabs' torch_utils on load; SafeUnpickler instead turns
each such object into a PersistentObject holding its pickled __dict__ (the
_parameters, _buffers and _modules an nn.Module keeps, and plain attributes
such as conv_clamp), and never imports or executes anything named in the file
apart from a short list of tensor-rebuilding functions. torch.save files (zip
or legacy) are read by this module too, with the same unpickler, rather than
by torch.load: torch.load either runs arbitrary pickled calls
(weights_only=False; PyTorch 1.13 also ignores a pickle_module then) or
refuses the argparse.Namespace that rosinality's checkpoints carry.
"""

import collections
import io
import pickle
import re
import zipfile

import torch

ZDIM = 512

# --------------------------------------------------------------------------
# A pickle reader that runs nothing from the file.


class Opaque:
    """Stands in for any object whose class is not on the allow list."""

    origin = "?"

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs, self.state = args, kwargs, None

    def __setstate__(self, state):
        self.state = state

    def __repr__(self):
        return f"<opaque {self.origin}>"


def _opaque(module, name):
    return type(name, (Opaque,), {"origin": f"{module}.{name}"})


class PersistentObject:
    """An object pickled by NVlabs' torch_utils.persistence, not reconstructed.

    class_name is the class it was (SynthesisLayer, ...); state is the pickled
    __dict__; module_src, the embedded source, is kept as text and never run.
    """

    def __init__(self, class_name, state, module_src):
        self.class_name, self.state, self.module_src = class_name, state, module_src

    def __repr__(self):
        return f"<persistent {self.class_name}>"


def _reconstruct_persistent_obj(meta):
    if not isinstance(meta, dict) or not isinstance(meta.get("state"), dict):
        raise pickle.UnpicklingError("persistent object without a state dict")
    return PersistentObject(str(meta.get("class_name")), meta["state"], meta.get("module_src"))


class EasyDict(dict):
    """dnnlib.util.EasyDict's data (a dict with attribute access)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


_STORAGE_DTYPES = {
    "FloatStorage": torch.float32, "DoubleStorage": torch.float64, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool, "UntypedStorage": torch.uint8,
}


class _StorageType:
    """torch.FloatStorage and the like, as named in a persistent id: only the dtype is used."""

    def __init__(self, dtype):
        self.dtype = dtype


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, *rest):
    # Storages are read by this module as flat tensors (see _Reader).
    if not isinstance(storage, torch.Tensor) or storage.dim() != 1:
        raise pickle.UnpicklingError(f"tensor data is a {type(storage).__name__}, not a storage")
    return storage.as_strided(tuple(size), tuple(stride), int(offset))


def _rebuild_tensor(storage, offset, size, stride):
    return _rebuild_tensor_v2(storage, offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, hooks=None, *rest):
    if not isinstance(data, torch.Tensor):
        raise pickle.UnpicklingError("parameter data is not a tensor")
    return data


def _rebuild_from_type_v2(func, new_type, args, state):
    # func came through find_class, so it is one of the rebuilders above.
    return func(*args)


def _load_from_bytes(b):
    # A storage pickled with plain pickle (as in NVlabs' .pkl files) is a
    # nested legacy torch.save of that storage.
    return _read_stream(io.BytesIO(b))


def _reconstructor(cls, base, state):
    # copyreg._reconstructor, as protocol 0 and 1 pickles use it.
    if isinstance(cls, type) and issubclass(cls, (Opaque, EasyDict, collections.OrderedDict)):
        obj = cls()
        if isinstance(state, dict) and isinstance(obj, dict):
            obj.update(state)
        return obj
    raise pickle.UnpicklingError(f"cannot rebuild {cls!r}")


_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
    ("torch.storage", "_load_from_bytes"): _load_from_bytes,
    ("torch.nn.parameter", "Parameter"): _rebuild_parameter,
    ("torch", "device"): torch.device,
    ("torch", "Size"): tuple,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "dict"): dict,
    ("builtins", "list"): list,
    ("builtins", "tuple"): tuple,
}


class SafeUnpickler(pickle.Unpickler):
    """pickle.Unpickler that imports nothing named in the file.

    Tensors, OrderedDict and NVlabs' persistent objects and EasyDict are
    rebuilt (the latter two as PersistentObject and EasyDict); every other
    global becomes an Opaque class, so loading never calls code that the file
    names. Storages come from persistent ids, answered by storage().
    """

    def __init__(self, f, storage=None):
        super().__init__(f)
        self.storage = storage

    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module.endswith("torch_utils.persistence") and name == "_reconstruct_persistent_obj":
            return _reconstruct_persistent_obj
        if module.endswith("dnnlib.util") and name == "EasyDict":
            return EasyDict
        if module in ("torch", "torch.storage") and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        return _opaque(module, name)

    def persistent_load(self, pid):
        if self.storage is None:
            raise pickle.UnpicklingError("persistent id in a plain pickle")
        if not isinstance(pid, tuple) or len(pid) < 5 or _text(pid[0]) != "storage" \
                or not isinstance(pid[1], _StorageType):
            raise pickle.UnpicklingError(f"unsupported persistent id {pid!r:.80}")
        return self.storage(pid[1].dtype, _text(pid[2]), int(pid[4]), pid[5] if len(pid) > 5 else None)


def _text(x):
    return x.decode("ascii") if isinstance(x, bytes) else str(x)


def _flat(data, dtype, numel):
    t = torch.frombuffer(bytearray(data), dtype=dtype) if numel else torch.empty(0, dtype=dtype)
    if t.numel() != numel:
        raise pickle.UnpicklingError(f"storage of {numel} elements holds {t.numel()}")
    return t


# torch.save's formats: a zip (data.pkl plus one file per storage, PyTorch
# 1.6 and later) or the legacy stream (magic number, protocol, sys info, the
# object, the list of storage keys, then each storage as an int64 element
# count and raw little-endian data).
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def _read_zip(path):
    with zipfile.ZipFile(path) as z:
        pkl = [n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise pickle.UnpicklingError(f"{path}: a zip without data.pkl (not a torch.save file)")
        prefix = pkl[0][: -len("data.pkl")]
        cache = {}

        def storage(dtype, key, numel, view):
            if key not in cache:
                cache[key] = _flat(z.read(f"{prefix}data/{key}"), dtype, numel)
            return cache[key]

        with z.open(pkl[0]) as f:
            return SafeUnpickler(f, storage).load()


def _read_stream(f):
    """A plain pickle (returned as it is) or a legacy torch.save stream."""
    first = SafeUnpickler(f).load()
    if not (isinstance(first, int) and first == _LEGACY_MAGIC):
        return first
    if SafeUnpickler(f).load() != 1001:
        raise pickle.UnpicklingError("unknown torch.save legacy protocol version")
    SafeUnpickler(f).load()  # sys_info
    roots = {}

    def storage(dtype, key, numel, view):
        if key not in roots:
            roots[key] = torch.empty(numel, dtype=dtype)  # filled below
        if view:
            _, offset, size = view
            return roots[key][int(offset): int(offset) + int(size)]
        return roots[key]

    obj = SafeUnpickler(f, storage).load()
    for key in SafeUnpickler(f).load():
        key = _text(key)
        if key not in roots:
            raise pickle.UnpicklingError(f"storage {key} listed but not used")
        n = int.from_bytes(f.read(8), "little")
        t = roots[key]
        if n != t.numel():
            raise pickle.UnpicklingError(f"storage {key}: {n} elements, expected {t.numel()}")
        t.copy_(_flat(f.read(n * t.element_size()), t.dtype, n))
    return obj


def read_file(path):
    """The object stored in path: a torch.save file (zip or legacy) or a plain pickle (.pkl)."""
    if zipfile.is_zipfile(path):
        return _read_zip(path)
    with open(path, "rb") as f:
        return _read_stream(f)


def flatten(obj, prefix="", sd=None, attrs=None):
    """State dict and plain attributes of a pickled module tree (PersistentObject or Opaque)."""
    sd = {} if sd is None else sd
    attrs = {} if attrs is None else attrs
    st = obj.state if isinstance(obj, (PersistentObject, Opaque)) else None
    if not isinstance(st, dict):
        return sd, attrs
    skip = st.get("_non_persistent_buffers_set") or set()
    for group in ("_parameters", "_buffers"):
        for name, t in (st.get(group) or {}).items():
            if isinstance(t, torch.Tensor) and not (group == "_buffers" and name in skip):
                sd[prefix + name] = t
    attrs[prefix.rstrip(".")] = {k: v for k, v in st.items()
                                 if not k.startswith("_") and isinstance(v, (bool, int, float, str, type(None)))}
    for name, child in (st.get("_modules") or {}).items():
        flatten(child, f"{prefix}{name}.", sd, attrs)
    return sd, attrs


class Checkpoint:
    """A generator's tensors (sd, by the file's own key names) and what else the file says."""

    def __init__(self, sd, attrs=None, latent_avg=None, source=""):
        self.sd, self.attrs, self.latent_avg, self.source = sd, attrs or {}, latent_avg, source


def load(path, key=None):
    """Read the generator from path.

    key names the entry holding the generator; by default g_ema, then G_ema,
    then the file's top-level dict itself.
    """
    obj = read_file(path)
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a dict at the top of the file, found {type(obj).__name__}")
    if key is not None:
        if key not in obj:
            raise KeyError(f"{path}: no {key!r} entry (entries: {sorted(map(str, obj))})")
        g, where = obj[key], key
    else:
        where = next((k for k in ("g_ema", "G_ema") if k in obj), None)
        g = obj[where] if where else obj
    latent_avg = obj.get("latent_avg") if isinstance(obj.get("latent_avg"), torch.Tensor) else None
    if isinstance(g, (PersistentObject, Opaque)):
        sd, attrs = flatten(g)
    elif isinstance(g, dict):
        sd, attrs = {k: v for k, v in g.items() if isinstance(v, torch.Tensor)}, {}
    else:
        raise ValueError(f"{path}: {where or 'the file'} is a {type(g).__name__}, not a generator")
    if not sd:
        raise ValueError(f"{path}: no tensors in {where or 'the file'}")
    return Checkpoint(sd, attrs, latent_avg, f"{path}[{where}]" if where else str(path))


# --------------------------------------------------------------------------
# Layouts.


def detect_layout(sd):
    """'rosinality' or 'ada', from the key names."""
    if "style.1.weight" in sd and "conv1.conv.weight" in sd:
        return "rosinality"
    if "mapping.fc0.weight" in sd and any(k.startswith("synthesis.b4.") for k in sd):
        return "ada"
    some = ", ".join(sorted(sd)[:6])
    raise ValueError("unknown checkpoint layout: expected rosinality stylegan2-pytorch keys (style.1.weight, "
                     f"conv1.conv.weight) or stylegan2-ada-pytorch keys (mapping.fc0.weight, synthesis.b4.*); "
                     f"found {some}, ...")


def _need(sd, key, layout):
    if key not in sd:
        raise KeyError(f"checkpoint has no {key!r} (expected {layout} naming)")
    return sd[key]


def _count(sd, pattern):
    n = 0
    while pattern.format(n) in sd:
        n += 1
    return n


class Config:
    """What Generator needs to be built for a checkpoint."""

    def __init__(self, resolution, channels, n_mapping, conv_clamp=None, demod_weight_gain=True, mapping_lr=0.01):
        self.resolution, self.channels, self.n_mapping = resolution, channels, n_mapping
        self.conv_clamp, self.demod_weight_gain, self.mapping_lr = conv_clamp, demod_weight_gain, mapping_lr
        self.clamp_note = ""

    def describe(self):
        ch = ", ".join(f"{r}:{c}" for r, c in sorted(self.channels.items()))
        return (f"{self.resolution}x{self.resolution}, {self.n_mapping} mapping layers, channels {{{ch}}}, "
                f"conv_clamp {self.conv_clamp}{self.clamp_note}")


def _check_mapping(sd, keys, layout):
    for k in keys:
        w = _need(sd, k, layout)
        if tuple(w.shape) != (ZDIM, ZDIM):
            raise ValueError(f"{k}: shape {tuple(w.shape)}; only 512-d z and w (and 512-wide mapping "
                             "layers) are supported")


def rosinality_config(sd):
    L = "rosinality stylegan2-pytorch"
    n_map = 0  # style.0 is the pixel norm; the linear layers are style.1 ..
    while f"style.{n_map + 1}.weight" in sd:
        n_map += 1
    if n_map == 0:
        raise KeyError(f"checkpoint has no 'style.1.weight' (expected {L} naming)")
    _check_mapping(sd, [f"style.{i}.weight" for i in range(1, n_map + 1)], L)
    n_rgb = _count(sd, "to_rgbs.{}.conv.weight")
    if n_rgb == 0:
        raise KeyError("checkpoint has no 'to_rgbs.0.conv.weight' (expected rosinality stylegan2-pytorch naming)")
    channels = {4: _need(sd, "input.input", L).shape[1]}
    for k in range(n_rgb):
        channels[8 << k] = _need(sd, f"convs.{2 * k}.conv.weight", L).shape[1]
    return Config(4 << n_rgb, channels, n_map)


def rosinality_state(sd, latent_avg, cfg):
    """Generator state dict from a rosinality state dict."""
    L = "rosinality stylegan2-pytorch"
    own = {}

    def put(dst, src):
        own[dst] = _need(sd, src, L)

    for i in range(cfg.n_mapping):
        put(f"mapping.{i}.weight", f"style.{i + 1}.weight")
        put(f"mapping.{i}.bias", f"style.{i + 1}.bias")
    put("const", "input.input")

    def styled(dst, src):
        for a, b in (("conv.weight", "conv.weight"), ("conv.modulation.weight", "conv.modulation.weight"),
                     ("conv.modulation.bias", "conv.modulation.bias"), ("noise.weight", "noise.weight"),
                     ("bias", "activate.bias")):
            put(f"{dst}.{a}", f"{src}.{b}")

    def torgb(dst, src):
        for a in ("conv.weight", "conv.modulation.weight", "conv.modulation.bias", "bias"):
            put(f"{dst}.{a}", f"{src}.{a}")

    n_rgb = len(cfg.channels) - 1
    styled("conv1", "conv1")
    torgb("to_rgb1", "to_rgb1")
    for i in range(2 * n_rgb):
        styled(f"convs.{i}", f"convs.{i}")
    for i in range(n_rgb):
        torgb(f"to_rgbs.{i}", f"to_rgbs.{i}")
    # Fixed noise buffers: noises.noise_0 for conv1, noise_{i+1} for convs.{i}.
    for i, name in enumerate(["conv1"] + [f"convs.{j}" for j in range(2 * n_rgb)]):
        if f"noises.noise_{i}" in sd:
            own[f"{name}.noise.fixed"] = sd[f"noises.noise_{i}"]
    if latent_avg is not None:
        own["w_avg"] = latent_avg.reshape(-1)[:ZDIM]
    return own


_BLOCK = re.compile(r"^synthesis\.b(\d+)\.")


def _standard_filter():
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = k[:, None] * k[None, :]
    return k / k.sum()


def ada_config(sd, attrs, conv_clamp="auto"):
    """Configuration of a stylegan2-ada-pytorch generator.

    conv_clamp: "auto" (the pickle's value; for a bare state dict, 256, the
    value ada's train.py sets unless --fp32), None, or a number.
    """
    L = "stylegan2-ada-pytorch"
    if "mapping.embed.weight" in sd:
        c_dim = sd["mapping.embed.weight"].shape[1]
        raise ValueError(f"conditional generator (c_dim={c_dim}): moetron's model contract has no class-label input")
    res = sorted({int(m.group(1)) for k in sd for m in [_BLOCK.match(k)] if m})
    if not res or res[0] != 4 or res != [4 << i for i in range(len(res))]:
        raise ValueError(f"synthesis blocks {res}: expected b4, b8, ... doubling")
    top = res[-1]
    arch = attrs.get("synthesis.b4", {}).get("architecture")
    if any(k.startswith(f"synthesis.b{r}.skip.") for r in res for k in sd) or arch == "resnet":
        raise ValueError("architecture 'resnet' (synthesis.bR.skip.*): only the 'skip' generator "
                         "(stylegan2-ada's default) can be exported")
    missing_rgb = [r for r in res if f"synthesis.b{r}.torgb.weight" not in sd]
    if missing_rgb or arch == "orig":
        raise ValueError(f"architecture 'orig' (no torgb in blocks {missing_rgb}): only the 'skip' generator "
                         "(stylegan2-ada's default) can be exported")
    if arch not in (None, "skip"):
        raise ValueError(f"architecture {arch!r}: only 'skip' can be exported")
    n_map = _count(sd, "mapping.fc{}.weight")
    if n_map == 0:
        raise KeyError(f"checkpoint has no 'mapping.fc0.weight' (expected {L} naming)")
    _check_mapping(sd, [f"mapping.fc{i}.weight" for i in range(n_map)], L)
    channels = {4: _need(sd, "synthesis.b4.const", L).shape[0]}
    for r in res:
        w = _need(sd, f"synthesis.b{r}.conv1.weight", L)
        channels[r] = w.shape[0]
        rgb = _need(sd, f"synthesis.b{r}.torgb.weight", L)
        if tuple(rgb.shape) != (3, w.shape[0], 1, 1):
            raise ValueError(f"synthesis.b{r}.torgb.weight: shape {tuple(rgb.shape)}, expected (3, {w.shape[0]}, 1, 1)")
    for k, v in sd.items():
        if k.endswith("resample_filter") and not torch.allclose(v.float(), _standard_filter()):
            raise ValueError(f"{k}: not the [1,3,3,1] filter this exporter implements")
    for k, a in attrs.items():
        if a.get("activation") not in (None, "lrelu", "linear"):
            raise ValueError(f"{k}: activation {a['activation']!r}, only lrelu is implemented")
    layer = attrs.get(f"synthesis.b{top}.conv1", {})
    note = ""
    if conv_clamp == "auto":
        if "conv_clamp" in layer:
            conv_clamp, note = layer["conv_clamp"], " (from the pickle)"
        else:
            conv_clamp, note = 256, " (assumed: train.py's default; --conv-clamp to change)"
    mapping_lr = attrs.get("mapping.fc0", {}).get("bias_gain", 0.01)
    if not isinstance(mapping_lr, (int, float)):
        mapping_lr = 0.01
    cfg = Config(top, channels, n_map, conv_clamp=conv_clamp, demod_weight_gain=False, mapping_lr=float(mapping_lr))
    cfg.clamp_note = note
    return cfg


def ada_state(sd, cfg, noise=True):
    """Generator state dict from a stylegan2-ada-pytorch state dict.

    Differences from the rosinality layout handled here: convolution weights
    are [out, in, k, k] (no leading 1), the 4x4 constant is [C, 4, 4],
    toRGB biases are [3], noise_strength is a scalar and noise_const is
    [R, R]; w_avg is the buffer mapping.w_avg. Gains are handled by the
    Config (demodulated convolutions have no weight gain; toRGB's
    1/sqrt(fan_in) on the styles equals rosinality's on the weight).
    """
    L = "stylegan2-ada-pytorch"
    own = {}

    def get(k):
        return _need(sd, k, L)

    for i in range(cfg.n_mapping):
        own[f"mapping.{i}.weight"] = get(f"mapping.fc{i}.weight")
        own[f"mapping.{i}.bias"] = get(f"mapping.fc{i}.bias")
    own["w_avg"] = get("mapping.w_avg")
    own["const"] = get("synthesis.b4.const")[None]

    def layer(dst, src, res):
        own[f"{dst}.conv.weight"] = get(f"{src}.weight")[None]
        own[f"{dst}.conv.modulation.weight"] = get(f"{src}.affine.weight")
        own[f"{dst}.conv.modulation.bias"] = get(f"{src}.affine.bias")
        own[f"{dst}.bias"] = get(f"{src}.bias")
        if f"{src}.noise_strength" in sd:
            own[f"{dst}.noise.weight"] = sd[f"{src}.noise_strength"].reshape(1)
            own[f"{dst}.noise.fixed"] = get(f"{src}.noise_const").reshape(1, 1, res, res)
        else:  # use_noise=False
            own[f"{dst}.noise.weight"] = torch.zeros(1)

    def torgb(dst, src):
        own[f"{dst}.conv.weight"] = get(f"{src}.weight")[None]
        own[f"{dst}.conv.modulation.weight"] = get(f"{src}.affine.weight")
        own[f"{dst}.conv.modulation.bias"] = get(f"{src}.affine.bias")
        own[f"{dst}.bias"] = get(f"{src}.bias").reshape(1, 3, 1, 1)

    layer("conv1", "synthesis.b4.conv1", 4)
    torgb("to_rgb1", "synthesis.b4.torgb")
    r, k = 8, 0
    while r <= cfg.resolution:
        layer(f"convs.{2 * k}", f"synthesis.b{r}.conv0", r)
        layer(f"convs.{2 * k + 1}", f"synthesis.b{r}.conv1", r)
        torgb(f"to_rgbs.{k}", f"synthesis.b{r}.torgb")
        r, k = r * 2, k + 1
    return own
