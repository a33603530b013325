"""The compiled load generator: wrk (Debian package `wrk`, LuaJIT inside), driven by a Lua script the benchmark
writes into its temporary folder for each level.

wrk has no request count, only a duration; the script keeps a fixed count instead: its one thread stops after the
level's last answer and interrupts wrk's main thread (SIGINT, through LuaJIT's FFI), which otherwise sleeps out
the whole duration (used here only as an upper bound). The script counts every answer by status, and for redeems the
ones that came back COMPLETED with their code (a 201's body is read in `response`); `done` prints one JSON line,
with wrk's own latency percentiles, that `run` parses.

Exactly the level's count is sent: the script's `delay` holds a connection back (a day) once the count has gone out.
The load is closed-loop like the Python loader's: each connection sends its next request when its last is answered.

One wrk thread for every level: a second would take CPU from the platform on a 2-CPU machine, and one thread's event
loop drives 64 connections far above the rates this platform reaches.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rewards_bench.load import Level

RESULT_MARK = "BENCH_RESULT "
INSTALL = (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"])

LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *ts);
int kill(int pid, int sig);
int getpid(void);
]]
local CLOCK_MONOTONIC, SIGINT = 1, 2
local clock = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) / 1e9
end

local total = __TOTAL__
local method, path = "__METHOD__", "__PATH__"
local fixed_headers = __HEADERS__
local tokens = __TOKENS__
local items = __ITEMS__
local key_prefix = "__KEY_PREFIX__"

-- globals: read back by done() through thread:get
sent, answered, ok, with_code, first_at, last_at, finished = 0, 0, 0, 0, 0, 0, false
statuses = {}

local threads = {}
function setup(thread) table.insert(threads, thread) end

-- wrk calls delay() before every request, and request() only in a later turn of its event loop: delay() reserves
-- the request, so that once the count is reserved a connection waits (a day) instead of sending more, and exactly
-- `total` requests go out.
-- (wrk also calls request() once before the load, to check the script: that call sends nothing.)
reserved = 0
function delay()
  if reserved >= total then return 86400000 end
  if reserved == 0 then first_at = now() end
  reserved = reserved + 1
  return 0
end

function request()
  local n = sent
  sent = sent + 1
  local headers = {}
  for k, v in pairs(fixed_headers) do headers[k] = v end
  if #items == 0 then return wrk.format(method, path, headers) end
  -- a redeem: every request with its own idempotency key, spread over the players and the items
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]
  headers["Idempotency-Key"] = key_prefix .. n
  return wrk.format(method, path, headers, '{"offer":"' .. items[(n % #items) + 1] .. '"}')
end

function response(status, headers, body)
  if finished then return end
  answered = answered + 1
  last_at = now()
  if status >= 200 and status < 300 then
    ok = ok + 1
    if #items > 0 and body and body:find('"status"%s*:%s*"COMPLETED"')
        and body:find('"fulfillment"%s*:%s*{%s*"code"%s*:%s*"[^"]') then
      with_code = with_code + 1
    end
  else
    local k = tostring(status)
    statuses[k] = (statuses[k] or 0) + 1
  end
  if answered >= total then
    finished = true
    wrk.thread:stop()
    ffi.C.kill(ffi.C.getpid(), SIGINT)   -- wakes wrk's main thread from its sleep of --duration
  end
end

function done(summary, latency, requests)
  local t = threads[1]
  local parts = {}
  for k, v in pairs(t:get("statuses")) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    '__MARK__{"sent":%d,"answered":%d,"ok":%d,"with_code":%d,"seconds":%.6f,'
    .. '"p50_us":%d,"p95_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,"statuses":{%s},'
    .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
    t:get("reserved"), t:get("answered"), t:get("ok"), t:get("with_code"), t:get("last_at") - t:get("first_at"),
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max,
    table.concat(parts, ","), e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _lua_list(values: Sequence[str]) -> str:
    return "{" + ",".join(_lua_string(v) for v in values) + "}"


def script(*, total: int, method: str, path: str, headers: dict[str, str] | None = None,
           tokens: Sequence[str] = (), items: Sequence[str] = (), key_prefix: str = "") -> str:
    """The Lua of one level: a GET of `path` (no items), or redeems spread over `tokens` and `items`."""
    fixed = "{" + ",".join(f"[{_lua_string(k)}]={_lua_string(v)}" for k, v in (headers or {}).items()) + "}"
    replacements = {"__TOTAL__": str(total), "__METHOD__": method, "__PATH__": path, "__HEADERS__": fixed,
                    "__TOKENS__": _lua_list(tokens), "__ITEMS__": _lua_list(items), "__KEY_PREFIX__": key_prefix,
                    "__MARK__": RESULT_MARK}
    text = LUA
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    return text


def find_or_install(say: Callable[[str], None]) -> tuple[str | None, str]:
    """wrk's path (installed with apt-get when missing, as root) or None, and what happened, for the report."""
    found = shutil.which("wrk")
    if found:
        return found, "found"
    if not shutil.which("apt-get") or os.geteuid() != 0:
        return None, "wrk is not installed, and apt-get cannot install it here (needs root and apt-get)"
    install, update = INSTALL
    say("wrk is missing: installing the Debian package (apt-get install -y wrk)...")
    done = subprocess.run(install, capture_output=True, text=True, check=False, timeout=600,
                          env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if done.returncode != 0:
        say("apt-get install failed; running apt-get update, then installing again...")
        subprocess.run(update, capture_output=True, text=True, check=False, timeout=600)
        done = subprocess.run(install, capture_output=True, text=True, check=False, timeout=600,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    found = shutil.which("wrk")
    if found:
        say(f"wrk installed at {found}")
        return found, "installed with apt-get"
    return None, f"apt-get could not install wrk: {(done.stderr or done.stdout).strip()[-300:]}"


def version(binary: str) -> str:
    # `wrk -v` prints its version line and exits 1.
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False, timeout=10)
    return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else "?"


@dataclass
class Wrk:
    binary: str
    base_url: str
    folder: Path            # where the scripts go (the benchmark's temporary folder)
    bound_seconds: int = 300

    async def level(self, concurrency: int, total: int, *, method: str = "GET", path: str = "/",
                    headers: dict[str, str] | None = None, tokens: Sequence[str] = (),
                    items: Sequence[str] = ()) -> Level:
        """`total` requests over `concurrency` connections; the Level's extra holds the answers by status and,
        for redeems, `answered_with_code`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex[:12]
        lua = self.folder / f"level-{name}.lua"
        connections = min(concurrency, total)
        lua.write_text(script(total=total, method=method, path=path, headers=headers, tokens=tokens, items=items,
                              key_prefix=f"bench-{name}-"))
        origin = urlsplit(self.base_url)
        proc = await asyncio.create_subprocess_exec(
            self.binary, "-t", "1", "-c", str(connections), "-d", f"{self.bound_seconds}s", "--timeout", "60s",
            "-s", str(lua), f"{origin.scheme}://{origin.netloc}{path}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), self.bound_seconds + 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"wrk did not finish a level of {total} requests in {self.bound_seconds + 30}s")
        finally:
            lua.unlink(missing_ok=True)
        line = next((ln for ln in out.decode(errors="replace").splitlines() if ln.startswith(RESULT_MARK)), None)
        if line is None:
            raise RuntimeError(f"wrk printed no result (exit {proc.returncode}): "
                               f"{out.decode(errors='replace')[-500:]} {err.decode(errors='replace')[-500:]}")
        r = json.loads(line[len(RESULT_MARK):])
        socket_errors = sum(v for k, v in r["errors"].items() if k != "status")
        answered, seconds = int(r["answered"]), float(r["seconds"])
        level = Level(concurrency=concurrency, requests=answered, ok=int(r["ok"]),
                      failed=answered - int(r["ok"]) + socket_errors, seconds=round(seconds, 3),
                      throughput=round(answered / seconds, 1) if seconds > 0 else 0.0,
                      p50_ms=round(r["p50_us"] / 1000, 2), p95_ms=round(r["p95_us"] / 1000, 2),
                      p99_ms=round(r["p99_us"] / 1000, 2), mean_ms=round(r["mean_us"] / 1000, 2))
        level.extra.update({f"status_{code}": float(n) for code, n in r["statuses"].items()})
        if socket_errors:
            level.extra["socket_errors"] = float(socket_errors)
        if items:
            level.extra["answered_with_code"] = float(r["with_code"])
        level.extra["sent"] = float(r["sent"])
        if answered < total:
            raise RuntimeError(f"wrk answered {answered} of {total} requests within {self.bound_seconds}s "
                               f"(errors {r['errors']})")
        return level
