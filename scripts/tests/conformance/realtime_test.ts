/**
 * Conformance: /realtime/v1 through supabase-js — Broadcast between clients (self, ack, REST),
 * Broadcast from the database to private channels authorised by RLS on realtime.messages,
 * protocol versions 1.0.0 and 2.0.0, and access-token refresh. Every topic starts with
 * `conformance:` and the policies these tests create apply only to such topics.
 */
import assert from "node:assert/strict";
import { createClient, type RealtimeChannel, type SupabaseClient } from "@supabase/supabase-js";
import type postgres from "postgres";
import { localKeyRing, mintToken } from "../support/mint.ts";
import { adminSql, anonClient, apiKeys, signedInClient, stackEnv } from "../support/stack_env.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** realtime-js keeps timers of its own (heartbeat, rejoin); they end with the clients. */
const realtimeTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

// --- helpers ---------------------------------------------------------------------------------

interface Received {
  event: string;
  payload: Record<string, unknown>;
  at: number;
}

/** Everything a channel receives as broadcast, plus its subscribe statuses in order. */
class Listener {
  readonly messages: Received[] = [];
  readonly statuses: { status: string; err?: Error }[] = [];
  readonly system: Record<string, unknown>[] = [];
  #wake = () => {};

  constructor(readonly channel: RealtimeChannel) {
    channel.on("broadcast", { event: "*" }, (m) => {
      this.messages.push({ event: m.event, payload: m.payload, at: performance.now() });
      this.#wake();
    });
    channel.on("system", {}, (m) => {
      this.system.push(m);
      this.#wake();
    });
  }

  /** Subscribes and resolves with the first status realtime-js reports. */
  subscribe(timeoutMs = 5000): Promise<{ status: string; err?: Error }> {
    return new Promise((resolve) => {
      this.channel.subscribe((status, err) => {
        this.statuses.push({ status, err });
        if (this.statuses.length === 1) resolve({ status, err });
        this.#wake();
      }, timeoutMs);
    });
  }

  async until<T>(what: string, probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    while (true) {
      const found = probe();
      if (found !== undefined) return found;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  message(event: string, match: (p: Record<string, unknown>) => boolean = () => true) {
    return this.until(
      `broadcast "${event}"`,
      () => this.messages.find((m) => m.event === event && match(m.payload)),
    );
  }
}

async function subscribed(channel: RealtimeChannel): Promise<Listener> {
  const listener = new Listener(channel);
  const { status, err } = await listener.subscribe();
  assert(status === "SUBSCRIBED", `subscribe ended in ${status}: ${err?.message}`);
  return listener;
}

async function closeAll(...clients: SupabaseClient[]) {
  for (const client of clients) {
    await client.removeAllChannels();
    client.realtime.disconnect();
  }
}

/**
 * A client speaking protocol `vsn`, optionally with a fixed access token — set before any join,
 * since realtime-js would otherwise join with whatever token it had resolved by then.
 */
async function clientWith(vsn: "1.0.0" | "2.0.0", token?: string): Promise<SupabaseClient> {
  const env = stackEnv();
  const client = createClient(env.SUPABASE_URL, apiKeys().publishable, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { vsn },
    ...(token ? { accessToken: () => Promise.resolve(token) } : {}),
  });
  if (token) await client.realtime.setAuth();
  return client;
}

async function accessToken(client: SupabaseClient): Promise<string> {
  const { data } = await client.auth.getSession();
  assert(data.session, "no session");
  return data.session.access_token;
}

const userTopic = (userId: string) => `conformance:user:${userId}`;

/**
 * Runs `fn` with RLS policies that let an authenticated user read and write exactly the topic
 * `conformance:user:<their id>` and only read `conformance:readonly:<their id>`, dropping them
 * (and the messages sent) afterwards.
 */
async function withUserTopicPolicies(fn: (sql: postgres.Sql) => Promise<void>) {
  const sql = adminSql();
  const suffix = crypto.randomUUID().slice(0, 8);
  const [read, write] = [`conformance_rt_read_${suffix}`, `conformance_rt_write_${suffix}`];
  const own = `realtime.topic() like 'conformance:user:%'
    and realtime.topic() = 'conformance:user:' || auth.uid()::text`;
  const readOnly = `realtime.topic() = 'conformance:readonly:' || auth.uid()::text`;
  try {
    await sql.unsafe(`create policy ${read} on realtime.messages for select to authenticated
      using ((${own}) or ${readOnly})`);
    await sql.unsafe(`create policy ${write} on realtime.messages for insert to authenticated
      with check (${own})`);
    await fn(sql);
  } finally {
    await sql.unsafe(`drop policy if exists ${read} on realtime.messages`);
    await sql.unsafe(`drop policy if exists ${write} on realtime.messages`);
    await sql`delete from realtime.messages where topic = any(${[...sentTopics]})`;
    await sql.end();
  }
}

/** Topics given to realtime.send, so their messages can be deleted afterwards. */
const sentTopics = new Set<string>();

function send(sql: postgres.Sql, topic: string, event: string, payload: unknown, priv = true) {
  sentTopics.add(topic);
  return sql`select realtime.send(${sql.json(payload as postgres.JSONValue)}, ${event}, ${topic},
    ${priv})`;
}

// --- broadcast between clients -----------------------------------------------------------------

realtimeTest("broadcast reaches the other client on a public channel, not the sender", async () => {
  const [a, b] = [anonClient(), anonClient()];
  try {
    const topic = `conformance:${crypto.randomUUID()}`;
    const sender = await subscribed(a.channel(topic));
    const receiver = await subscribed(b.channel(topic));
    const result = await sender.channel.send({
      type: "broadcast",
      event: "hello",
      payload: { n: 1, text: "grüße ✓" },
    });
    assert(result === "ok", `send returned ${result}`);
    const got = await receiver.message("hello");
    assert(got.payload.n === 1 && got.payload.text === "grüße ✓", "payload changed in transit");
    await sleep(200);
    assert(sender.messages.length === 0, "sender received its own broadcast without self");
  } finally {
    await closeAll(a, b);
  }
});

realtimeTest(
  "broadcast config self and ack: own message returns, send waits for the ack",
  async () => {
    const a = anonClient();
    try {
      const topic = `conformance:${crypto.randomUUID()}`;
      const listener = await subscribed(
        a.channel(topic, { config: { broadcast: { self: true, ack: true } } }),
      );
      const result = await listener.channel.send(
        { type: "broadcast", event: "echo", payload: { n: 7 } },
        { timeout: 3000 },
      );
      assert(result === "ok", `acknowledged send returned ${result}`);
      const got = await listener.message("echo");
      assert(got.payload.n === 7, "self message payload wrong");
    } finally {
      await closeAll(a);
    }
  },
);

realtimeTest("REST broadcast (send before subscribing, httpSend) reaches subscribers", async () => {
  const [a, b] = [anonClient(), anonClient()];
  try {
    const topic = `conformance:${crypto.randomUUID()}`;
    const receiver = await subscribed(b.channel(topic));
    const rest = a.channel(topic);
    const result = await rest.send({ type: "broadcast", event: "via-rest", payload: { n: 1 } });
    assert(result === "ok", `REST send returned ${result}`);
    await receiver.message("via-rest", (p) => p.n === 1);
    const http = await rest.httpSend("via-http", { n: 2 });
    assert(http.success, "httpSend failed");
    await receiver.message("via-http", (p) => p.n === 2);
  } finally {
    await closeAll(a, b);
  }
});

// --- broadcast from the database, private channels ------------------------------------------

realtimeTest(
  "database broadcast reaches the authorised user's private channel quickly",
  async () => {
    await withUserTopicPolicies(async (sql) => {
      const { client, userId } = await signedInClient();
      try {
        const topic = userTopic(userId);
        const listener = await subscribed(client.channel(topic, { config: { private: true } }));
        await send(sql, topic, "progress", { step: "transcribe", pct: 40 });
        const got = await listener.message("progress");
        assert(got.payload.step === "transcribe" && got.payload.pct === 40, "payload wrong");

        // broadcast_changes (what table triggers call) arrives shaped as Supabase shapes it.
        await sql`select realtime.broadcast_changes(${topic}, 'job_changed', 'UPDATE', 'jobs',
        'public', row(1, 'x')::record, row(0, 'y')::record)`;
        const change = (await listener.message("job_changed")).payload;
        assert(change.operation === "UPDATE" && change.table === "jobs", "change shape wrong");
        assert((change.record as { f1: number }).f1 === 1, "record missing");
        assert((change.old_record as { f1: number }).f1 === 0, "old_record missing");

        const latencies: number[] = [];
        for (let i = 0; i < 30; i++) {
          const t0 = performance.now();
          await send(sql, topic, "latency", { i });
          const m = await listener.message("latency", (p) => p.i === i);
          latencies.push(m.at - t0);
        }
        latencies.sort((x, y) => x - y);
        const p50 = latencies[Math.floor(latencies.length / 2)];
        const p95 = latencies[Math.floor(latencies.length * 0.95)];
        console.log(
          `database → subscriber latency over ${latencies.length}: p50 ${p50.toFixed(1)} ms, ` +
            `p95 ${p95.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`,
        );
        assert(p50 <= 100, `p50 latency ${p50} ms above 100 ms`);
      } finally {
        await closeAll(client);
      }
    });
  },
);

realtimeTest(
  "an unauthorised user cannot join another user's private topic nor see its messages",
  async () => {
    await withUserTopicPolicies(async (sql) => {
      const [owner, other] = [await signedInClient(), await signedInClient()];
      const [anon, bystander] = [anonClient(), anonClient()];
      try {
        const topic = userTopic(owner.userId);
        const legit = await subscribed(owner.client.channel(topic, { config: { private: true } }));

        const intruder = new Listener(other.client.channel(topic, { config: { private: true } }));
        const denied = await intruder.subscribe();
        assert(denied.status === "CHANNEL_ERROR", `intruder's subscribe ended in ${denied.status}`);
        assert(
          /permissions to read/i.test(denied.err?.message ?? ""),
          `unexpected reason: ${denied.err?.message}`,
        );
        const anonymous = new Listener(anon.channel(topic, { config: { private: true } }));
        assert(
          (await anonymous.subscribe()).status === "CHANNEL_ERROR",
          "anon joined a private topic",
        );
        // The public channel of the same name is another room: private messages never reach it.
        // (A second client: supabase-js hands out one channel object per topic and client.)
        const publicRoom = await subscribed(bystander.channel(topic));

        await send(sql, topic, "secret", { n: 1 });
        await send(sql, topic, "secret", { n: 2 });
        await legit.message("secret", (p) => p.n === 2);
        await sleep(300);
        for (const l of [intruder, anonymous, publicRoom]) {
          assert(l.messages.length === 0, "a private message leaked to an unauthorised channel");
        }
      } finally {
        await closeAll(owner.client, other.client, anon, bystander);
      }
    });
  },
);

realtimeTest("a private channel may broadcast only where the user may write", async () => {
  await withUserTopicPolicies(async () => {
    const { client, userId } = await signedInClient();
    const token = await accessToken(client);
    const second = await clientWith("2.0.0", token);
    try {
      const config = { private: true, broadcast: { self: true, ack: true } };
      const own = await subscribed(client.channel(userTopic(userId), { config }));
      assert(
        await own.channel.send({ type: "broadcast", event: "mine", payload: {} }) === "ok",
        "send on a writable topic was not acknowledged",
      );
      await own.message("mine");

      const topic = `conformance:readonly:${userId}`;
      const readOnly = await subscribed(client.channel(topic, { config }));
      const watcher = await subscribed(second.channel(topic, { config: { private: true } }));
      const result = await readOnly.channel.send({ type: "broadcast", event: "nope", payload: {} });
      assert(result === "error", `send on a read-only topic returned ${result}`);
      await sleep(200);
      assert(readOnly.messages.length + watcher.messages.length === 0, "unwritable send delivered");
    } finally {
      await closeAll(client, second);
    }
  });
});

realtimeTest("binary payloads pass through between vsn 2.0.0 clients", async () => {
  const [a, b] = [anonClient(), anonClient()];
  try {
    const topic = `conformance:${crypto.randomUUID()}`;
    const sender = await subscribed(a.channel(topic));
    const receiver = new Listener(b.channel(topic));
    let bytes: Uint8Array | undefined;
    receiver.channel.on("broadcast", { event: "bytes" }, (m) => {
      bytes = new Uint8Array(m.payload as ArrayBuffer);
    });
    assert((await receiver.subscribe()).status === "SUBSCRIBED", "receiver not subscribed");
    const sent = new Uint8Array([0, 1, 2, 250, 255]);
    await sender.channel.send({ type: "broadcast", event: "bytes", payload: sent.buffer });
    await receiver.message("bytes");
    assert(bytes && bytes.join() === sent.join(), `bytes changed: ${bytes?.join()}`);
  } finally {
    await closeAll(a, b);
  }
});

realtimeTest("a rolled back realtime.send is never delivered", async () => {
  await withUserTopicPolicies(async (sql) => {
    const { client, userId } = await signedInClient();
    try {
      const topic = userTopic(userId);
      const listener = await subscribed(client.channel(topic, { config: { private: true } }));
      await sql.begin(async (tx) => {
        await send(tx as unknown as postgres.Sql, topic, "rolled-back", { n: 1 });
        await tx`select 1/0`;
      }).catch(() => null);
      await send(sql, topic, "committed", { n: 2 });
      await listener.message("committed");
      await sleep(200);
      assert(!listener.messages.some((m) => m.event === "rolled-back"), "rolled back send arrived");
    } finally {
      await closeAll(client);
    }
  });
});

// --- protocol versions -------------------------------------------------------------------------

realtimeTest(
  "vsn 1.0.0 and 2.0.0 clients talk to each other and get database broadcasts",
  async () => {
    await withUserTopicPolicies(async (sql) => {
      const { client, userId } = await signedInClient();
      const token = await accessToken(client);
      const [v1, v2] = [await clientWith("1.0.0", token), await clientWith("2.0.0", token)];
      try {
        assert(v1.realtime.vsn === "1.0.0" && v2.realtime.vsn === "2.0.0", "vsn option ignored");
        const topic = `conformance:${crypto.randomUUID()}`;
        const one = await subscribed(v1.channel(topic));
        const two = await subscribed(v2.channel(topic));
        await one.channel.send({ type: "broadcast", event: "from-v1", payload: { n: 1 } });
        await two.channel.send({ type: "broadcast", event: "from-v2", payload: { n: 2 } });
        await two.message("from-v1", (p) => p.n === 1);
        await one.message("from-v2", (p) => p.n === 2);

        const own = userTopic(userId);
        const private1 = await subscribed(v1.channel(own, { config: { private: true } }));
        await send(sql, own, "db", { n: 3 });
        await private1.message("db", (p) => p.n === 3);
      } finally {
        await closeAll(v1, v2, client);
      }
    });
  },
);

realtimeTest(
  "raw vsn 1.0.0 socket: heartbeat, join reply and broadcast frames as objects",
  async () => {
    const env = stackEnv();
    const url = new URL("/realtime/v1/websocket", env.SUPABASE_URL.replace(/^http/, "ws"));
    url.searchParams.set("apikey", apiKeys().publishable);
    url.searchParams.set("vsn", "1.0.0");
    const ws = new WebSocket(url);
    const frames: Record<string, unknown>[] = [];
    let wake = () => {};
    ws.onmessage = (e) => {
      frames.push(JSON.parse(e.data));
      wake();
    };
    const next = async (pred: (f: Record<string, unknown>) => boolean) => {
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        const found = frames.find(pred);
        if (found) return found;
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
      throw new Error("timed out waiting for a frame");
    };
    try {
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = reject;
      });
      ws.send(JSON.stringify({ topic: "phoenix", event: "heartbeat", payload: {}, ref: "1" }));
      const beat = await next((f) => f.ref === "1");
      assert(beat.event === "phx_reply" && beat.topic === "phoenix", "heartbeat not answered");
      assert((beat.payload as { status: string }).status === "ok", "heartbeat status not ok");

      const topic = `realtime:conformance:${crypto.randomUUID()}`;
      ws.send(JSON.stringify({
        topic,
        event: "phx_join",
        ref: "2",
        join_ref: "2",
        payload: { config: { broadcast: { self: true }, presence: { key: "" }, private: false } },
      }));
      const joined = await next((f) => f.ref === "2");
      const reply = joined.payload as { status: string; response: Record<string, unknown> };
      assert(reply.status === "ok", `join replied ${JSON.stringify(reply)}`);
      assert(Array.isArray(reply.response.postgres_changes), "join reply lacks postgres_changes");

      ws.send(JSON.stringify({
        topic,
        event: "broadcast",
        ref: "3",
        join_ref: "2",
        payload: { type: "broadcast", event: "raw", payload: { n: 1 } },
      }));
      const echoed = await next((f) => f.event === "broadcast");
      assert(echoed.topic === topic, "broadcast frame on wrong topic");
      const body = echoed.payload as { type: string; event: string; payload: { n: number } };
      assert(
        body.type === "broadcast" && body.event === "raw" && body.payload.n === 1,
        "bad frame",
      );
    } finally {
      ws.close();
    }
  },
);

// --- access tokens ----------------------------------------------------------------------------

realtimeTest(
  "setAuth: a fresh token keeps the channel, another user's token closes it",
  async () => {
    await withUserTopicPolicies(async (sql) => {
      const { client, userId } = await signedInClient();
      const other = await signedInClient();
      try {
        const topic = userTopic(userId);
        const listener = await subscribed(client.channel(topic, { config: { private: true } }));

        const { data, error } = await client.auth.refreshSession();
        assert(!error && data.session, `refresh failed: ${error?.message}`);
        await client.realtime.setAuth(data.session.access_token);
        await send(sql, topic, "after-refresh", { n: 1 });
        await listener.message("after-refresh");

        await client.realtime.setAuth(await accessToken(other.client));
        const notice = await listener.until("system error", () => listener.system.at(-1));
        assert(notice.status === "error", `system message ${JSON.stringify(notice)}`);
        assert(/permissions to read/i.test(String(notice.message)), `reason: ${notice.message}`);
        await listener.until("CLOSED", () => listener.statuses.find((s) => s.status === "CLOSED"));
        await send(sql, topic, "after-swap", { n: 2 });
        await sleep(300);
        assert(!listener.messages.some((m) => m.event === "after-swap"), "closed channel received");
      } finally {
        await closeAll(client, other.client);
      }
    });
  },
);

// Minting a short-lived token needs the private signing key: only the local stack has it;
// without it the test is reported as ignored, not as passed.
const localKeys = await localKeyRing();

Deno.test({
  name: "an access token that expires closes its channel with a system error",
  ignore: localKeys === null,
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const token = (await mintToken({ role: "anon" }, 2))!;
  const client = await clientWith("2.0.0", token);
  try {
    const listener = await subscribed(client.channel(`conformance:${crypto.randomUUID()}`));
    const notice = await listener.until("expiry notice", () => listener.system.at(-1), 6000);
    assert(notice.status === "error" && /expired/i.test(String(notice.message)), "no notice");
    await listener.until("CLOSED", () => listener.statuses.find((s) => s.status === "CLOSED"));
  } finally {
    await closeAll(client);
  }
});
