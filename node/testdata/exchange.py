# Two ranks of a job on its job network: rank 0 sends 100000 bytes to
# rank 1 over TCP on the job's IPv6 subnet (GPUMESH_PEERS6), rank 1
# answers "ok"; each then prints "exchanged" and waits until the file
# argv[1] exists (the test's signal to end).
import os
import socket
import sys
import time

rank = int(os.environ["RANK"])
peers = os.environ["GPUMESH_PEERS6"].split(",")
done = sys.argv[1]
if rank == 1:
    ln = socket.socket(socket.AF_INET6)
    ln.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ln.bind((os.environ["GPUMESH_ADDR6"], 9000))
    ln.listen(1)
    c, _ = ln.accept()
    got = 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        got += len(b)
    c.sendall(b"ok")
    c.close()
    print("received", got, flush=True)
else:
    deadline = time.time() + 60
    while True:
        try:
            c = socket.create_connection((peers[1], 9000), timeout=5)
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)
    c.sendall(b"x" * 100000)
    c.shutdown(socket.SHUT_WR)
    print("answer", c.recv(16).decode(), flush=True)
    c.close()
print("exchanged", flush=True)
while not os.path.exists(done):
    time.sleep(0.05)
