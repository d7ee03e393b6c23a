"""Is the load probe trustworthy? Compare it with wrk and httpx against the same server.

    .venv/bin/python benchmarks/bench_probe.py        (1-2 minutes; prints a table)

The test server is a minimal asyncio HTTP server (tens of thousands of requests/s)
in its own process, pinned to the last core; this process, its clients and wrk are
pinned to the first core, so "one core" below means exactly that. Sections:

1. the probe's ceiling: rising open-loop steps until one is invalid (dispatch-lag
   p99 over 5 ms against this fast server) or has errors, with one retry each
   against noise; target: >= 1,000 requests/s valid. Each step also shows the
   probe's own CPU and what other processes took of its core: on a shared box,
   an invalid step with high "others" means the probe lost its core;
2. wrk (Debian's 4.1, closed-loop): its maximum throughput, and its p99 at the
   probe's shared rate, throttled with wrk's Lua delay(). That throttling is still
   closed-loop: wrk2's open-loop -R option is not packaged in Debian. wrk times a
   request from its actual send, the probe from its intended send, so the probe's
   p99 includes its own dispatch lag (~1 ms of timer granularity and more);
3. closed-loop clients, httpx (the baseline that motivated aiohttp) and aiohttp,
   at rising concurrency;
4. a server that blocks its event loop for 1 s every 5 s: the open-loop p99 against
   a closed-loop aiohttp client's p99 on the same server. wrk is shown too: it is
   closed-loop but, after the run, pads its histogram with the samples a stall
   hid (stats_correct, from the mean interval per connection), so its p99 sees
   the stall as an after-the-fact estimate.

A benchmark, not a test: it prints figures and exits 0. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

from grader.serving.loadprobe import LoadStep, ProbeRequest, open_session, run_step

ROW = b'{"customer_id": 1042, "tenure_months": 17, "monthly_charges": 70.35, "contract": "month-to-month"}'
ANSWER = b'{"churn_probability": 0.27}'
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER)
CEILING_RATES = (1000, 1500, 2000, 3000, 4000, 5000, 6000, 8000)
SHARED_RATE = 1000
STEP_S, WARMUP_S = 4.0, 1.0
STALL_EVERY_S, STALL_S, STALL_RATE, STALL_RUN_S = 5.0, 1.0, 200, 8
CLOSED_LOOP_S = 3.0


# ---- the test server (runs in a child process) -------------------------------------


class _FixedAnswer(asyncio.Protocol):
    """Answers every request on a keep-alive connection with the same 200 JSON."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            length = re.search(rb"content-length:\s*(\d+)", head)
            size = end + 4 + (int(length.group(1)) if length else 0)
            if len(self.buffer) < size:
                return
            self.buffer = self.buffer[size:]
            self.transport.write(RESPONSE)


async def _serve(stall: bool) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_FixedAnswer, "127.0.0.1", 0, backlog=4096)
    if stall:
        # A blocked event loop, like a synchronous model call inside `async def`.
        def block() -> None:
            time.sleep(STALL_S)
            loop.call_later(STALL_EVERY_S - STALL_S, block)

        loop.call_later(STALL_EVERY_S - STALL_S, block)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.sleep(600)  # the parent kills it long before


@contextmanager
def serving(stall: bool, core: int | None) -> Iterator[str]:
    """Start the test server in a child process; yield its URL."""
    command = [sys.executable, __file__, "--serve"] + (["--stall"] if stall else [])
    if core is not None:
        command += ["--core", str(core)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        port = int(child.stdout.readline())
        yield f"http://127.0.0.1:{port}/predict"
    finally:
        child.kill()
        child.wait()


# ---- clients -----------------------------------------------------------------------


def p99(latencies_ms: list[float]) -> float:
    return float(np.percentile(latencies_ms, 99, method="inverted_cdf"))


async def closed_loop(
    send: Callable[[], Awaitable[None]], concurrency: int, seconds: float
) -> tuple[float, float, float]:
    """`concurrency` workers each send, wait, send again; returns (requests/s, p99 ms, max ms)."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    end = loop.time() + seconds

    async def worker() -> None:
        while loop.time() < end:
            start = loop.time()
            await send()
            latencies.append((loop.time() - start) * 1000)

    began = loop.time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(latencies) / (loop.time() - began), p99(latencies), max(latencies)


async def httpx_closed_loop(url: str, concurrency: int, seconds: float) -> tuple[float, float, float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def send() -> None:
            (await client.post(url, content=ROW, headers={"Content-Type": "application/json"})).raise_for_status()

        return await closed_loop(send, concurrency, seconds)


async def aiohttp_closed_loop(url: str, concurrency: int, seconds: float) -> tuple[float, float, float]:
    async with open_session() as session:

        async def send() -> None:
            async with session.post(url, data=ROW, headers={"Content-Type": "application/json"}) as response:
                await response.read()
                response.raise_for_status()

        return await closed_loop(send, concurrency, seconds)


class CoreShare:
    """How much of one core this process used, and how much *others* took meanwhile.

    Others include the hypervisor's steal. On a shared box this tells "the probe
    ran out of its core" from "the probe lost its core to someone else".
    """

    def __init__(self, core: int | None) -> None:
        self.core = core
        self.busy, self.own, self.wall = self._busy(), time.process_time(), time.monotonic()

    def shares(self) -> tuple[float, float]:
        """(this process's share of the core, other processes' share) since construction."""
        wall = time.monotonic() - self.wall
        own = (time.process_time() - self.own) / wall
        if self.core is None:
            return own, float("nan")
        busy = (self._busy() - self.busy) / os.sysconf("SC_CLK_TCK") / wall
        return own, max(0.0, busy - own)

    def _busy(self) -> int:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith(f"cpu{self.core} "):
                user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, line.split()[1:9])
                return user + nice + system + irq + softirq + steal
        return 0


async def probe_steps(url: str, rates: tuple[int, ...], core: int | None) -> list[tuple[LoadStep, tuple[float, float]]]:
    """Rising open-loop steps until one is invalid or has errors (one retry against noise).

    Returns each step with CoreShare.shares() of the client core during it.
    """
    request = ProbeRequest(method="POST", url=url, content=ROW, headers={"Content-Type": "application/json"})
    steps: list[tuple[LoadStep, tuple[float, float]]] = []
    async with open_session() as session:
        for rate in rates:
            for _attempt in range(2):
                share = CoreShare(core)
                step = await run_step(session, [request], rate, STEP_S, warmup_s=WARMUP_S)
                steps.append((step, share.shares()))
                if sustained(step):
                    break
            if not sustained(step):
                break
    return steps


def sustained(step: LoadStep) -> bool:
    return step.valid and step.errors == 0


def wrk(url: str, connections: int, seconds: int, delay_ms: int | None = None) -> dict[str, float]:
    """Run wrk with the same POST body; returns errors, requests/s, and p50/p99/max in ms."""
    script = f'wrk.method = "POST"\nwrk.body = [[{ROW.decode()}]]\nwrk.headers["Content-Type"] = "application/json"\n'
    if delay_ms is not None:
        script += f"function delay() return {delay_ms} end\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", lua.name, url]
        output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    # wrk prints these lines only when they are not zero.
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = sum(map(int, socket_errors.groups())) if socket_errors else 0
    errors += int(non_2xx.group(1)) if non_2xx else 0
    return {
        "errors": errors,
        "rps": float(re.search(r"Requests/sec:\s*([\d.]+)", output).group(1)),
        "p50": _wrk_ms(re.search(r"^\s*50%\s+(\S+)", output, re.M).group(1)),
        "p99": _wrk_ms(re.search(r"^\s*99%\s+(\S+)", output, re.M).group(1)),
        "max": _wrk_ms(re.search(r"^\s*Latency\s+\S+\s+\S+\s+(\S+)", output, re.M).group(1)),
    }


def _wrk_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


# ---- the run -----------------------------------------------------------------------


Rows = list[tuple[str, str]]


def ceiling_section(url: str, core: int | None, rows: Rows) -> tuple[LoadStep | None, LoadStep | None]:
    """Section 1; returns the highest sustained step and the one at SHARED_RATE."""
    measured = asyncio.run(probe_steps(url, CEILING_RATES, core))
    print("1. probe ceiling, open loop on one core ('cpu': the probe's use of that core, 'others': other processes')")
    print(
        f"   {'rate':>6} {'valid':>5} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
        f" {'lag p99':>7} {'lag max':>7} {'cpu':>5} {'others':>6}"
    )
    for step, (own, others) in measured:
        print(
            f"   {step.rate:>6g} {step.valid!s:>5} {step.errors:>6} {step.p50_ms:>7.2f} {step.p99_ms:>7.2f}"
            f" {step.max_ms:>7.2f} {step.dispatch_lag_p99_ms:>7.2f} {step.dispatch_lag_max_ms:>7.2f}"
            f" {own:>5.0%} {others:>6.0%}"
        )
    good = [step for step, _ in measured if sustained(step)]
    best = max(good, key=lambda step: step.rate, default=None)
    shared = next((step for step in good if step.rate == SHARED_RATE), None)
    best_rate = best.rate if best else 0.0
    rows.append(("probe: highest valid rate", f"{best_rate:,.0f} req/s ({best_rate / 1000:.1f}x the 1,000 target)"))
    if best:
        rows.append(("probe: dispatch-lag p99 there", f"{best.dispatch_lag_p99_ms:.2f} ms (limit 5 ms)"))
    if shared:
        figures = f"{shared.p99_ms:.2f} ms / {shared.dispatch_lag_p99_ms:.2f} ms"
        rows.append((f"probe: p99 / lag p99 at {SHARED_RATE} req/s", figures))
    cpu_us = float(np.median([own / step.rate * 1e6 for step, (own, _) in measured]))
    rows.append(("probe: own CPU per request", f"{cpu_us:.0f} us (a whole core: ~{1e6 / cpu_us:,.0f} req/s)"))
    if any(others > 0.2 for _, (_, others) in measured):
        rows.append(("note", "others took >20 % of the client core in some steps: invalid there means lost CPU"))
    return best, shared


def wrk_section(url: str, best: LoadStep | None, shared: LoadStep | None, rows: Rows) -> None:
    """Section 2: wrk's closed-loop ceiling, and its p99 when paced to SHARED_RATE."""
    top = wrk(url, connections=64, seconds=5)
    # 10 connections x (10 ms think time + latency) ~ SHARED_RATE requests/s.
    paced = wrk(url, connections=10, seconds=5, delay_ms=round(10 * 1000 / SHARED_RATE))
    print("\n2. wrk 4.1, one thread on the client core")
    for name, run in (("-c64 flat out:        ", top), ("-c10 paced by delay():", paced)):
        print(
            f"   {name} {run['rps']:>8,.0f} req/s  p50 {run['p50']:.2f} ms  p99 {run['p99']:.2f} ms"
            f"  errors {run['errors']:.0f}"
        )
    rows.append(("wrk -c64: max throughput", f"{top['rps']:,.0f} req/s, p99 {top['p99']:.2f} ms"))
    if best:
        rows.append(("ratio wrk max / probe highest valid", f"{top['rps'] / best.rate:.1f}x"))
    rows.append((f"wrk paced to ~{SHARED_RATE} req/s", f"{paced['rps']:,.0f} req/s, p99 {paced['p99']:.2f} ms"))
    if shared:
        rows.append((f"ratio probe p99 / wrk p99 at ~{SHARED_RATE}", f"{shared.p99_ms / paced['p99']:.1f}x"))


def closed_loop_section(url: str, rows: Rows) -> None:
    """Section 3: httpx and aiohttp, closed loop at rising concurrency."""
    print("\n3. closed-loop clients on the client core: requests/s (p99 ms)")
    for name, client in (("httpx", httpx_closed_loop), ("aiohttp", aiohttp_closed_loop)):
        figures = [(c, asyncio.run(client(url, c, CLOSED_LOOP_S))) for c in (1, 16, 64)]
        print(f"   {name:>8}  " + "   ".join(f"c={c}: {rps:,.0f} ({p:.1f})" for c, (rps, p, _) in figures))
        each = "/".join(f"{rps:,.0f}" for _, (rps, _, _) in figures)
        rows.append((f"{name} closed loop: c=1/16/64", f"{each} req/s"))


def stall_section(core: int | None, rows: Rows) -> None:
    """Section 4: what open and closed loops report for a server that stalls."""
    measured_s = STALL_RUN_S - WARMUP_S
    print(f"\n4. stall: the server blocks {STALL_S:g} s every {STALL_EVERY_S:g} s; {measured_s:g} s measured")
    with serving(stall=True, core=core) as url:
        request = ProbeRequest(method="POST", url=url, content=ROW, headers={"Content-Type": "application/json"})

        async def open_loop() -> LoadStep:
            async with open_session() as session:
                return await run_step(session, [request], STALL_RATE, STALL_RUN_S, warmup_s=WARMUP_S, timeout_s=3.0)

        opened = asyncio.run(open_loop())
        _, closed_p99, closed_max = asyncio.run(aiohttp_closed_loop(url, 10, measured_s))
        stalled = wrk(url, connections=10, seconds=int(measured_s)) if shutil.which("wrk") else None
    lag = f"lag p99 {opened.dispatch_lag_p99_ms:.1f} ms of {opened.dispatch_lag_allowed_ms:.1f} allowed"
    print(f"   probe, open loop {STALL_RATE} req/s: p99 {opened.p99_ms:.0f} ms, max {opened.max_ms:.0f} ms", end="")
    print(f" ({lag}, valid={opened.valid})")
    print(f"   aiohttp, closed loop c=10:   p99 {closed_p99:.1f} ms, max {closed_max:.0f} ms")
    rows.append((f"stall: probe {STALL_RATE} req/s p99 / max", f"{opened.p99_ms:.0f} ms / {opened.max_ms:.0f} ms"))
    rows.append(("stall: aiohttp closed c=10 p99 / max", f"{closed_p99:.1f} ms / {closed_max:.0f} ms"))
    rows.append(("ratio stall p99 open / closed", f"{opened.p99_ms / closed_p99:,.0f}x"))
    if stalled:
        print(f"   wrk c=10, corrected:         p99 {stalled['p99']:.1f} ms, max {stalled['max']:.0f} ms")
        rows.append(("stall: wrk c=10 (corrected) p99 / max", f"{stalled['p99']:.1f} ms / {stalled['max']:.0f} ms"))


def main() -> None:
    cores = sorted(os.sched_getaffinity(0))
    client_core, server_core = (cores[0], cores[-1]) if len(cores) > 1 else (None, None)
    if client_core is not None:
        os.sched_setaffinity(0, {client_core})
    began = time.monotonic()
    pinning = f"clients on core {client_core}, server on core {server_core}" if server_core is not None else "unpinned"
    print(f"bench_probe: {pinning}; POST of a {len(ROW)}-byte JSON row; steps {STEP_S:g} s, warm-up {WARMUP_S:g} s\n")
    rows: Rows = []
    with serving(stall=False, core=server_core) as url:
        best, shared = ceiling_section(url, client_core, rows)
        if shutil.which("wrk"):
            wrk_section(url, best, shared, rows)
        else:
            rows.append(("wrk", "not installed (apt-get install wrk): no wrk figures"))
        closed_loop_section(url, rows)
    stall_section(server_core, rows)
    width = max(len(name) for name, _ in rows)
    print("\nsummary")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print(f"\n({time.monotonic() - began:.0f} s)")


if __name__ == "__main__":
    arguments = argparse.ArgumentParser()
    arguments.add_argument("--serve", action="store_true")
    arguments.add_argument("--stall", action="store_true")
    arguments.add_argument("--core", type=int)
    options = arguments.parse_args()
    if options.serve:
        if options.core is not None:
            os.sched_setaffinity(0, {options.core})
        asyncio.run(_serve(options.stall))
    else:
        main()
