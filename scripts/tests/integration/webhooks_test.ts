/**
 * Integration: completion webhooks as a receiver sees them. A local HTTP receiver verifies every
 * request with the `standardwebhooks` package (the Standard Webhooks reference library) using
 * the secret its owner read through `webhook_secret()`; it answers the first attempt of a
 * completed job's event with 500, which must be retried and then delivered once; a job that
 * fails sends a `job.failed` event; the owner sees each delivery with its attempts, another
 * user sees none; and with the hosted setting, loopback URLs are refused at submission.
 *
 * Loopback targets need `private.webhook_settings.allow_private_urls` (off by default, as on a
 * hosted project): this test turns it on for its run. deliver_webhooks is pg_cron's every
 * minute; the test calls it every 300 ms instead, with a 1 s backoff base.
 */
import { Webhook } from "standardwebhooks";
import { makeM4a, makeSpeech } from "../../ship/asr/fixtures.ts";
import { adminSql, signedInClient } from "../support/stack_env.ts";
import {
  assert,
  assertEngineError,
  mediaHash,
  randomSha256,
  upload,
  waitForJob,
} from "../support/submissions.ts";

interface Received {
  path: string;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The payload when the signature verified, else null. */
  verified: { type: string; data: Record<string, unknown> } | null;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test("webhooks: signed events, a 500 retried then delivered once, a failed job's event", async () => {
  const sql = adminSql();
  const [saved] = await sql`select * from private.webhook_settings`;
  await sql`update private.webhook_settings
               set allow_private_urls = true, backoff_base_seconds = 1, timeout_ms = 2000`;
  const received: Received[] = [];
  const verifiers = new Map<string, Webhook>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const body = await req.text();
    const headers = Object.fromEntries(req.headers);
    let verified: Received["verified"] = null;
    try {
      verified = verifiers.get(path)?.verify(body, headers) as Received["verified"];
    } catch {
      verified = null;
    }
    const id = headers["webhook-id"];
    received.push({
      path,
      id,
      timestamp: headers["webhook-timestamp"],
      signature: headers["webhook-signature"],
      body,
      verified,
    });
    const attempt = received.filter((r) => r.id === id).length;
    return new Response(null, { status: path === "/flaky" && attempt === 1 ? 500 : 204 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  let ticking = true;
  const ticker = (async () => {
    while (ticking) {
      await sql`select public.deliver_webhooks()`.catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  const dir = await Deno.makeTempDir();
  try {
    const { client, userId } = await signedInClient();
    const { data: secret, error: secretError } = await client.rpc("webhook_secret");
    assert(!secretError && typeof secret === "string", `webhook_secret: ${secretError?.message}`);
    assert(/^whsec_[A-Za-z0-9+/=]{40,}$/.test(secret), `secret format: ${secret}`);
    const { data: again } = await client.rpc("webhook_secret");
    assert(again === secret, "reading the secret twice gives the same secret");
    verifiers.set("/flaky", new Webhook(secret));
    verifiers.set("/failed", new Webhook(secret));

    // A job that completes, its receiver failing the first attempt.
    await makeSpeech("The boats went down the river before the evening rain.", `${dir}/s.wav`);
    await makeM4a(`${dir}/s.wav`, `${dir}/chunk.m4a`);
    const audio = await Deno.readFile(`${dir}/chunk.m4a`);
    const path = `${userId}/${crypto.randomUUID()}/talk.m4a`;
    await upload(client, path, audio, "audio/mp4");
    const { data: job, error } = await client.from("jobs").insert({
      filename: "talk.m4a",
      media: { path, bytes: audio.length, sha256: await mediaHash(audio) },
      options: { language: "en", webhook_url: `${base}/flaky` },
    }).select().single();
    assert(!error && job, `insert: ${error?.message}`);
    const done = await waitForJob(client, job.id, 180_000);
    assert(done.status === "completed", `job ${done.status} ${done.error_code}`);

    const delivered = await until("the retried delivery", 30_000, async () => {
      const { data } = await client.from("webhook_deliveries").select("*").eq("job_id", job.id);
      return data?.length === 1 && data[0].status === "delivered" ? data[0] : null;
    });
    // Two more passes of deliver_webhooks: a delivered event is not sent again.
    await new Promise((r) => setTimeout(r, 1500));
    const flaky = received.filter((r) => r.path === "/flaky");
    assert(flaky.length === 2, `expected 2 attempts (500, then 2xx), got ${flaky.length}`);
    assert(flaky.every((r) => r.verified), "every attempt carries a valid signature");
    assert(flaky[0].id === flaky[1].id && flaky[0].id === delivered.id, "one webhook-id");
    const event = flaky[1].verified!;
    assert(event.type === "job.completed", `type ${event.type}`);
    assert(event.data.job_id === job.id && event.data.status === "completed", "event data");
    const outputs = event.data.outputs as { language: string; format: string }[];
    assert(outputs.some((o) => o.format === "srt"), `outputs ${JSON.stringify(outputs)}`);
    assert(delivered.attempts === 2, `attempts ${delivered.attempts}`);
    const log = delivered.attempt_log as { status_code?: number }[];
    assert(
      log.length === 2 && log[0].status_code === 500 && log[1].status_code === 204,
      `attempt log ${JSON.stringify(log)}`,
    );
    // A tampered body or another secret does not verify.
    let forged = true;
    try {
      new Webhook(secret).verify(flaky[1].body.replace("completed", "failed"), {
        "webhook-id": flaky[1].id,
        "webhook-timestamp": flaky[1].timestamp,
        "webhook-signature": flaky[1].signature,
      });
    } catch {
      forged = false;
    }
    assert(!forged, "a tampered event must not verify");

    // A job that fails: its event says so, with the stable code.
    const broken = `${userId}/${crypto.randomUUID()}/broken.wav`;
    await upload(client, broken, new TextEncoder().encode("not audio at all"), "audio/wav");
    const { data: bad, error: badError } = await client.from("jobs").insert({
      filename: "broken.wav",
      media: { path: broken, bytes: 16, sha256: randomSha256(), duration: 10 },
      options: { webhook_url: `${base}/failed` },
    }).select().single();
    assert(!badError && bad, `insert: ${badError?.message}`);
    const failedJob = await waitForJob(client, bad.id, 120_000);
    assert(failedJob.status === "failed", `job ${failedJob.status}`);
    const failedEvent = await until(
      "the failed job's event",
      30_000,
      () => Promise.resolve(received.find((r) => r.path === "/failed") ?? null),
    );
    assert(failedEvent.verified, "the failed job's event verifies");
    assert(failedEvent.verified.type === "job.failed", `type ${failedEvent.verified.type}`);
    assert(
      failedEvent.verified.data.job_id === bad.id &&
        failedEvent.verified.data.error_code === failedJob.error_code,
      `failed event data ${failedEvent.body}`,
    );

    // Another user sees none of these deliveries.
    const other = await signedInClient();
    const { data: foreign } = await other.client.from("webhook_deliveries").select("id");
    assert(foreign?.length === 0, `another user sees ${foreign?.length} deliveries`);

    // Rotation: a new secret; events signed with it do not verify with the old one.
    const { data: rotated } = await client.rpc("rotate_webhook_secret");
    assert(typeof rotated === "string" && rotated !== secret, "rotate gives a new secret");
    const { data: current } = await client.rpc("webhook_secret");
    assert(current === rotated, "the rotated secret is the current one");

    // The hosted setting: loopback and plain http are refused at submission.
    await sql`update private.webhook_settings set allow_private_urls = false`;
    for (
      const url of [`${base}/x`, "https://127.0.0.1/x", "https://2130706433/", "https://localhost/"]
    ) {
      const { error: refused } = await client.from("jobs").insert({
        filename: "x.wav",
        media: { path, bytes: audio.length, sha256: randomSha256() },
        options: { webhook_url: url },
      });
      assertEngineError(refused, "invalid_webhook_url", "PT400", url);
    }
  } finally {
    ticking = false;
    await ticker;
    await sql`update private.webhook_settings set ${
      sql(saved, "allow_private_urls", "backoff_base_seconds", "timeout_ms")
    }`;
    await sql.end();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
