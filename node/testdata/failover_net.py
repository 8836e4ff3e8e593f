"""One rank of the job-network failover test (node/overlay_failover_test.go).

Rank 0 listens on MASTER_ADDR:MASTER_PORT; every other rank connects
(retrying while rank 0 is not up) and sends "<rank> <generation>". Rank 0
keeps the latest word from each rank and answers them all the sum of
rank + 1 over the world once it holds a word from every rank and has seen
generation 1 or more (GPUMESH_NET_GENERATION: one failover happened), so
the first generation never finishes by itself: the test loses a provider
while every rank waits. It prints "joined gen=<g>" once its part is set up
(rank 0: listening; others: connected and sent) and "sum=<value>" at the
end.
"""
import os
import select
import socket
import sys
import time

rank = int(os.environ["RANK"])
world = int(os.environ["WORLD_SIZE"])
gen = int(os.environ.get("GPUMESH_NET_GENERATION", "0"))
addr, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])

if rank == 0:
    srv = socket.create_server((addr, port))
    print("joined gen=%d" % gen, flush=True)
    latest = {0: gen}  # rank: generation of its latest word
    conns = {}         # socket: rank
    while not (len(latest) == world and max(latest.values()) >= 1):
        ready, _, _ = select.select([srv] + list(conns), [], [], 1.0)
        for s in ready:
            if s is srv:
                c, _ = srv.accept()
                conns[c] = None
                continue
            data = s.recv(64)
            if not data:
                del conns[s]
                s.close()
                continue
            r, g = (int(x) for x in data.split())
            conns[s] = r
            latest[r] = g
    total = sum(r + 1 for r in range(world))
    for c in conns:
        try:
            c.sendall(b"%d\n" % total)
            c.close()
        except OSError:
            pass  # a lost rank's connection
else:
    deadline = time.time() + 120
    while True:
        try:
            c = socket.create_connection((addr, port), timeout=5)
            break
        except OSError:
            if time.time() > deadline:
                sys.exit("rank 0 never listened")
            time.sleep(0.1)
    c.sendall(b"%d %d" % (rank, gen))
    print("joined gen=%d" % gen, flush=True)
    c.settimeout(None)
    total = int(c.recv(64))
print("sum=%d gen=%d" % (total, gen), flush=True)
