"""One rank of the job-network test (node/overlay_test.go).

Every rank tries to reach each host:port of its arguments, the provider's
API and a listener on the host's LAN address (it must fail: the rank's
namespace holds loopback and the job network only), then joins a torch.distributed gloo group through MASTER_ADDR and
MASTER_PORT on the job network, all-reduces rank + 1 and trains a small
model for a few DDP steps. It prints what the test checks: "reach
<target> <outcome>", "sum=<value>" and "params=<values>". With no torch it does
the same exchange over a plain TCP socket (rank 0 listens, the others
connect), printing "sum=" the same way.
"""
import os
import socket
import sys

rank = int(os.environ["RANK"])
world = int(os.environ["WORLD_SIZE"])
print("env master=%s:%s rank=%d world=%d peers=%s addr=%s" % (
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"], rank, world,
    os.environ["GPUMESH_PEERS"], os.environ.get("GPUMESH_ADDR", "")), flush=True)

for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        print("reach %s reached" % target, flush=True)
    except OSError as e:
        print("reach %s failed %s" % (target, type(e).__name__), flush=True)

try:
    import torch
    import torch.distributed as dist
except ImportError:
    torch = None

if torch is not None:
    dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=world)
    t = torch.tensor([float(rank + 1)])
    dist.all_reduce(t)
    print("sum=%g" % t.item(), flush=True)
    # A few DDP steps of a small model, each rank on its own data: the
    # gradients are averaged over the job network, so every rank must end
    # with the same parameters.
    torch.manual_seed(rank)  # different initial weights: DDP broadcasts rank 0's
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(100 + rank)
    for _ in range(3):
        x = torch.randn(8, 4, generator=gen)
        loss = ((model(x) - x.sum(dim=1, keepdim=True)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    print("params=" + ",".join("%.6f" % v for v in flat.tolist()), flush=True)
    dist.destroy_process_group()
else:
    addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
    if rank == 0:
        srv = socket.create_server((addr, port))
        conns = [srv.accept()[0] for _ in range(world - 1)]
        total = 1 + sum(int(c.recv(64)) for c in conns)
        for c in conns:
            c.sendall(b"%d" % total)
            c.close()
    else:
        for _ in range(600):
            try:
                c = socket.create_connection((addr, port), timeout=5)
                break
            except OSError:
                import time
                time.sleep(0.1)
        c.sendall(b"%d" % (rank + 1))
        total = int(c.recv(64))
    print("sum=%g" % total, flush=True)
