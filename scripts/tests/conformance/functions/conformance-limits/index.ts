// Test-only function (served by the test stack): goes over a hosted limit on request, in the
// background after answering 202 as the step functions work, so the runtime must kill it.
//   ?alloc_mb=N   holds N MB of array buffers, 8 MB every 20 ms
//   ?heap_mb=N    holds N MB of JS objects (V8 heap), 8 MB every 20 ms
//   ?cpu_ms=N     computes for N ms of CPU time, in 50 ms slices between timers
import { cpuUsage } from "node:process";

declare const EdgeRuntime: { waitUntil(p: Promise<unknown>): void };

const held: unknown[] = [];
const tick = () => new Promise((r) => setTimeout(r, 20));

async function alloc(mb: number) {
  for (let done = 0; done < mb; done += 8) {
    const buffer = new Uint8Array(8 * 1024 * 1024);
    buffer.fill(1); // touched, so resident
    held.push(buffer);
    await tick();
  }
}

async function heap(mb: number) {
  for (let done = 0; done < mb; done += 8) {
    // About 8 MB of small arrays of numbers.
    held.push(Array.from({ length: 8 * 1024 }, (_, i) => Array(120).fill(i + 0.5)));
    await tick();
  }
}

const cpuMs = () => (cpuUsage().user + cpuUsage().system) / 1000;

async function cpu(ms: number) {
  const start = cpuMs();
  let x = 0;
  while (cpuMs() - start < ms) {
    const slice = performance.now();
    while (performance.now() - slice < 50) x += Math.sqrt(x + 1);
    await new Promise((r) => setTimeout(r, 0));
  }
  return x;
}

Deno.serve((req) => {
  const q = new URL(req.url).searchParams;
  const work = q.has("alloc_mb")
    ? alloc(Number(q.get("alloc_mb")))
    : q.has("heap_mb")
    ? heap(Number(q.get("heap_mb")))
    : q.has("cpu_ms")
    ? cpu(Number(q.get("cpu_ms")))
    : Promise.resolve();
  EdgeRuntime.waitUntil(work.then(() => held.splice(0)));
  return Response.json({ pid: Deno.pid }, { status: 202 });
});
