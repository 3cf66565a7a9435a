/**
 * Security, end to end through supabase-js (and raw HTTP where a client library would refuse to
 * send the request): user A cannot read, change, delete, list, subscribe to or download anything
 * of user B's — REST, RPC, Storage (signed URLs and TUS included), Realtime topics, share links;
 * the publishable key and user tokens cannot call the step functions or the worker's SQL entry points;
 * forged columns are refused; the product's `media` bucket refuses oversized, wrong-MIME and
 * path-traversal uploads; no secret key, service-role key, JWT secret or private signing
 * key is shipped in web/dist.
 *
 * SQL-level twins of a few of these live in supabase/tests/database (grants, policies); here the
 * same rules are proven through the gateway a real client talks to.
 */
import { STORAGE_OBJECT_BYTES } from "../../../supabase/functions/_shared/engine/limits.ts";
import type { SupabaseClient } from "@supabase/supabase-js";
import { Buffer } from "node:buffer";
import * as tus from "tus-js-client";
import { SignJWT } from "jose";
import { makeWav } from "../fakes/deterministic.ts";
import { subscribeStatus } from "../support/realtime.ts";
import { stackConfig } from "../../stack/config.ts";
import { join } from "node:path";
import { buildWeb } from "../../ship/web_build.ts";
import type { Json } from "../../../supabase/functions/_shared/database.types.ts";
import {
  adminSql,
  anonClient,
  apiKeys,
  signedInUser,
  stackEnv,
  untyped,
} from "../support/stack_env.ts";
import { localKeyRing, mintToken } from "../support/mint.ts";
import {
  assert,
  assertEngineError,
  manifestOf,
  randomSha256,
  submit,
  upload,
  waitForJob,
} from "../support/submissions.ts";

const MiB = 1024 * 1024;

/** Status of a TUS creation (no bytes sent with it) for this object. */
async function tusCreate(
  token: string,
  name: string,
  length: number,
  contentType = "audio/wav",
): Promise<number> {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const res = await fetch(`${stackEnv().SUPABASE_URL}/storage/v1/upload/resumable`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "tus-resumable": "1.0.0",
      "upload-length": String(length),
      "upload-metadata": `bucketName ${b64("media")},objectName ${b64(name)},contentType ${
        b64(contentType)
      }`,
    },
  });
  await res.body?.cancel();
  return res.status;
}

/** A whole TUS upload with tus-js-client, as the web app sends one; resolves to the status. */
function tusUpload(token: string, name: string, bytes: Uint8Array, contentType: string) {
  return new Promise<number | undefined>((resolve) => {
    const up = new tus.Upload(Buffer.from(bytes), {
      endpoint: `${stackEnv().SUPABASE_URL}/storage/v1/upload/resumable`,
      retryDelays: null,
      chunkSize: 6 * MiB,
      uploadDataDuringCreation: false,
      removeFingerprintOnSuccess: true,
      headers: { authorization: `Bearer ${token}`, "x-upsert": "false" },
      metadata: { bucketName: "media", objectName: name, contentType, cacheControl: "3600" },
      onError: (e) => resolve((e as tus.DetailedError).originalResponse?.getStatus()),
      onSuccess: () => resolve(200),
    });
    up.start();
  });
}

/**
 * A standard upload that only declares its size: the status line the gateway answers before
 * reading a body (raw HTTP/1.1, since fetch computes Content-Length itself).
 */
async function declaredSizeUploadStatus(token: string, name: string, length: number) {
  const url = new URL(stackEnv().SUPABASE_URL);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  try {
    const path = `/storage/v1/object/media/${name.split("/").map(encodeURIComponent).join("/")}`;
    const head =
      `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: audio/wav\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(head));
    await conn.write(new Uint8Array(1024));
    const buf = new Uint8Array(4096);
    const n = await Promise.race([
      conn.read(buf),
      new Promise<null>((r) => setTimeout(() => r(null), 10_000)),
    ]);
    const line = new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
    return Number(line.split(" ")[1]);
  } finally {
    conn.close();
  }
}

async function closeRealtime(...clients: SupabaseClient[]) {
  for (const c of clients) {
    await c.removeAllChannels();
    c.realtime.disconnect();
  }
}

/** Functions a signed-in user may call (they check ownership themselves): tested apart. */
const USER_FUNCTIONS = new Set(["revise"]);

async function stepFunctionNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(join(stackConfig().root, "supabase/functions"))) {
    if (e.isDirectory && !e.name.startsWith("_") && !e.name.startsWith(".")) names.push(e.name);
  }
  names.splice(0, names.length, ...names.filter((n) => !USER_FUNCTIONS.has(n)));
  return names.sort();
}

Deno.test({
  name: "security: one user cannot reach another user's jobs, outputs, media or topics",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const sql = adminSql();
    const a = await signedInUser();
    const b = await signedInUser();
    const anon = anonClient();

    // B's world: a chunk and a manifest in B's folder, a job that has ended (its manifest names a
    // chunk that was never uploaded, so prepare fails it at once), and an output row standing
    // for the subtitles of a finished job.
    const folder = `${b.id}/${crypto.randomUUID()}`;
    const chunk = makeWav(2);
    await upload(b.client, `${folder}/chunk-000.wav`, chunk, "audio/wav");
    const sha = randomSha256();
    await upload(
      b.client,
      `${folder}/manifest.json`,
      manifestOf({ filename: "b.mp4", bytes: chunk.length, sha256: sha, duration: 4 }, [
        { index: 0, path: `${folder}/chunk-000.wav`, start: 0, end: 2, overlap_before: 0 },
        { index: 1, path: `${folder}/chunk-001.wav`, start: 2, end: 4, overlap_before: 0 },
      ]),
      "application/json",
    );
    const submitted = await submit(b.client, {
      filename: "b.mp4",
      media: { path: `${folder}/manifest.json`, bytes: chunk.length, sha256: sha, duration: 4 },
    });
    assert(submitted.job, `B's submission failed: ${submitted.error?.message}`);
    const bJob = await waitForJob(b.client, submitted.job.id);
    await sql`insert into public.job_outputs (job_id, language, format, content)
              values (${bJob.id}, 'en', 'srt', '1\n00:00:00,000 --> 00:00:01,000\nB only\n')`;
    const snapshot = async () => {
      const [row] = await sql`select status, error_code, deleted_at, expires_at, updated_at,
          (select count(*)::int from public.job_outputs o where o.job_id = j.id) as outputs,
          (select count(*)::int from private.viewers v where v.job_id = j.id) as viewers,
          (select count(*)::int from storage.objects s where s.name like ${
        folder + "/%"
      }) as objects
        from public.jobs j where j.id = ${bJob.id}`;
      return JSON.stringify(row);
    };
    const before = await snapshot();
    assert(JSON.parse(before).outputs === 1 && JSON.parse(before).objects === 2, before);

    try {
      await t.step("REST: A reads, counts, changes and deletes none of B's rows", async () => {
        const byId = await a.client.from("jobs").select("*").eq("id", bJob.id);
        assert(!byId.error && byId.data.length === 0, "A read B's job");
        const all = await a.client.from("jobs").select("id, owner_id");
        assert(!all.error && all.data.every((r) => r.owner_id === a.id), "A listed B's jobs");
        const counted = await a.client.from("jobs").select("*", { count: "exact", head: true })
          .eq("owner_id", b.id);
        assert(counted.count === 0, `A counted ${counted.count} of B's jobs`);
        const outputs = await a.client.from("job_outputs").select("*").eq("job_id", bJob.id);
        assert(!outputs.error && outputs.data.length === 0, "A read B's outputs");
        const allOutputs = await a.client.from("job_outputs").select("job_id");
        assert(allOutputs.data?.every((o) => o.job_id !== bJob.id), "A listed B's outputs");

        const upd = await a.client.from("jobs").update({ filename: "mine" }).eq("id", bJob.id);
        assert(upd.error?.code === "42501", `update: ${upd.status} ${upd.error?.code}`);
        const del = await a.client.from("jobs").delete().eq("id", bJob.id);
        assert(del.error?.code === "42501", `delete: ${del.status} ${del.error?.code}`);
        const outDel = await a.client.from("job_outputs").delete().eq("job_id", bJob.id);
        assert(outDel.error?.code === "42501", `outputs delete: ${outDel.error?.code}`);
        const outUpd = await a.client.from("job_outputs").update({ content: "x" })
          .eq("job_id", bJob.id);
        assert(outUpd.error?.code === "42501", `outputs update: ${outUpd.error?.code}`);
        const upsert = await a.client.from("jobs").upsert({
          id: bJob.id,
          filename: "taken",
          media: bJob.media as NonNullable<Json>,
          options: {},
        });
        assert(upsert.error?.code === "42501", `upsert over B's id: ${upsert.error?.code}`);

        const anonRead = await anon.from("jobs").select("*");
        assert(anonRead.status === 401 && anonRead.error?.code === "42501", "anon read jobs");
        const anonOutputs = await anon.from("job_outputs").select("*");
        assert(anonOutputs.status === 401, `anon read outputs: ${anonOutputs.status}`);
        const hidden = await untyped(a.client).schema("private").from("tasks").select("*");
        assert(hidden.error?.code === "PGRST106", `private schema exposed: ${hidden.error?.code}`);
        assert((await snapshot()) === before, "B's job changed");
      });

      await t.step("REST: forged columns are refused and write nothing", async () => {
        const own = `${a.id}/${crypto.randomUUID()}/x.wav`;
        const base = {
          filename: "forged.wav",
          media: { path: own, bytes: 10, sha256: randomSha256() },
          options: {},
        };
        const forged: Record<string, unknown> = {
          id: crypto.randomUUID(),
          owner_id: b.id,
          status: "completed",
          progress: 100,
          stage: "render",
          stage_message: "Done",
          error_code: "internal",
          cached_from: bJob.id,
          expires_at: "2999-01-01T00:00:00Z",
          deleted_at: null,
          created_at: "2000-01-01T00:00:00Z",
          attempts: 0,
        };
        const [{ n: n0 }] = await sql`select count(*)::int as n from public.jobs
          where owner_id in (${a.id}, ${b.id})`;
        for (const [column, value] of Object.entries(forged)) {
          const res = await a.client.from("jobs").insert({ ...base, [column]: value });
          assert(res.error?.code === "42501", `forged ${column}: ${res.status} ${res.error?.code}`);
        }
        const output = await a.client.from("job_outputs").insert({
          job_id: bJob.id,
          language: "en",
          format: "srt",
          content: "x",
        });
        assert(output.error?.code === "42501", `forged output: ${output.error?.code}`);
        const [{ n }] = await sql`select count(*)::int as n from public.jobs
          where owner_id in (${a.id}, ${b.id})`;
        assert(n === n0, `forged inserts wrote ${n - n0} rows`);
      });

      await t.step("RPC: every user action on B's job answers not_found", async () => {
        for (
          const fn of [
            "cancel_job",
            "retry_job",
            "delete_job",
            "share_job",
            "estimate_job",
          ] as const
        ) {
          const { error } = await a.client.rpc(fn, { job_id: bJob.id });
          // not_found, never invalid_state: A must not even learn that the job exists.
          assertEngineError(error, "not_found", "PT404", `${fn} on B's job`);
          const asAnon = await anon.rpc(fn, { job_id: bJob.id });
          assert(asAnon.error?.code === "42501", `anon ${fn}: ${asAnon.error?.code}`);
        }
        const wrong = await a.client.rpc("open_shared_job", { token: "0".repeat(48) });
        assertEngineError(wrong.error, "share_not_found", "PT404", "a wrong share token");
        const empty = await a.client.rpc("open_shared_job", { token: "" });
        assertEngineError(empty.error, "share_not_found", "PT404", "an empty share token");
        const stats = await a.client.rpc("my_stats");
        const total = (stats.data as { total?: number } | null)?.total;
        assert(!stats.error && total === 0, `A's stats count B: ${total}`);
        assert((await snapshot()) === before, "B's job changed");
      });

      await t.step("RPC: the worker's SQL entry points refuse anon and users", async () => {
        const [task] = await sql`select id from private.tasks where job_id = ${bJob.id} limit 1`;
        const lease = crypto.randomUUID();
        const calls: [string, Record<string, unknown>][] = [
          ["claim_task", { task_id: task.id }],
          ["heartbeat_task", { task_id: task.id, lease, progress: 0.5, message: "x" }],
          ["complete_task", { task_id: task.id, lease, output: {} }],
          ["fail_task", {
            task_id: task.id,
            lease,
            error_code: "internal",
            message: "x",
            retryable: false,
          }],
          ["release_task", { task_id: task.id, lease, reason: "x" }],
          ["tick", {}],
          ["expire_jobs", {}],
          ["prune_events", {}],
          ["purge_jobs", { job_ids: [bJob.id] }],
          ["cleanup_targets", { job_ids: [bJob.id] }],
        ];
        for (const [fn, args] of calls) {
          for (const [who, client] of [["anon", anon], ["A", a.client], ["B", b.client]] as const) {
            const { error, status } = await untyped(client).rpc(fn, args);
            assert(
              error?.code === "42501" && (status === 401 || status === 403),
              `${who} called ${fn}: ${status} ${error?.code} ${error?.message}`,
            );
          }
        }
        const privateFn = await untyped(a.client).schema("private").rpc("fail_job", {
          job_id: bJob.id,
          error_code: "internal",
        });
        assert(privateFn.error?.code === "PGRST106", `private rpc: ${privateFn.error?.code}`);
        assert((await snapshot()) === before, "B's job changed");
      });

      await t.step(
        "revise: A cannot edit B's transcript; no key or the anon key is refused",
        async () => {
          const env = stackEnv();
          // A completed job of B's of its own, so B's job above stays as the other steps expect.
          const [done] = await sql.begin(async (tx) => {
            await tx`set local session_replication_role = replica`;
            return await tx`insert into public.jobs (owner_id, filename, media, status, completed_at)
            values (${b.id}, 'b-done.mp4', ${
              sql.json({ path: `${folder}/m.json`, bytes: 1, sha256: sha })
            },
              'completed', now()) returning id`;
          });
          await sql`insert into public.job_outputs (job_id, language, format, content)
                  values (${done.id}, 'en', 'json', ${
            JSON.stringify({
              format: "ai-subs.transcript",
              version: 1,
              language: "en",
              speakers: [],
              segments: [{ start: 0, end: 1, text: "B only" }],
            })
          })`;
          const body = JSON.stringify({
            job_id: done.id,
            language: "en",
            transcript: { segments: [{ start: 0, end: 1, text: "A was here" }] },
          });
          const callers: [string, string | null, number, string | null][] = [
            ["no key", null, 401, null],
            ["the anon key", apiKeys().publishable, 401, "not_signed_in"],
            ["A's token", a.token, 404, "not_found"],
          ];
          for (const [who, key, status, code] of callers) {
            const res = await fetch(`${env.SUPABASE_URL}/functions/v1/revise`, {
              method: "POST",
              headers: {
                "content-type": "application/json",
                ...(key ? { authorization: `Bearer ${key}`, apikey: apiKeys().publishable } : {}),
              },
              body,
            });
            const text = await res.text();
            assert(res.status === status, `${who} → revise: HTTP ${res.status} ${text}`);
            if (code) assert(JSON.parse(text).error.code === code, `${who} → revise: ${text}`);
          }
          const [row] = await sql`select
            (select count(*)::int from public.job_revisions where job_id = ${done.id}) as revisions,
            (select content from public.job_outputs where job_id = ${done.id} and format = 'json') as json`;
          assert(row.revisions === 0 && row.json.includes("B only"), JSON.stringify(row));
          const partial = await a.client.rpc("partial_transcript", { job_id: bJob.id });
          assert(
            partial.error?.hint === "not_found",
            `A reads B's partial transcript: ${JSON.stringify(partial)}`,
          );
          await sql`delete from public.jobs where id = ${done.id}`;
        },
      );

      await t.step("functions: only the secret key may call a step function", async () => {
        const env = stackEnv();
        const keys = apiKeys();
        const [task] = await sql`select id, status, attempts, lease from private.tasks
          where job_id = ${bJob.id} order by created_at limit 1`;
        // Back to dispatched, so a call that got through would claim and run it.
        await sql`update private.tasks set status = 'dispatched', lease = null
                  where id = ${task.id}`;
        const forged = await new SignJWT({ role: "service_role", iss: "supabase-local" })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuedAt().setExpirationTime("1h")
          .sign(new TextEncoder().encode("not-the-project-secret-but-long-enough-1234"));
        const minted = await mintToken({ role: "service_role" }, 3600);
        const publishable = { apikey: keys.publishable };
        const callers: [string, Record<string, string>, number[]][] = [
          ["no key", {}, [401]],
          ["the publishable key", publishable, [401]],
          ["the publishable key as bearer", {
            ...publishable,
            authorization: `Bearer ${keys.publishable}`,
          }, [401]],
          ["A's token", { ...publishable, authorization: `Bearer ${a.token}` }, [401]],
          ["the secret key as bearer under the publishable apikey", {
            ...publishable,
            authorization: `Bearer ${keys.secret}`,
          }, [401]],
          ["a service_role JWT signed with another secret", {
            ...publishable,
            authorization: `Bearer ${forged}`,
          }, [401]],
          ["an unknown API key", { apikey: `${keys.secret.slice(0, -4)}AAAA` }, [401]],
          ...(minted
            ? [["a valid service_role JWT (not the secret key)", {
              ...publishable,
              authorization: `Bearer ${minted}`,
            }, [401]] as [string, Record<string, string>, number[]]]
            : []),
        ];
        for (const name of await stepFunctionNames()) {
          for (const [who, headers, expected] of callers) {
            const res = await fetch(`${env.SUPABASE_URL}/functions/v1/${name}`, {
              method: "POST",
              headers: { "content-type": "application/json", ...headers },
              body: JSON.stringify({ task_id: task.id, job_id: bJob.id, job_ids: [bJob.id] }),
            });
            await res.body?.cancel();
            assert(expected.includes(res.status), `${who} → ${name}: HTTP ${res.status}`);
          }
        }
        await new Promise((r) => setTimeout(r, 500));
        const [after] = await sql`select status, lease from private.tasks where id = ${task.id}`;
        assert(
          after.status === "dispatched" && after.lease === null,
          "a refused call ran the task",
        );
        await sql`update private.tasks set status = ${task.status}, lease = ${task.lease}
                  where id = ${task.id}`;
      });

      await t.step(
        "storage: A lists, reads, signs, moves and overwrites nothing of B's",
        async () => {
          const asA = a.client.storage.from("media");
          const path = `${folder}/chunk-000.wav`;
          for (const prefix of [b.id, folder]) {
            const listed = await asA.list(prefix);
            assert(!listed.error && listed.data.length === 0, `A listed ${prefix}`);
          }
          const searched = await asA.list("", { search: b.id.slice(0, 8) });
          assert(!searched.data?.length, "A found B's folder by searching");
          assert((await asA.download(path)).error, "A downloaded B's chunk");
          assert((await asA.info(path)).error, "A read the metadata of B's chunk");
          const authed = await fetch(
            `${stackEnv().SUPABASE_URL}/storage/v1/object/authenticated/media/${path}`,
            { headers: { authorization: `Bearer ${a.token}` } },
          );
          await authed.body?.cancel();
          assert(authed.status >= 400, `authenticated GET served B's chunk: ${authed.status}`);
          const asPublic = await fetch(
            `${stackEnv().SUPABASE_URL}/storage/v1/object/public/media/${path}`,
          );
          await asPublic.body?.cancel();
          assert(asPublic.status >= 400, `the private bucket served publicly: ${asPublic.status}`);
          assert((await asA.createSignedUrl(path, 60)).error, "A signed B's chunk");
          const many = await asA.createSignedUrls([path, `${folder}/manifest.json`], 60);
          assert(many.data?.every((e) => e.error && !e.signedUrl), "A signed B's objects in bulk");
          const removed = await asA.remove([path, `${folder}/manifest.json`]);
          assert(!removed.error && removed.data.length === 0, "A's remove reported B's objects");
          assert((await asA.move(path, `${a.id}/stolen.wav`)).error, "A moved B's chunk");
          assert((await asA.copy(path, `${a.id}/copied.wav`)).error, "A copied B's chunk");

          const wav = new Blob([makeWav(1)], { type: "audio/wav" });
          const into = await asA.upload(`${folder}/intruder.wav`, wav);
          assert((into.error as { statusCode?: string })?.statusCode === "403", "A uploaded to B");
          const over = await asA.upload(path, wav, { upsert: true });
          assert(over.error, "A overwrote B's chunk with upsert");
          assert((await asA.update(path, wav)).error, "A replaced B's chunk with update");
          const tusStatus = await tusCreate(a.token, `${folder}/tus-intruder.wav`, 100);
          assert(tusStatus === 403, `TUS creation in B's folder: ${tusStatus}`);
          const tusWhole = await tusUpload(
            a.token,
            `${folder}/tus-whole.wav`,
            makeWav(1),
            "audio/wav",
          );
          assert(tusWhole === 403, `TUS upload into B's folder: ${tusWhole}`);

          // A signed upload URL is permission to write one object; A has none in B's folder.
          const signed = await asA.createSignedUploadUrl(`${folder}/signed-intruder.wav`);
          if (!signed.error) {
            const used = await anon.storage.from("media").uploadToSignedUrl(
              `${folder}/signed-intruder.wav`,
              signed.data.token,
              wav,
            );
            assert(used.error, "A wrote into B's folder through a signed upload URL");
          }
          const down = await b.client.storage.from("media").download(path);
          assert(!down.error, "B lost the chunk");
          const got = new Uint8Array(await down.data.arrayBuffer());
          assert(
            got.length === chunk.length && got.every((x, i) => x === chunk[i]),
            "B's bytes changed",
          );
          assert((await snapshot()) === before, "B's objects or job changed");
        },
      );

      await t.step("realtime: A cannot join B's topics nor hear B's job change", async () => {
        const bListens = b.client.channel(`job:${bJob.id}`, { config: { private: true } });
        const heardByB: unknown[] = [];
        bListens.on("broadcast", { event: "*" }, (m) => heardByB.push(m));
        assert((await subscribeStatus(bListens)) === "SUBSCRIBED", "B cannot join its own topic");

        const heardByA: unknown[] = [];
        const intruders = [`user:${b.id}:jobs`, `job:${bJob.id}`].map((topic) => {
          const channel = a.client.channel(topic, { config: { private: true } });
          channel.on("broadcast", { event: "*" }, (m) => heardByA.push(m));
          return channel;
        });
        for (const channel of intruders) {
          const status = await subscribeStatus(channel);
          assert(status === "CHANNEL_ERROR", `A joined ${channel.subTopic}: ${status}`);
        }
        const anonChannel = anon.channel(`job:${bJob.id}`, { config: { private: true } });
        assert((await subscribeStatus(anonChannel)) === "CHANNEL_ERROR", "anon joined B's topic");
        // The public room of the same name is a different room: the job's changes never go there.
        const publicRoom = a.client.channel(`job:${bJob.id}:public-probe`);
        publicRoom.on("broadcast", { event: "*" }, (m) => heardByA.push(m));

        await sql`update public.jobs set stage_message = 'B only' where id = ${bJob.id}`;
        const deadline = Date.now() + 5000;
        while (heardByB.length === 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
        }
        assert(heardByB.length > 0, "B did not hear its own job change");
        await new Promise((r) => setTimeout(r, 300));
        assert(heardByA.length === 0, "A heard B's job change");
        await closeRealtime(a.client, b.client, anon);
      });

      await t.step("share link: only the right token opens one job, and nothing more", async () => {
        const token = await b.client.rpc("share_job", { job_id: bJob.id });
        assert(!token.error && typeof token.data === "string", "B could not share");
        const tampered = token.data.slice(0, -1) + (token.data.endsWith("0") ? "1" : "0");
        const bad = await a.client.rpc("open_shared_job", { token: tampered });
        assertEngineError(bad.error, "share_not_found", "PT404", "a tampered token");
        assert(
          (await a.client.from("jobs").select("id").eq("id", bJob.id)).data?.length === 0,
          "a wrong token gave access",
        );
        // Positive control: the right token gives read access to this job and its outputs...
        const ok = await a.client.rpc("open_shared_job", { token: token.data });
        assert(ok.data === bJob.id, `the right token failed: ${ok.error?.message}`);
        const seen = await a.client.from("job_outputs").select("content").eq("job_id", bJob.id);
        assert(seen.data?.length === 1, "a viewer cannot read the shared outputs");
        // ...and nothing else: no change, no media, no user topic.
        for (const fn of ["cancel_job", "retry_job", "delete_job", "share_job"] as const) {
          const { error } = await a.client.rpc(fn, { job_id: bJob.id });
          assertEngineError(error, "not_found", "PT404", `viewer ${fn}`);
        }
        assert(
          (await a.client.storage.from("media").download(`${folder}/chunk-000.wav`)).error,
          "viewer downloaded B's media",
        );
        const listed = await a.client.storage.from("media").list(folder);
        assert(listed.data?.length === 0, "viewer listed B's media");
        const userTopic = a.client.channel(`user:${b.id}:jobs`, { config: { private: true } });
        assert(
          (await subscribeStatus(userTopic)) === "CHANNEL_ERROR",
          "viewer joined B's user topic",
        );
        // The owner's job topic is not the viewer's; the share's topic is (issue 26, finding 7).
        const ownerTopic = a.client.channel(`job:${bJob.id}`, { config: { private: true } });
        assert(
          (await subscribeStatus(ownerTopic)) === "CHANNEL_ERROR",
          "viewer joined the owner's job topic",
        );
        const { data: viewed } = await a.client.rpc("shared_job", { job_id: bJob.id });
        const shareTopic = (viewed as { topic: string }).topic;
        assert(shareTopic.startsWith(`job:${bJob.id}:`), `viewer's topic ${shareTopic}`);
        const jobTopic = a.client.channel(shareTopic, { config: { private: true } });
        assert(
          (await subscribeStatus(jobTopic)) === "SUBSCRIBED",
          "viewer cannot join the share's topic",
        );
        await closeRealtime(a.client);
      });
    } finally {
      await closeRealtime(a.client, b.client, anon);
      await sql.end();
    }
  },
});

Deno.test("bucket rules: the media bucket refuses oversized, wrong-MIME and climbing uploads", async () => {
  const a = await signedInUser();
  const store = a.client.storage.from("media");
  const sql = adminSql();
  try {
    const [bucket] = await sql<{ limit: number }[]>`
      select file_size_limit::float8 as limit from storage.buckets where id = 'media'`;
    const projectLimit = STORAGE_OBJECT_BYTES; // supabase/config.toml [storage] file_size_limit
    const limit = Math.min(bucket.limit, projectLimit);

    const folder = `${a.id}/${crypto.randomUUID()}`;
    assert(
      await tusCreate(a.token, `${folder}/huge.wav`, limit + 1) === 413,
      "TUS accepted a declared size over the limit",
    );
    const declared = await declaredSizeUploadStatus(a.token, `${folder}/huge2.wav`, limit + 1);
    assert(declared === 413, `standard upload declaring ${limit + 1} bytes: ${declared}`);

    for (const type of ["text/html", "image/svg+xml", "application/x-sh", "text/plain"]) {
      const res = await store.upload(`${folder}/x.bin`, new Blob(["<b>x</b>"], { type }));
      const code = (res.error as { statusCode?: string } | null)?.statusCode;
      assert(code === "415", `${type} upload answered ${code ?? "ok"}`);
      assert(await tusCreate(a.token, `${folder}/t.bin`, 8, type) === 415, `TUS ${type}`);
    }
    for (const type of ["audio/wav", "video/mp4", "application/json"]) {
      const res = await store.upload(
        `${folder}/ok-${type.replace("/", "-")}`,
        new Blob(["{}"], { type }),
      );
      assert(!res.error, `${type} refused: ${res.error?.message}`);
    }

    const base = `${stackEnv().SUPABASE_URL}/storage/v1/object/media`;
    for (
      const name of [
        `${a.id}%2F..%2F..%2Fescape.wav`,
        `${a.id}%2F..%2Fother%2Fx.wav`,
        `${a.id}%2Fa%5C..%5Cb.wav`,
      ]
    ) {
      const res = await fetch(`${base}/${name}`, {
        method: "POST",
        headers: { authorization: `Bearer ${a.token}`, "content-type": "audio/wav" },
        body: "x",
      });
      await res.body?.cancel();
      assert(res.status === 400, `${name} answered ${res.status}`);
    }
    const climbing = await tusCreate(a.token, `${a.id}/../${crypto.randomUUID()}/x.wav`, 10);
    assert(climbing === 400, `TUS objectName climbing out answered ${climbing}`);
    const [{ n }] = await sql`select count(*)::int as n from storage.objects
      where bucket_id = 'media' and (name like '%..%' or name like '%\\%')`;
    assert(n === 0, `${n} climbing object names were stored`);
  } finally {
    await sql.end();
  }
});

Deno.test("web/dist ships no key at all: no secret, service-role or publishable key, no JWT secret", async () => {
  const root = stackConfig().root;
  const dist = join(root, "web/dist");
  if (!(await Deno.stat(join(dist, "index.html")).then(() => true, () => false))) {
    await buildWeb(root);
  }
  const local = await localKeyRing();
  const secrets = [
    stackEnv().SUPABASE_SECRET_KEY,
    stackEnv().SUPABASE_SERVICE_ROLE_KEY,
    local?.keys.serviceRoleKey,
    local?.keys.jwtSecret,
  ].filter((s): s is string => !!s);
  let files = 0;
  const roles = new Set<string>();
  async function walk(dir: string) {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isDirectory) await walk(path);
      else {
        files++;
        const text = new TextDecoder().decode(await Deno.readFile(path));
        for (const secret of secrets) assert(!text.includes(secret), `${path} holds a secret`);
        assert(!/sb_secret_[\w-]{10}/.test(text), `${path} holds a secret API key`);
        // One build serves every project: the publishable key comes from config.json at run time.
        assert(!/sb_publishable_[\w-]{10}/.test(text), `${path} holds a publishable key`);
        assert(!/"d"\s*:\s*"[\w-]{40}/.test(text), `${path} holds a private JWK`);
        for (const [jwt] of text.matchAll(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/g)) {
          const payload = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
          roles.add(String(payload.role));
          assert(payload.role !== "service_role", `${path} holds a service_role JWT`);
        }
      }
    }
  }
  await walk(dist);
  assert(files > 0, "web/dist is empty");
  console.log(`web/dist: ${files} files, JWT roles found: ${[...roles].join(", ") || "none"}`);
});
