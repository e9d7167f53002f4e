"""codesign.fixed against the real Xilinx ap_fixed.h that hls4ml ships, bit for bit.

One C++ program (generated here, compiled once per session) instantiates every type x rounding x
overflow combination used below; Python feeds it doubles / raw patterns through binary files and
compares the W-bit patterns it writes back with codesign.fixed's results.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codesign.errors import CodesignError
from codesign.fixed import (
    OVERFLOW_MODES,
    ROUNDING_MODES,
    Fixed,
    FixedError,
    FixedType,
    add_raw,
    add_type,
    mul_raw,
    mul_type,
    sub_raw,
    sub_type,
)

MODES = [(q, o) for q in ROUNDING_MODES for o in OVERFLOW_MODES]

# Targets of double->fixed and fixed->fixed conversion.
TARGETS = [
    FixedType(8, 3),
    FixedType(16, 6),
    FixedType(8, 2, signed=False),
    FixedType(12, -2),
    FixedType(6, 9),
    FixedType(18, 8),
    FixedType(1, 1),
    FixedType(4, 0, signed=False),
    FixedType(32, 16),
    FixedType(64, 24),
]
# Wider sources for fixed->fixed casts (the last two only into the first 8 targets, to bound compile time).
CAST_SOURCES = [FixedType(32, 12), FixedType(24, 4), FixedType(20, 8, signed=False)]
CAST_PAIRS = [(s, t) for s in range(len(CAST_SOURCES)) for t in range(len(TARGETS)) if s == 0 or t < 8]
ARITH_PAIRS = [
    (FixedType(8, 3), FixedType(16, 6)),
    (FixedType(8, 2, signed=False), FixedType(12, -2)),
    (FixedType(6, 9), FixedType(8, 2, signed=False)),
    (FixedType(18, 8), FixedType(18, 8)),
    (FixedType(16, 16, signed=False), FixedType(16, 6)),
    (FixedType(12, -2), FixedType(6, 9)),
    (FixedType(10, 3, signed=False), FixedType(7, 7, signed=False)),
    (FixedType(1, 1), FixedType(8, 3)),
    (FixedType(32, 12), FixedType(32, 12)),  # 64-bit signed product
    (FixedType(32, 16), FixedType(32, 0, signed=False)),  # 64-bit mixed-sign product
    (FixedType(31, 1, signed=False), FixedType(32, 4, signed=False)),  # 63-bit unsigned product
]
N_RANDOM = 10_000


# -- the C++ reference ---------------------------------------------------------------------------------


def _ap_types_dir() -> Path | None:
    try:
        import hls4ml
    except ImportError:
        return None
    for hit in Path(os.path.dirname(hls4ml.__file__)).rglob("ap_fixed.h"):
        if hit.parent.name == "ap_types" and "vivado" in hit.parts:
            return hit.parent
    return None


def _targs(t: FixedType) -> str:
    return f"{t.width}, {t.integer}, {'true' if t.signed else 'false'}"


def _cpp_source() -> str:
    mode_calls = "\n".join(
        f"  f.template operator()<{q}, {o}>(out + {m} * n);" for m, (q, o) in enumerate(MODES)
    )
    quant_cases = "\n".join(
        f"    case {i}: quant_all<{_targs(t)}>(x, n, out); break;" for i, t in enumerate(TARGETS)
    )
    cast_cases = "\n".join(
        f"    case {k}: cast_all<{_targs(CAST_SOURCES[s])}, {_targs(TARGETS[t])}>(x, n, out); break;"
        for k, (s, t) in enumerate(CAST_PAIRS)
    )
    arith_cases = "\n".join(
        f"    case {k}: arith<{_targs(a)}, {_targs(b)}>(x, x + n, n, out); break;"
        for k, (a, b) in enumerate(ARITH_PAIRS)
    )
    return f"""
#include <ap_fixed.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

template <int W, int I, bool S, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP>
using FX = typename std::conditional<S, ap_fixed<W, I, Q, O>, ap_ufixed<W, I, Q, O>>::type;

template <class F>
void for_modes(F f, uint64_t* out, size_t n) {{
{mode_calls}
}}

template <int W, int I, bool S>
struct Quant {{
  const double* x; size_t n;
  template <ap_q_mode Q, ap_o_mode O>
  void operator()(uint64_t* out) const {{
    for (size_t k = 0; k < n; ++k) {{ FX<W, I, S, Q, O> y = x[k]; out[k] = y.bits_to_uint64(); }}
  }}
}};
template <int W, int I, bool S>
void quant_all(const double* x, size_t n, uint64_t* out) {{ for_modes(Quant<W, I, S>{{x, n}}, out, n); }}

template <int W2, int I2, bool S2, int W, int I, bool S>
struct Cast {{
  const int64_t* x; size_t n;
  template <ap_q_mode Q, ap_o_mode O>
  void operator()(uint64_t* out) const {{
    FX<W2, I2, S2> a;
    for (size_t k = 0; k < n; ++k) {{
      a.setBits((uint64_t)x[k]);
      FX<W, I, S, Q, O> y = a;
      out[k] = y.bits_to_uint64();
    }}
  }}
}};
template <int W2, int I2, bool S2, int W, int I, bool S>
void cast_all(const int64_t* x, size_t n, uint64_t* out) {{
  for_modes(Cast<W2, I2, S2, W, I, S>{{x, n}}, out, n);
}}

template <class T>
void print_type(const char* op) {{
  int is_signed = std::is_same<T, ap_fixed<T::width, T::iwidth>>::value;
  printf("%s %d %d %d\\n", op, T::width, T::iwidth, is_signed);
}}

template <int W1, int I1, bool S1, int W2, int I2, bool S2>
void arith(const int64_t* a, const int64_t* b, size_t n, uint64_t* out) {{
  FX<W1, I1, S1> x;
  FX<W2, I2, S2> y;
  print_type<decltype(x + y)>("add");
  print_type<decltype(x - y)>("sub");
  print_type<decltype(x * y)>("mul");
  for (size_t k = 0; k < n; ++k) {{
    x.setBits((uint64_t)a[k]);
    y.setBits((uint64_t)b[k]);
    out[k] = (x + y).bits_to_uint64();
    out[n + k] = (x - y).bits_to_uint64();
    out[2 * n + k] = (x * y).bits_to_uint64();
  }}
}}

int main(int argc, char** argv) {{
  if (argc != 5) return 2;
  int idx = atoi(argv[2]);
  FILE* f = fopen(argv[3], "rb");
  std::vector<char> buf;
  char chunk[1 << 16];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) buf.insert(buf.end(), chunk, chunk + got);
  fclose(f);
  size_t n = buf.size() / 8;
  std::vector<uint64_t> res;
  if (!strcmp(argv[1], "quant")) {{
    const double* x = (const double*)buf.data();
    res.resize({len(MODES)} * n);
    uint64_t* out = res.data();
    switch (idx) {{
{quant_cases}
      default: return 3;
    }}
  }} else if (!strcmp(argv[1], "cast")) {{
    const int64_t* x = (const int64_t*)buf.data();
    res.resize({len(MODES)} * n);
    uint64_t* out = res.data();
    switch (idx) {{
{cast_cases}
      default: return 3;
    }}
  }} else {{
    const int64_t* x = (const int64_t*)buf.data();
    n /= 2;
    res.resize(3 * n);
    uint64_t* out = res.data();
    switch (idx) {{
{arith_cases}
      default: return 3;
    }}
  }}
  f = fopen(argv[4], "wb");
  fwrite(res.data(), 8, res.size(), f);
  fclose(f);
  return 0;
}}
"""


class Reference:
    """Runs the compiled ap_fixed program; returns sign-extended raw patterns."""

    def __init__(self, exe: Path, work: Path) -> None:
        self.exe, self.work = exe, work

    def _run(self, cmd: str, idx: int, data: np.ndarray) -> tuple[np.ndarray, str]:
        src, dst = self.work / f"{cmd}{idx}.in", self.work / f"{cmd}{idx}.out"
        data.tofile(src)
        proc = subprocess.run(
            [str(self.exe), cmd, str(idx), str(src), str(dst)], capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, f"reference {cmd} {idx} failed: {proc.stderr[-2000:]}"
        return np.fromfile(dst, dtype=np.uint64), proc.stdout

    def quant(self, t_idx: int, x: np.ndarray) -> np.ndarray:
        out, _ = self._run("quant", t_idx, x.astype(np.float64))
        return _decode(out.reshape(len(MODES), -1), TARGETS[t_idx])

    def cast(self, pair_idx: int, raw: np.ndarray) -> np.ndarray:
        out, _ = self._run("cast", pair_idx, raw.astype(np.int64))
        return _decode(out.reshape(len(MODES), -1), TARGETS[CAST_PAIRS[pair_idx][1]])

    def arith(
        self, pair_idx: int, a: np.ndarray, b: np.ndarray
    ) -> dict[str, tuple[tuple[int, ...], np.ndarray]]:
        out, stdout = self._run("arith", pair_idx, np.concatenate([a, b]).astype(np.int64))
        out = out.reshape(3, -1)
        result = {}
        for k, line in enumerate(stdout.split("\n")[:3]):
            op, w, i, s = line.split()
            t = (int(w), int(i), bool(int(s)))
            result[op] = (t, _decode(out[k], FixedType(*t)))
        return result


def _decode(bits: np.ndarray, t: FixedType) -> np.ndarray:
    """W-bit patterns (possibly sign-extended by the header) -> int64 raw, independent of codesign."""
    if t.width == 64:
        return bits.view(np.int64)
    low = (bits & np.uint64((1 << t.width) - 1)).astype(np.int64)
    if t.signed:
        low = np.where(low >= (1 << (t.width - 1)), low - (1 << t.width), low)
    return low


@pytest.fixture(scope="session")
def ref(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ not found: cannot build the ap_fixed.h reference")
    inc = _ap_types_dir()
    if inc is None:
        pytest.skip("hls4ml's ap_types headers not found")
    work = tmp_path_factory.mktemp("apfixed")
    src = work / "ref.cpp"
    src.write_text(_cpp_source())
    exe = work / "ref"
    cmd = [gxx, "-O1", "-std=c++14", "-w", f"-I{inc}", str(src), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"compiling the reference failed:\n{proc.stderr[-4000:]}"
    return Reference(exe, work)


# -- inputs --------------------------------------------------------------------------------------------


def _clip_int(lo: int, hi: int) -> tuple[int, int]:
    # rng.integers needs int64 bounds; ties must stay exact in a double (|k| < 2**52).
    return max(lo, -(2**52)), min(hi, 2**52)


def quant_values(t: FixedType, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lsb, lo, hi = t.lsb, t.min_value, t.max_value
    span = hi - lo + lsb
    k_lo, k_hi = _clip_int(t.raw_min - 4, t.raw_max + 4)
    ties = (rng.integers(k_lo, k_hi, 2000, endpoint=True) + 0.5) * lsb
    sign = rng.choice([-1.0, 1.0], 8000)
    wrap = 2.0**t.width * lsb
    parts = [
        rng.uniform(lo - span, hi + span, 2500),
        rng.uniform(lo, hi, 1500),
        ties,
        np.nextafter(ties[:800], np.inf),
        np.nextafter(ties[800:1600], -np.inf),
        rng.integers(k_lo, k_hi, 800, endpoint=True) * lsb,
        sign[:1000] * 10.0 ** rng.uniform(0, 18, 1000) * max(abs(hi), lsb),
        sign[1000:1400] * 2.0 ** rng.integers(-1074, 1024, 400).astype(np.float64),
        sign[1400:1900] * lsb * 10.0 ** rng.uniform(-25, 0, 500),
        # Exact multiples of 2**W LSB plus a small offset: wrap must keep just the offset.
        (rng.integers(-(2**20), 2**20, 500) * wrap + rng.integers(-8, 9, 500) * lsb * 0.5),
    ]
    edges = []
    for v in (hi, lo, hi + lsb, lo - lsb, hi + lsb / 2, lo - lsb / 2, lsb / 2, -lsb / 2, lsb, -lsb, wrap / 2):
        edges += [v, -v, np.nextafter(v, np.inf), np.nextafter(v, -np.inf)]
    edges += [0.0, -0.0, 1e12, -1e12, 1e300, -1e300, 5e-324, -5e-324, 2.2250738585072014e-308]
    edges += [np.inf, -np.inf, 2.0**63 * lsb, -(2.0**63) * lsb, 2.0**64 * lsb, (2.0**64 + 2.0**12) * lsb]
    edges += [wrap, -wrap, 3 * wrap / 2, -3 * wrap / 2, 1.0, -1.0, 0.5, -0.5, np.pi, -np.pi]
    return np.concatenate(parts + [np.array(edges, dtype=np.float64)])


def cast_values(src: FixedType, t: FixedType, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = src.frac - t.frac  # source LSBs per target LSB is 2**d
    parts = [rng.integers(src.raw_min, src.raw_max, 4000, endpoint=True)]
    k_lo, k_hi = _clip_int(t.raw_min - 4, t.raw_max + 4)
    k = rng.integers(k_lo, k_hi, 3000, endpoint=True)
    if d > 0:
        half = 1 << (d - 1)
        parts += [k << d, (k << d) + half, (k << d) + half + rng.integers(-3, 4, 3000)]
    else:
        parts += [k >> -d, (k >> -d) + rng.integers(-2, 3, 3000), rng.integers(-64, 65, 3000)]
    bounds = [t.raw_max, t.raw_min, t.raw_max + 1, t.raw_min - 1, 0]
    edges = [src.raw_min, src.raw_max, 0, 1, -1, 2, -2]
    for b in bounds:
        base = b << d if d >= 0 else b >> -d
        edges += [base + j for j in range(-4, 5)]
        if d > 0:
            edges += [base + (1 << (d - 1)) + j for j in (-1, 0, 1)]
            edges += [base - (1 << (d - 1)) + j for j in (-1, 0, 1)]
    raw = np.concatenate(parts + [np.array([e for e in edges if -(2**63) <= e < 2**63], dtype=np.int64)])
    return np.clip(raw, src.raw_min, src.raw_max)


def arith_values(t: FixedType, rng: np.random.Generator, n: int) -> np.ndarray:
    edges = np.array([t.raw_min, t.raw_max, 0, min(1, t.raw_max), max(-1, t.raw_min)], dtype=np.int64)
    return np.concatenate([rng.integers(t.raw_min, t.raw_max, n, endpoint=True), np.repeat(edges, 5)])


def _report(label: str, ok: int, compared: int, fails: list[str]) -> None:
    print(f"{label}: {compared - ok} mismatches / {compared} compared")
    assert ok == compared, f"{label}: {compared - ok} mismatches, e.g.\n" + "\n".join(fails[:12])


# -- bit-exact comparisons -----------------------------------------------------------------------------


@pytest.mark.parametrize("t_idx", range(len(TARGETS)), ids=[t.cpp() for t in TARGETS])
def test_quantize_matches_ap_fixed(ref: Reference, t_idx: int) -> None:
    base = TARGETS[t_idx]
    x = quant_values(base, seed=1000 + t_idx)
    assert x.size >= N_RANDOM
    expected = ref.quant(t_idx, x)
    ok, compared, fails, per_combo = 0, 0, [], []
    for m, (q, o) in enumerate(MODES):
        t = base.with_modes(q, o)
        got = t.quantize(x)
        bad = np.flatnonzero(got != expected[m])
        ok += x.size - bad.size
        compared += x.size
        per_combo.append(f"{q}/{o}:{bad.size}")
        fails += [f"{t.cpp()}({x[i]!r}): ap_fixed {expected[m][i]}, codesign {got[i]}" for i in bad[:3]]
    print(f"\n{base.cpp()} quantize, {x.size} values per combo; mismatches " + " ".join(per_combo))
    _report(f"quantize {base.cpp()}", ok, compared, fails)


@pytest.mark.parametrize(
    "pair_idx",
    range(len(CAST_PAIRS)),
    ids=[f"{CAST_SOURCES[s].cpp()}->{TARGETS[t].cpp()}" for s, t in CAST_PAIRS],
)
def test_cast_matches_ap_fixed(ref: Reference, pair_idx: int) -> None:
    s_idx, t_idx = CAST_PAIRS[pair_idx]
    src, base = CAST_SOURCES[s_idx], TARGETS[t_idx]
    raw = cast_values(src, base, seed=2000 + pair_idx)
    assert raw.size >= N_RANDOM
    expected = ref.cast(pair_idx, raw)
    ok, compared, fails = 0, 0, []
    for m, (q, o) in enumerate(MODES):
        t = base.with_modes(q, o)
        got = t.cast_raw(raw, src)
        bad = np.flatnonzero(got != expected[m])
        ok += raw.size - bad.size
        compared += raw.size
        fails += [
            f"{src.cpp()} raw {raw[i]} -> {t.cpp()}: ap_fixed {expected[m][i]}, codesign {got[i]}"
            for i in bad[:3]
        ]
    _report(
        f"cast {src.cpp()} -> {base.cpp()} x {len(MODES)} modes, {raw.size} values each", ok, compared, fails
    )


@pytest.mark.parametrize(
    "pair_idx", range(len(ARITH_PAIRS)), ids=[f"{a.cpp()},{b.cpp()}" for a, b in ARITH_PAIRS]
)
def test_arith_matches_ap_fixed(ref: Reference, pair_idx: int) -> None:
    a, b = ARITH_PAIRS[pair_idx]
    rng = np.random.default_rng(3000 + pair_idx)
    ra, rb = arith_values(a, rng, N_RANDOM), arith_values(b, rng, N_RANDOM)
    ra, rb = np.concatenate([ra, np.repeat(ra[-25:], 25)]), np.concatenate([rb, np.tile(rb[-25:], 25)])
    expected = ref.arith(pair_idx, ra, rb)
    for op, type_fn, raw_fn in (
        ("add", add_type, add_raw),
        ("sub", sub_type, sub_raw),
        ("mul", mul_type, mul_raw),
    ):
        (w, i, s), exp_raw = expected[op]
        t = type_fn(a, b)
        assert (t.width, t.integer, t.signed) == (w, i, s), f"{op} type: ap_fixed {(w, i, s)}, codesign {t}"
        got, t2 = raw_fn(ra, a, rb, b)
        assert t2 == t
        bad = np.flatnonzero(got != exp_raw)
        fails = [
            f"{a.cpp()} {ra[k]} {op} {b.cpp()} {rb[k]}: ap_fixed {exp_raw[k]}, codesign {got[k]}" for k in bad
        ]
        _report(f"{op} {a.cpp()},{b.cpp()} -> {t.cpp()}", ra.size - bad.size, ra.size, fails)


# -- unit tests that need no compiler ------------------------------------------------------------------


def test_known_values() -> None:
    t = FixedType(8, 3)
    assert t.quantize([1.0, -4.0, 3.96875, 4.0, -4.1, 1e12, -0.01]).tolist() == [
        32,
        -128,
        127,
        -128,
        124,
        0,
        -1,
    ]
    sat = FixedType(8, 3, rounding="AP_RND", overflow="AP_SAT")
    want = [127, -128, 127, 127, -128, 1, 0]
    assert sat.quantize([3.98, -4.1, 1e12, np.inf, -np.inf, 1 / 64, -1 / 64]).tolist() == want
    sym = sat.with_modes(overflow="AP_SAT_SYM")
    assert sym.quantize([-4.0, -5.0, 5.0]).tolist() == [-127, -127, 127]
    assert sat.with_modes(overflow="AP_SAT_ZERO").quantize([3.99, -4.1, 1.0]).tolist() == [0, 0, 32]
    conv = FixedType(4, 4, rounding="AP_RND_CONV")
    assert conv.quantize([0.5, 1.5, 2.5, -0.5, -1.5, -2.5]).tolist() == [0, 2, 2, 0, -2, -2]
    u = FixedType(8, 2, signed=False, overflow="AP_SAT")
    assert u.quantize([-1.0, 5.0, 1.5]).tolist() == [0, 255, 96]
    assert FixedType(6, 9).quantize([9.0, 1e12]).tolist() == [1, 0]  # lsb 8: 9 -> 8; 1e12 wraps to 0
    assert FixedType(12, -2).lsb == 2.0**-14 and FixedType(12, -2).max_value == (2**11 - 1) * 2.0**-14
    assert FixedType(8, 2, signed=False).min_value == 0.0
    assert FixedType(16, 6).represent(0.1) == pytest.approx(0.1, abs=2**-10)


def test_cast_and_arith_units() -> None:
    src = FixedType(16, 6)
    raw = src.quantize([1.75, -2.5, 31.0])
    assert FixedType(4, 3, rounding="AP_RND", overflow="AP_SAT").cast_raw(raw, src).tolist() == [4, -5, 7]
    a, b = Fixed.from_float([1.5, -2.25], FixedType(8, 3)), Fixed.from_float([0.75, 3.0], FixedType(6, 3))
    assert (a * b).to_float().tolist() == [1.125, -6.75]
    assert (a + b).to_float().tolist() == [2.25, 0.75]
    assert (a - b).to_float().tolist() == [0.75, -5.25]
    assert (a * b).type == FixedType(14, 6)
    assert add_type(FixedType(8, 2, signed=False), FixedType(8, 3)) == FixedType(10, 4)
    assert (a * b).cast(FixedType(8, 3, overflow="AP_SAT")).to_float().tolist() == [1.125, -4.0]


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize(("q", "o"), MODES)
def test_cpp_parse_round_trip(signed: bool, q: str, o: str) -> None:
    for w, i in ((16, 6), (1, 1), (8, -3), (6, 9), (32, 0)):
        t = FixedType(w, i, signed, q, o)
        assert FixedType.parse(t.cpp()) == t
        spaced = t.cpp().replace("<", " < ").replace(",", " , ")
        assert FixedType.parse(spaced) == t
        hls = f"{'' if signed else 'u'}fixed<{w},{i},{q[3:]},{o[3:]},0>"  # hls4ml's str()
        assert FixedType.parse(hls) == t


def test_cpp_text() -> None:
    assert FixedType(16, 6, rounding="AP_RND", overflow="AP_SAT").cpp() == "ap_fixed<16,6,AP_RND,AP_SAT>"
    assert FixedType(8, 0, signed=False).cpp() == "ap_ufixed<8,0>"
    assert FixedType(8, 3, rounding="RND_CONV").cpp() == "ap_fixed<8,3,AP_RND_CONV>"
    assert FixedType(8, 3, overflow="AP_SAT").cpp() == "ap_fixed<8,3,AP_TRN,AP_SAT>"
    assert FixedType.parse("fixed<16,6>") == FixedType(16, 6)
    assert FixedType.parse("ufixed<8,0>") == FixedType(8, 0, signed=False)
    assert FixedType.parse("ap_int<8>") == FixedType(8, 8)
    assert FixedType.parse("uint<4>") == FixedType(4, 4, signed=False)
    assert FixedType.parse("ap_fixed<16, 6, AP_RND>") == FixedType(16, 6, rounding="AP_RND")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("float", "cannot parse"),
        ("ap_fixed<16>", "number of template arguments"),
        ("ap_fixed<16,6,AP_RND,AP_SAT,0,1>", "number of template arguments"),
        ("ap_fixed<a,6>", "non-integer"),
        ("ap_fixed<16,6,AP_FOO>", "rounding mode 'AP_FOO'"),
        ("ap_fixed<16,6,AP_RND,FOO>", "overflow mode 'FOO'"),
        ("ap_fixed<16,6,AP_RND,AP_SAT,2>", "saturation bits '2'"),
        ("ap_fixed<0,0>", "width 0 < 1"),
        ("ap_fixed<16,6", "cannot parse"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    with pytest.raises(FixedError, match=match):
        FixedType.parse(text)


def test_fixed_errors() -> None:
    cases = [
        (lambda: FixedType(0, 0), "width 0 < 1"),
        (lambda: FixedType(65, 10), "signed width 65 > 64"),
        (lambda: FixedType(64, 10, signed=False), "unsigned width 64 > 63"),
        (lambda: FixedType(16, 600), "integer bits 600 outside"),
        (lambda: FixedType(16.0, 6), "width bits 16.0 is not an int"),
        (lambda: FixedType(16, 6, rounding="nearest"), "rounding mode 'nearest'"),
        (lambda: FixedType(16, 6, overflow=3), "overflow mode 3"),
        (lambda: FixedType(16, 6).quantize([1.0, np.nan]), "NaN"),
        (lambda: FixedType(8, 3).cast_raw([300], FixedType(8, 3)), r"raw value 300 outside ap_fixed<8,3>"),
        (lambda: FixedType(8, 3).cast_raw([1.5], FixedType(8, 3)), "must be integers"),
        (lambda: mul_type(FixedType(32, 0, False), FixedType(32, 0, False)), r"\* ap_ufixed<32,0>.*63"),
        (lambda: add_type(FixedType(64, 0), FixedType(64, 0)), r"\+ .*width 65 > 64"),
    ]
    for fn, match in cases:
        with pytest.raises(FixedError, match=match):
            fn()
    assert issubclass(FixedError, ValueError) and issubclass(FixedError, CodesignError)


def test_large_arrays_are_exact() -> None:
    # Far out-of-range values wrap exactly (no int64 or float overflow on the way).
    t = FixedType(16, 6)
    x = np.array([1e12, -1e12, 2.0**70 + 2.0**10, 1e300])
    # 1e12 * 2**10 mod 2**16, computed with Python ints.
    want = [(int(v) * 2**10 + 2**15) % 2**16 - 2**15 for v in (1e12, -1e12, 2.0**70 + 2.0**10, 1e300)]
    assert t.quantize(x).tolist() == want
    big = np.random.default_rng(5).normal(size=200_000) * 100
    assert np.array_equal(t.quantize(big), np.concatenate([t.quantize(c) for c in np.split(big, 8)]))


def test_shifts_beyond_64_bits() -> None:
    # Scaling by >= 2**64 LSB must still see the overflow, even for raw -1 and 1.
    src, dst = FixedType(8, 8), FixedType(8, -60, overflow="AP_SAT")
    assert dst.cast_raw([-1, 1, 0], src).tolist() == [-128, 127, 0]
    assert dst.with_modes(overflow="AP_WRAP").cast_raw([-1, 1], src).tolist() == [0, 0]
    # Dropping >= 64 bits: only the sign and stickiness of the source survive.
    tiny = FixedType(8, 80, rounding="AP_RND_INF")
    assert tiny.cast_raw([-1, 1, 0], FixedType(8, 0)).tolist() == [0, 0, 0]
    assert tiny.with_modes(rounding="AP_TRN").cast_raw([-1, 1], FixedType(8, 0)).tolist() == [-1, 0]
