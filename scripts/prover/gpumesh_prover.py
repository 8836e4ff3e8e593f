#!/usr/bin/env python3
"""gpumesh proof-of-compute helper, version 2: the GPU prover.

A provider installs this program and names it in its config:

    [proof]
    helper = "/usr/local/bin/gpumesh-prover"

The node runs it once per challenge and speaks the protocol of
docs/protocol/proof-v2.md on stdin and stdout: frames of a 4-byte
big-endian length and a gpu/proof version 2 message. Once PyTorch is loaded
and the device initialized it says ready; then the challenge comes, and the
clock starts. It mirrors the Go CPU
prover (gpu/proof prove2.go, gen2.go) exactly:

  - pools A_0..A_{P-1}, B_0..B_{P-1} of n x n matrices, element (i, c) of
    matrix q (A_x: q = x, B_y: q = P + y) from the integer hash of gen2.go,
    exact in fp16 / bf16;
  - product j is A_x B_y with x = j mod P, y = (x + j div P) mod P,
    computed in fp16 (or bf16) with fp32 accumulation on the GPU;
  - its row digests sum_k |C[i,k]| in fp32, the leaf of product j being
    its n digests as fp32 little-endian;
  - an RFC 6962 Merkle tree over the K leaves; the commitment carries its
    root, the openings each opened leaf with its inclusion path.

Needs PyTorch with CUDA (and numpy, which PyTorch uses). `--backend python`
computes in pure Python instead, for tiny challenges only: the tests use it
to check this file against the Go verifier on machines without PyTorch.
"""
import argparse
import hashlib
import struct
import sys
import time

KIND_CHALLENGE, KIND_COMMITMENT, KIND_OPEN_REQUEST, KIND_OPENINGS, KIND_READY = b"C", b"M", b"R", b"O", b"Y"
WIRE_VERSION2 = 2
ID_DOMAIN = b"gpumesh-proof-challenge-id\x00"
GEN_DOMAIN = b"gpumesh-proof-gen/2\x00"
TYPES = {2: "bf16-fp32", 3: "fp16-fp32"}
CHALLENGE_BODY = struct.Struct("<B32s16sIBIIIQ")  # version, seed, nonce, n, type, pool, products, samples, deadline
MAX_N, MAX_POOL, MAX_SAMPLES = 4096, 256, 64
M32 = 0xFFFFFFFF


def read_frame(f, limit):
    head = f.read(4)
    if len(head) != 4:
        raise EOFError("stream ended")
    (size,) = struct.unpack(">I", head)
    if size > limit:
        raise ValueError("frame of %d bytes, at most %d" % (size, limit))
    data = f.read(size)
    if len(data) != size:
        raise EOFError("truncated frame")
    return data


def write_frame(f, data):
    f.write(struct.pack(">I", len(data)) + data)
    f.flush()


class Challenge:
    def __init__(self, data, max_n, max_pool):
        if len(data) != 2 + CHALLENGE_BODY.size or data[0:1] != KIND_CHALLENGE or data[1] != WIRE_VERSION2:
            raise ValueError("not a version 2 challenge")
        self.body = data[2:]
        (version, self.seed, _nonce, self.n, code, self.pool, self.products, self.samples, self.deadline) = CHALLENGE_BODY.unpack(self.body)
        if version != 2 or code not in TYPES or not 1 <= self.n <= min(max_n, MAX_N) or not 1 <= self.pool <= min(max_pool, MAX_POOL):
            raise ValueError("challenge out of bounds")
        if not 1 <= self.products <= self.pool * self.pool or not 1 <= self.samples <= min(self.products, MAX_SAMPLES):
            raise ValueError("challenge out of bounds")
        self.type = TYPES[code]
        self.id = hashlib.sha256(ID_DOMAIN + self.body).digest()
        k = hashlib.sha256(GEN_DOMAIN + self.seed).digest()
        self.keys = struct.unpack("<III", k[:12])
        self.frac_bits = 10 if self.type == "fp16-fp32" else 7


def pair(j, pool):
    x = j % pool
    return x, (x + j // pool) % pool


def lowbias32(x):
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return x


# ---- pure Python backend: tiny challenges, for tests ----

def element(ch, q, i, c):
    k0, k1, k2 = ch.keys
    h = lowbias32(((i * ch.n + c) & M32) ^ k0)
    h = lowbias32(h ^ ((q * 0x9E3779B9 + k1) & M32))
    h = lowbias32((h + k2) & M32)
    sign, exp, frac = h >> 15 & 1, h >> 13 & 3, h & ((1 << ch.frac_bits) - 1)
    v = (1 + frac / (1 << ch.frac_bits)) * 2.0 ** -exp
    return -v if sign else v


def digests_python(ch):
    n = ch.n
    mats = [[[element(ch, q, i, c) for c in range(n)] for i in range(n)] for q in range(2 * ch.pool)]
    out = []
    for j in range(ch.products):
        x, y = pair(j, ch.pool)
        a, b = mats[x], mats[ch.pool + y]
        row = []
        for i in range(n):
            s = 0.0
            for c in range(n):
                s += abs(sum(a[i][k] * b[k][c] for k in range(n)))
            row.append(s)
        out.append(struct.pack("<%df" % n, *row))
    return out


# ---- PyTorch backend: the GPU ----

def digests_torch(ch, device):
    import torch

    torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
    torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
    dtype = torch.float16 if ch.type == "fp16-fp32" else torch.bfloat16
    n, k0, k1, k2 = ch.n, *ch.keys

    def mul32(x, c):  # x c mod 2^32 without overflowing int64
        return ((x & 0xFFFF) * c + ((((x >> 16) * c) & 0xFFFF) << 16)) & M32

    def mix(x):  # lowbias32 on int64 tensors holding 32-bit values
        x = x ^ (x >> 16)
        x = mul32(x, 0x7FEB352D)
        x = x ^ (x >> 15)
        x = mul32(x, 0x846CA68B)
        return x ^ (x >> 16)

    h0 = mix(torch.arange(n * n, dtype=torch.int64, device=device) ^ k0)

    def matrix(q):
        h = mix(h0 ^ ((q * 0x9E3779B9 + k1) & M32))
        h = mix((h + k2) & M32)
        sign = ((h >> 15) & 1).to(torch.float32)
        exp = ((h >> 13) & 3).to(torch.float32)
        frac = (h & ((1 << ch.frac_bits) - 1)).to(torch.float32)
        v = (1 + frac / (1 << ch.frac_bits)) * torch.exp2(-exp) * (1 - 2 * sign)
        return v.reshape(n, n).to(dtype)

    a = [matrix(q) for q in range(ch.pool)]
    b = [matrix(ch.pool + q) for q in range(ch.pool)]
    del h0
    try:  # fp32 output where PyTorch offers it; else the 16-bit result, which the tolerance accepts
        torch.mm(a[0][:1, :1], b[0][:1, :1], out_dtype=torch.float32)
        mm = lambda x, y: torch.mm(x, y, out_dtype=torch.float32)
    except (TypeError, RuntimeError):
        mm = torch.mm
    d = torch.empty((ch.products, n), dtype=torch.float32, device=device)
    for j in range(ch.products):
        x, y = pair(j, ch.pool)
        d[j] = mm(a[x], b[y]).to(torch.float32).abs().sum(dim=1)
    d = d.cpu().contiguous().numpy().astype("<f4")
    return [d[j].tobytes() for j in range(ch.products)]


# ---- RFC 6962 Merkle tree ----

class Tree:
    def __init__(self, leaves):
        self.leaves = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
        self.memo = {}

    @staticmethod
    def split(size):
        k = 1
        while k * 2 < size:
            k *= 2
        return k

    def hash(self, lo, hi):
        if hi - lo == 1:
            return self.leaves[lo]
        if (lo, hi) not in self.memo:
            k = self.split(hi - lo)
            self.memo[(lo, hi)] = hashlib.sha256(b"\x01" + self.hash(lo, lo + k) + self.hash(lo + k, hi)).digest()
        return self.memo[(lo, hi)]

    def path(self, m, lo, hi):
        if hi - lo == 1:
            return []
        k = self.split(hi - lo)
        if m < lo + k:
            return self.path(m, lo, lo + k) + [self.hash(lo + k, hi)]
        return self.path(m, lo + k, hi) + [self.hash(lo, lo + k)]


def warm_up(args):
    """Load PyTorch and initialize the device before saying ready: none of it is timed."""
    if args.backend != "torch":
        return
    import torch

    torch.zeros(1, device=args.device)
    torch.cuda.synchronize(args.device)


def serve(args):
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    warm_up(args)
    write_frame(stdout, KIND_READY + bytes([WIRE_VERSION2]))
    ch = Challenge(read_frame(stdin, 2 + CHALLENGE_BODY.size), args.max_n, args.max_pool)
    start = time.monotonic()
    if args.backend == "python":
        leaves = digests_python(ch)
    else:
        leaves = digests_torch(ch, args.device)
    tree = Tree(leaves)
    root = tree.hash(0, ch.products)
    elapsed = max(1, int((time.monotonic() - start) * 1e9))
    print("gpumesh-prover: %d products of n = %d (%s) in %.3f s" % (ch.products, ch.n, ch.type, elapsed / 1e9), file=sys.stderr)
    write_frame(stdout, KIND_COMMITMENT + bytes([WIRE_VERSION2]) + ch.id + struct.pack("<I", ch.products) + root + struct.pack("<Q", elapsed))

    req = read_frame(stdin, 2 + 32 + 4 + 4 * MAX_SAMPLES)
    if req[0:1] != KIND_OPEN_REQUEST or req[1] != WIRE_VERSION2 or req[2:34] != ch.id:
        raise ValueError("not an open request for this challenge")
    (count,) = struct.unpack("<I", req[34:38])
    if not 1 <= count <= ch.samples or len(req) != 38 + 4 * count:
        raise ValueError("open request of the wrong size")
    products = struct.unpack("<%dI" % count, req[38:])
    out = [KIND_OPENINGS + bytes([WIRE_VERSION2]) + ch.id + struct.pack("<I", count)]
    for j in products:
        if j >= ch.products:
            raise ValueError("product %d out of range" % j)
        proof = tree.path(j, 0, ch.products)
        out.append(struct.pack("<II", j, ch.n) + leaves[j] + bytes([len(proof)]) + b"".join(proof))
    write_frame(stdout, b"".join(out))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["torch", "python"], default="torch")
    p.add_argument("--device", default="cuda")
    p.add_argument("--max-n", type=int, default=MAX_N)
    p.add_argument("--max-pool", type=int, default=MAX_POOL)
    args = p.parse_args()
    try:
        serve(args)
    except Exception as e:  # the node reads stderr's tail as the reason
        print("gpumesh-prover: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
