"""One rank of the torch failover test (node/overlay_failover_test.go).

The ranks form a torch.distributed gloo group on the job network and
all-reduce rank + 1, then print "joined gen=<g>". In generation 0
(GPUMESH_NET_GENERATION: no failover yet) every rank then waits on a
message no rank sends, so the first generation never finishes by itself:
the test loses a provider while every rank waits, and the failover mode
restart starts every rank again. A later generation trains a small model
for three DDP steps, each rank on its own data, and prints
"sum=<all-reduced value> gen=<g> params=<the model's parameters>".

Each generation meets on MASTER_PORT + generation: a rank started again
never reaches the store of a rank 0 of an earlier start that has not yet
been stopped.
"""
import datetime
import os

import torch
import torch.distributed as dist

rank = int(os.environ["RANK"])
world = int(os.environ["WORLD_SIZE"])
gen = int(os.environ.get("GPUMESH_NET_GENERATION", "0"))
addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]) + gen

dist.init_process_group("gloo", init_method="tcp://%s:%d" % (addr, port), rank=rank, world_size=world,
                        timeout=datetime.timedelta(seconds=60))
t = torch.tensor([rank + 1.0])
dist.all_reduce(t)
print("joined gen=%d" % gen, flush=True)

if gen == 0:
    # Wait for the failover: nobody sends, the timeout bounds a rank
    # left behind on a lost provider.
    dist.recv(torch.zeros(1), src=(rank + 1) % world)

torch.manual_seed(0)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.Generator().manual_seed(rank)
for _ in range(3):
    x = torch.randn(8, 4, generator=data)
    loss = ((model(x) - x.sum(dim=1, keepdim=True)) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
params = torch.cat([p.detach().flatten() for p in model.parameters()])
print("sum=%g gen=%d params=%s" % (t.item(), gen, ",".join("%.6f" % v for v in params.tolist())), flush=True)
dist.destroy_process_group()
