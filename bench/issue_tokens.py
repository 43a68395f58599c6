#!/usr/bin/env python3
"""Issue exactly N client_credentials tokens over keep-alive connections (loopback only).

usage: issue_tokens.py N URL CLIENT_ID CLIENT_SECRET [EXTRA_FORM]
Prints "issued=N failed=F seconds=S". Bounded: exactly N requests, 4 threads, 10 s socket timeout.
"""
import base64, http.client, sys, threading, time, urllib.parse

n, url, cid, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
extra = sys.argv[5] if len(sys.argv) > 5 else ""
u = urllib.parse.urlsplit(url)
assert u.hostname == "127.0.0.1", "loopback only"
auth = "Basic " + base64.b64encode(
    f"{urllib.parse.quote(cid, safe='')}:{urllib.parse.quote(secret, safe='')}".encode()).decode()
body = "grant_type=client_credentials" + (("&" + extra) if extra else "")
headers = {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"}
ok, failed, lock = 0, 0, threading.Lock()

def worker(count):
    global ok, failed
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    for _ in range(count):
        try:
            conn.request("POST", u.path, body, headers)
            r = conn.getresponse(); r.read()
            good = r.status == 200
        except Exception:
            good = False
            conn.close(); conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        with lock:
            if good: ok += 1
            else: failed += 1

threads = 4
start = time.time()
ts = [threading.Thread(target=worker, args=(n // threads + (1 if i < n % threads else 0),)) for i in range(threads)]
for t in ts: t.start()
for t in ts: t.join()
print(f"issued={ok} failed={failed} seconds={time.time() - start:.1f}")
