/**
 * Conformance: pg_net's SQL API. Requests leave only after commit, never after rollback;
 * outcomes land in net._http_response. Stack-only (a hosted pg_net cannot reach this
 * machine's loopback test server).
 */
import assert from "node:assert/strict";
import { adminSql } from "../support/stack_env.ts";

interface Seen {
  method: string;
  path: string;
  body: string;
  headers: Headers;
  at: number;
}

function testServer(delayMs = 0) {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    seen.push({
      method: req.method,
      path: new URL(req.url).pathname + new URL(req.url).search,
      body: await req.text(),
      headers: req.headers,
      at: performance.now(),
    });
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return Response.json({ ok: true }, { status: 201 });
  });
  return { seen, url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

async function responseFor(sql: ReturnType<typeof adminSql>, id: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [row] = await sql`select * from net._http_response where id = ${id}`;
    if (row) return row;
    await new Promise((r) => setTimeout(r, 25));
  }
  return null;
}

Deno.test("pg_net: create extension pg_net succeeds and http_post goes out after commit", async () => {
  const sql = adminSql();
  const server = testServer();
  try {
    await sql`create extension if not exists pg_net`;
    const t0 = performance.now();
    const [{ id }] = await sql`
      select net.http_post(
        url := ${server.url + "/hook"},
        body := '{"task_id": 42}'::jsonb,
        params := '{"a": "b c"}'::jsonb,
        headers := '{"Content-Type": "application/json", "X-Test": "yes"}'::jsonb
      ) as id`;
    const row = await responseFor(sql, String(id));
    assert(row, "no response recorded");
    assert(row.status_code === 201, `status ${row.status_code}`);
    assert(JSON.parse(row.content).ok === true, `content ${row.content}`);
    assert(server.seen.length === 1, `requests: ${server.seen.length}`);
    const [req] = server.seen;
    assert(req.method === "POST" && req.path === "/hook?a=b%20c", `${req.method} ${req.path}`);
    assert(JSON.parse(req.body).task_id === 42, `body ${req.body}`);
    assert(req.headers.get("x-test") === "yes", "header missing");
    console.log(`commit to delivery: ${(req.at - t0).toFixed(1)} ms`);
  } finally {
    await server.close();
    await sql.end();
  }
});

Deno.test("pg_net: a request made in a rolled back transaction never leaves", async () => {
  const sql = adminSql();
  const server = testServer();
  try {
    const id = await sql.begin(async (tx) => {
      const [row] = await tx`select net.http_get(${server.url + "/never"}) as id`;
      await tx`select 1/0`; // abort the transaction
      return row.id;
    }).catch(() => "rolled back");
    assert(id === "rolled back", "transaction should have failed");
    // A committed request after it proves the worker was awake and would have sent it.
    const [{ id: later }] = await sql`select net.http_get(${server.url + "/later"}) as id`;
    assert(await responseFor(sql, String(later)), "later request not delivered");
    await new Promise((r) => setTimeout(r, 200));
    assert(server.seen.every((s) => s.path !== "/never"), "rolled back request was sent");
  } finally {
    await server.close();
    await sql.end();
  }
});

Deno.test("pg_net: timeouts and refused connections are recorded, not lost", async () => {
  const sql = adminSql();
  const slow = testServer(1000);
  const closed = testServer();
  await closed.close();
  try {
    const [{ id: t }] = await sql`
      select net.http_get(${slow.url + "/slow"}, timeout_milliseconds := 100) as id`;
    const [{ id: r }] = await sql`select net.http_delete(${closed.url + "/gone"}) as id`;
    const timedOut = await responseFor(sql, String(t));
    const refused = await responseFor(sql, String(r));
    assert(timedOut?.timed_out === true && timedOut.status_code === null, "timeout not recorded");
    assert(refused?.error_msg && refused.status_code === null, "refusal not recorded");
  } finally {
    await slow.close();
    await sql.end();
  }
});

Deno.test("vault: create_secret stores it encrypted and decrypted_secrets reads it back", async () => {
  const sql = adminSql();
  const name = `conformance_${crypto.randomUUID()}`;
  try {
    await sql`select vault.create_secret('s3cr3t-value', ${name}, 'test')`;
    const [row] =
      await sql`select secret, decrypted_secret from vault.decrypted_secrets where name = ${name}`;
    assert(row.decrypted_secret === "s3cr3t-value", "decryption failed");
    assert(!String(row.secret).includes("s3cr3t"), "stored in clear");
  } finally {
    await sql`delete from vault.secrets where name = ${name}`;
    await sql.end();
  }
});
