"""Tests of the checkpoint reader (run by check.sh: python3 -m unittest discover -s imagegen/export -p '*_test.py').

They need PyTorch but not ONNX or ONNX Runtime, and use small random
generators (testdata/make_ada_checkpoint.py); the ONNX comparison is in
export_test.go, driven by check.sh.
"""

import argparse
import builtins
import contextlib
import io
import os
import pickle
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "testdata")]

import torch  # noqa: E402

import ada_reference  # noqa: E402
import make_ada_checkpoint as mk  # noqa: E402
import stylegan2_checkpoint as sc  # noqa: E402
import stylegan2_onnx as sg  # noqa: E402


class _Exec:
    """Pickles as a call of builtins.exec: what a hostile pickle would do."""

    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (builtins.exec, (self.code,))


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.marker = os.path.join(self.dir, "executed")

    def tearDown(self):
        self.tmp.cleanup()

    def write_ada(self, name="g", conv_clamp=1, architecture="skip", **kw):
        sd = mk.state_dict(**kw, architecture=architecture)
        res = kw.get("resolution", 64)
        pt, pkl = os.path.join(self.dir, name + ".pt"), os.path.join(self.dir, name + ".pkl")
        torch.save({"G_ema": sd}, pt)
        with open(pkl, "wb") as f:
            pickle.dump(mk.snapshot(sd, conv_clamp, res, self.marker, architecture), f)
        return sd, pt, pkl

    @staticmethod
    def quiet(fn, *args, **kw):
        with contextlib.redirect_stderr(io.StringIO()) as err:
            return fn(*args, **kw), err.getvalue()


class PickleSafety(Base):
    def test_ada_pickle_is_read_without_running_its_source(self):
        sd, pt, pkl = self.write_ada(resolution=16)
        with open(pkl, "rb") as f:
            self.assertIn(b"module_src", f.read())  # the source is in the file ...
        ck = sc.load(pkl)
        self.assertFalse(os.path.exists(self.marker), "module_src was executed")  # ... and never ran
        self.assertEqual(ck.source, pkl + "[G_ema]")
        self.assertEqual(sorted(ck.sd), sorted(sd))
        for k, v in sd.items():
            self.assertTrue(torch.equal(ck.sd[k], v), k)
        self.assertEqual(ck.attrs["synthesis.b16.conv1"]["conv_clamp"], 1)
        self.assertEqual(ck.attrs["mapping.fc0"]["bias_gain"], 0.01)

    def test_globals_in_a_pickle_are_not_called(self):
        path = os.path.join(self.dir, "evil.pkl")
        code = f"open({self.marker!r}, 'w').write('x')"
        with open(path, "wb") as f:
            pickle.dump({"G_ema": {"w": torch.ones(2)}, "payload": _Exec(code)}, f)
        pickle.loads(pickle.dumps(_Exec("1")))  # plain pickle would run it: the test object works
        ck = sc.load(path)
        self.assertFalse(os.path.exists(self.marker), "a global named in the pickle was called")
        self.assertTrue(torch.equal(ck.sd["w"], torch.ones(2)))
        # The same in torch.save's two formats.
        for zipped in (True, False):
            path = os.path.join(self.dir, f"evil-{zipped}.pt")
            torch.save({"g_ema": {"w": torch.ones(2)}, "args": argparse.Namespace(a=1), "payload": _Exec(code)},
                       path, _use_new_zipfile_serialization=zipped)
            ck = sc.load(path)
            self.assertFalse(os.path.exists(self.marker), f"a global named in the .pt was called (zip {zipped})")
            self.assertTrue(torch.equal(ck.sd["w"], torch.ones(2)))

    def test_torch_save_formats(self):
        t = torch.arange(24.0).reshape(2, 3, 4)
        want = {"a": t, "b": t[1, :, 1:3], "c": torch.arange(5, dtype=torch.int64), "d": t.half(), "e": torch.zeros(0)}
        for zipped in (True, False):
            path = os.path.join(self.dir, f"f-{zipped}.pt")
            torch.save({"G_ema": want}, path, _use_new_zipfile_serialization=zipped)
            got = sc.load(path).sd
            self.assertEqual(sorted(got), sorted(want))
            for k, v in want.items():
                self.assertEqual(got[k].dtype, v.dtype, k)
                self.assertTrue(torch.equal(got[k], v), k)


class Layout(Base):
    def test_detects_both_layouts_and_refuses_others(self):
        self.assertEqual(sc.detect_layout(mk.state_dict(resolution=8)), "ada")
        self.assertEqual(sc.detect_layout(rosinality_sd(*random_generator(16))[0]), "rosinality")
        with self.assertRaisesRegex(ValueError, "unknown checkpoint layout.*mapping.fc0.weight"):
            sc.detect_layout({"generator.weight": torch.ones(1)})

    def test_refuses_resnet_orig_and_conditional(self):
        for arch, msg in (("resnet", "architecture 'resnet'"), ("orig", "architecture 'orig'")):
            _, pt, pkl = self.write_ada(arch, architecture=arch, resolution=16)
            for path in (pt, pkl):
                with self.assertRaisesRegex(ValueError, msg):
                    self.quiet(sg.build_from_checkpoint, path)
        _, pt, _ = self.write_ada("cond", resolution=16, c_dim=10)
        with self.assertRaisesRegex(ValueError, r"conditional generator \(c_dim=10\)"):
            self.quiet(sg.build_from_checkpoint, pt)

    def test_config_from_the_weights(self):
        sd, pt, pkl = self.write_ada(resolution=32, channel_base=2048, channel_max=128, n_mapping=3)
        ck = sc.load(pkl)
        cfg = sc.ada_config(ck.sd, ck.attrs)
        self.assertEqual((cfg.resolution, cfg.n_mapping, cfg.conv_clamp), (32, 3, 1))
        self.assertEqual(cfg.channels, {4: 128, 8: 128, 16: 128, 32: 64})
        ck = sc.load(pt)  # a bare state dict says nothing about conv_clamp: ada's default
        self.assertEqual(sc.ada_config(ck.sd, ck.attrs).conv_clamp, 256)
        self.assertIsNone(sc.ada_config(ck.sd, ck.attrs, None).conv_clamp)
        with self.assertRaisesRegex(ValueError, "--resolution 64, but the checkpoint is 32x32"):
            self.quiet(sg.build_from_checkpoint, pt, resolution=64)
        with self.assertRaisesRegex(ValueError, "--layout rosinality, but the key names are ada's"):
            self.quiet(sg.build_from_checkpoint, pt, layout="rosinality")
        del sd["synthesis.b16.conv0.affine.bias"]
        torch.save({"G_ema": sd}, pt)
        with self.assertRaisesRegex(KeyError, "synthesis.b16.conv0.affine.bias"):
            self.quiet(sg.build_from_checkpoint, pt)

    def test_main_reports_a_bad_checkpoint(self):
        _, pt, _ = self.write_ada("r", architecture="resnet", resolution=16)
        rc, err = self.quiet(sg.main, ["--checkpoint", pt, "-o", os.path.join(self.dir, "x.onnx")])
        self.assertEqual(rc, 2)
        self.assertIn("error: architecture 'resnet'", err)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "x.onnx")))


class Forward(Base):
    """The exporter's generator against the independent reference, in PyTorch."""

    def run_both(self, path, pt, clamp, noise=True, broken="none"):
        clamp_arg = clamp if path.endswith(".pt") else "auto"
        g, have_avg = self.quiet(sg.build_from_checkpoint, path, conv_clamp=clamp_arg)[0]
        self.assertTrue(have_avg)
        g.eval().set_noise(noise)
        z = torch.randn(3, 512, generator=torch.Generator().manual_seed(5))
        psi = torch.tensor([0.5, 1.0, 0.8])
        sd = torch.load(pt, weights_only=True)["G_ema"]
        with torch.no_grad():
            return g(z, psi), ada_reference.Ref(sd, clamp, noise, broken)(z, psi)

    def test_ada_pickle_matches_reference(self):
        _, pt, pkl = self.write_ada(resolution=32, channel_base=2048, channel_max=128, n_mapping=2, conv_clamp=1)
        got, want = self.run_both(pkl, pt, 1.0)
        self.assertLess((got - want).abs().max().item(), 1e-5)
        for broken in ada_reference.BREAKS[1:]:
            got, want = self.run_both(pkl, pt, 1.0, broken=broken)
            self.assertGreater((got - want).abs().max().item(), 1e-2, broken)

    def test_ada_state_dict_without_noise_or_clamp(self):
        _, pt, _ = self.write_ada(resolution=16, n_mapping=8, noise=False)
        got, want = self.run_both(pt, pt, None)
        self.assertLess((got - want).abs().max().item(), 1e-5)

    def test_rosinality_round_trip(self):
        g, z, psi = random_generator(16)
        sd, latent = rosinality_sd(g, z, psi)
        for zipped in (True, False):  # rosinality's older checkpoints are legacy torch.save files
            path = os.path.join(self.dir, f"r-{zipped}.pt")
            torch.save({"g_ema": sd, "latent_avg": latent, "args": argparse.Namespace(size=16)}, path,
                       _use_new_zipfile_serialization=zipped)
            g2, have_avg = self.quiet(sg.build_from_checkpoint, path)[0]
            self.assertTrue(have_avg)
            g2.eval().set_noise(True)
            with torch.no_grad():
                self.assertLess((g(z, psi) - g2(z, psi)).abs().max().item(), 1e-6)
        with self.assertRaisesRegex(ValueError, "--conv-clamp applies to stylegan2-ada-pytorch"):
            self.quiet(sg.build_from_checkpoint, path, conv_clamp=2.0)


def random_generator(res):
    torch.manual_seed(3)
    g = sg.Generator(res, n_mapping=4).eval()
    with torch.no_grad():
        g.w_avg.normal_()
        for name, p in g.named_parameters():
            if name.endswith(("bias", "noise.weight")):
                p.normal_(0, 0.3)
    g.set_noise(True)
    z = torch.randn(2, 512, generator=torch.Generator().manual_seed(4))
    return g, z, torch.tensor([0.6, 1.0])


def rosinality_sd(g, z=None, psi=None):
    """g's weights under rosinality's key names (the README's table), and latent_avg."""
    sd = {}
    for k, v in g.state_dict().items():
        if k.endswith((".kernel", ".ones")) or k == "w_avg":
            continue
        parts = k.split(".")
        if parts[0] == "mapping":
            k = f"style.{int(parts[1]) + 1}.{parts[2]}"
        elif k == "const":
            k = "input.input"
        elif k.endswith("noise.fixed"):
            i = 0 if parts[0] == "conv1" else int(parts[1]) + 1
            k = f"noises.noise_{i}"
        elif (parts[0] == "conv1" or parts[0] == "convs") and parts[-1] == "bias" and parts[-2] != "modulation":
            k = k[: -len("bias")] + "activate.bias"
        sd[k] = v.clone()
    return sd, g.w_avg.clone()[None]


if __name__ == "__main__":
    unittest.main()
