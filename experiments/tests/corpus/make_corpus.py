#!/usr/bin/env python3
"""Writes the malformed-WFDB corpus used by experiments/tests/corpus.rs (small crafted files,
no real data). Run from this folder; the outputs are committed."""
import struct

def pack212(samples):
    out = bytearray()
    for i in range(0, len(samples), 2):
        a = samples[i] & 0xFFF
        if i + 1 < len(samples):
            b = samples[i + 1] & 0xFFF
            out += bytes([a & 0xFF, (a >> 8) | ((b >> 8) << 4), b & 0xFF])
        else:
            out += bytes([a & 0xFF, a >> 8])
    return bytes(out)

def csum(v):
    s = sum(v) & 0xFFFF
    return s - 0x10000 if s >= 0x8000 else s

sig0 = [0, 10, 20, -30, 40, 50, -60, 70, 80, -2047]
sig1 = [5, -5, 6, -6, 7, -7, 8, -8, 9, 2047]
inter = [x for pair in zip(sig0, sig1) for x in pair]
dat = pack212(inter)

def header(name, nsig=2, nsamp=10, fmt="212", c0=None, i0=None, extra=""):
    c0 = csum(sig0) if c0 is None else c0
    i0 = sig0[0] if i0 is None else i0
    lines = [f"{name} {nsig} 360 {nsamp}",
             f"{name}.dat {fmt} 200 11 0 {i0} {c0} 0 MLII",
             f"{name}.dat {fmt} 200 11 0 {sig1[0]} {csum(sig1)} 0 V1"]
    return ("\r\n".join(lines) + "\r\n" + extra).encode()

def write(name, data):
    with open(name, "wb") as f:
        f.write(data)

# A valid record, to prove the corpus files fail only for their one defect.
write("valid.hea", header("valid")); write("valid.dat", dat)
# Truncated signal file: 10 frames need 30 bytes, the file has 20.
write("truncated.hea", header("truncated")); write("truncated.dat", dat[:20])
# Record line says 3 signals, 2 signal lines follow.
write("wrong_nsig.hea", header("wrong_nsig", nsig=3)); write("wrong_nsig.dat", dat)
# Format 311 (real WFDB format, not supported here) and a non-numeric format.
write("bad_format.hea", header("bad_format", fmt="311")); write("bad_format.dat", dat)
write("garbage_format.hea", header("garbage_format", fmt="2x1z")); write("garbage_format.dat", dat)
# Non-UTF-8 byte in line 3.
h = bytearray(header("non_utf8")); i = h.index(b"V1"); h[i] = 0xFF
write("non_utf8.hea", bytes(h)); write("non_utf8.dat", dat)
# Absurd sample count: 10^15 frames (would be 16 PB of i32); must fail before allocating.
write("absurd.hea", header("absurd", nsamp=10**15)); write("absurd.dat", dat)
# Absurd signal count.
write("huge_nsig.hea", b"huge_nsig 99999999 360 10\n")
# Checksum and INITVAL that disagree with the samples.
write("bad_checksum.hea", header("bad_checksum", c0=1234)); write("bad_checksum.dat", dat)
write("bad_initval.hea", header("bad_initval", i0=7)); write("bad_initval.dat", dat)
# Missing .dat file.
write("missing_dat.hea", header("missing_dat"))
# Empty header.
write("empty.hea", b"")

# Annotations: N at 18, N at +300, AUX "(N" … then cut mid-record.
def w(a, i):
    return struct.pack("<H", (a << 10) | i)
good = w(1, 18) + w(1, 300) + w(63, 2) + b"(N" + w(0, 0)
write("valid.atr", good)
write("mid_record.atr", good[:5])            # odd length: stops inside a word
write("aux_cut.atr", w(1, 18) + w(63, 20) + b"(AF")   # AUX says 20 bytes, 3 follow
write("skip_cut.atr", w(1, 18) + w(59, 0) + b"\x00")  # SKIP needs 4 more bytes
write("no_end.atr", w(1, 18) + w(1, 300))    # no 0x0000 end word
write("negative_time.atr", w(59, 0) + struct.pack("<HH", 0xFFFF, 0xFF00) + w(1, 1) + w(0, 0))
