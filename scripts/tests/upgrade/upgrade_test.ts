/**
 * Upgrade: a project at the last release takes the current one without losing anything.
 *
 * Runs on a stack started with STACK_MIGRATIONS=released (the `upgrade` stage of
 * `deno task test`): its database holds only the migrations of supabase/releases/released.json,
 * and the test first deploys that release's functions (its commit, extracted from git; this
 * tree's when git lacks it). With them it leaves work in every state: a completed job with
 * outputs and an edited revision, a cached result of it, a share link (opened by one viewer), a
 * 25-minute job whose second of three chunks is held at the provider, webhook deliveries whose
 * receiver answers 500, and the owner's session. Then it upgrades as a user does:
 * `supabase db push --db-url` of every later migration (the real CLI), then this tree's functions
 * (./deploy_functions.ts), with the job still transcribing. Afterwards: the running job
 * completes; each pending webhook is delivered exactly once (counted at the receiver by
 * webhook-id); the old share link opens and its viewer still sees the job; the old access token
 * still works and the refresh token refreshes; what was stored before is unchanged; a new job and
 * a new revision work.
 *
 * With no migration after the released ones, it says so and checks the in-flight work across
 * the function redeploy alone.
 */
import { join } from "node:path";
import { createClient } from "@supabase/supabase-js";
import type { Database } from "../../../supabase/functions/_shared/database.types.ts";
import { makeLongAudio } from "../../ship/asr/fixtures.ts";
import { pinnedSupabaseCli, supabaseCliEnv } from "../../lib/supabase_cli.ts";
import { stackConfig } from "../../stack/config.ts";
import { releasedMigrations } from "../../stack/postgres.ts";
import { makeWav } from "../fakes/deterministic.ts";
import { startOpenAiFake } from "../fakes/openai_fake.ts";
import { withFunctionEnv } from "../support/function_processes.ts";
import { deployFunctions } from "./deploy_functions.ts";
import { eventually, tasksOf } from "../support/jobs.ts";
import {
  adminSql,
  anonClient,
  apiKeys,
  type Client,
  signedInClient,
  stackEnv,
} from "../support/stack_env.ts";
import {
  assert,
  randomSha256,
  submitAccepted,
  submitWav,
  upload,
  waitForJob,
} from "../support/submissions.ts";

const root = stackConfig().root;

/** Every migration file, and the ones after the last release ("the upgrade"). */
async function migrationFiles(): Promise<{ all: string[]; later: string[] }> {
  const released = new Set(await releasedMigrations(root));
  const all = [...Deno.readDirSync(join(root, "supabase/migrations"))]
    .map((e) => e.name).filter((n) => n.endsWith(".sql")).sort();
  return { all, later: all.filter((n) => !released.has(n)) };
}

const versionOf = (file: string) => file.split("_")[0];

/**
 * The tree of the last release (released.json's `functions.commit`: the release's tag, whose
 * functions first deployed with the real CLI), extracted from git into `dir`; its functions are
 * the "old" ones. Null when git does not have that commit (a shallow clone).
 */
async function releasedTree(dir: string): Promise<{ tree: string; commit: string } | null> {
  const released = JSON.parse(
    await Deno.readTextFile(join(root, "supabase/releases/released.json")),
  ) as { functions: { release: string; commit: string } };
  const commit = released.functions.commit;
  const tree = join(dir, `release-${commit}`);
  await Deno.mkdir(tree, { recursive: true });
  const out = await new Deno.Command("sh", {
    args: [
      "-c",
      'git -C "$0" archive "$1" deno.json deno.lock supabase | tar -x -C "$2"',
      root,
      commit,
      tree,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  return out.success ? { tree, commit } : null;
}

/** `supabase db push --db-url` from the repository, as a user upgrading a project runs it. */
async function dbPush(): Promise<string> {
  const out = await new Deno.Command(pinnedSupabaseCli(root), {
    args: ["db", "push", "--db-url", stackEnv().SUPABASE_DB_URL, "--yes"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: supabaseCliEnv(stackConfig()),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`supabase db push failed:\n${text}`);
  return text;
}

/**
 * A gate in front of the provider fake: transcription requests go through until `hold(n)`;
 * after n more, each waits until released (one by one, or all once the gate opens).
 */
function providerGate(target: string) {
  let budget = Infinity;
  const waiting: (() => void)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.arrayBuffer();
    const url = new URL(req.url);
    if (url.pathname === "/v1/audio/transcriptions" && budget-- <= 0) {
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    const headers = new Headers(req.headers);
    headers.delete("host");
    headers.delete("content-length");
    return await fetch(target + url.pathname + url.search, { method: req.method, headers, body });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    get waiting() {
      return waiting.length;
    },
    hold: (pass: number) => void (budget = pass),
    releaseOne: () => waiting.shift()?.(),
    open() {
      budget = Infinity;
      waiting.splice(0).forEach((resolve) => resolve());
    },
    close: () => server.shutdown(),
  };
}

interface Hook {
  id: string;
  path: string;
  status: number;
}

/** A webhook receiver that answers 500 while down and 204 once up; it records every request. */
function webhookReceiver() {
  const requests: Hook[] = [];
  let up = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    const status = up ? 204 : 500;
    requests.push({
      id: req.headers.get("webhook-id") ?? "",
      path: new URL(req.url).pathname,
      status,
    });
    return new Response(null, { status });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    up: () => void (up = true),
    close: () => server.shutdown(),
  };
}

/** What the owner reads of some jobs: rows' status, every output and every revision. */
async function ownerView(client: Client, ids: string[]) {
  const jobs = await client.from("jobs").select("id, status, cached_from").in("id", ids)
    .order("id");
  const outputs = await client.from("job_outputs").select("job_id, language, format, content")
    .in("job_id", ids).order("job_id").order("language").order("format");
  const revisions = await client.from("job_revisions").select("job_id, language, revision")
    .in("job_id", ids).order("job_id").order("revision");
  for (const r of [jobs, outputs, revisions]) {
    if (r.error) throw new Error(`owner's view: ${r.error.message}`);
  }
  return { jobs: jobs.data ?? [], outputs: outputs.data ?? [], revisions: revisions.data ?? [] };
}

/** A client that sends this access token, as a browser holding an old session does. */
function clientWithToken(token: string): Client {
  return createClient<Database>(stackEnv().SUPABASE_URL, apiKeys().publishable, {
    auth: { persistSession: false, autoRefreshToken: false },
    global: { headers: { Authorization: `Bearer ${token}` } },
  });
}

async function revise(client: Client, jobId: string, text: string): Promise<number> {
  const { data, error } = await client.functions.invoke("revise", {
    body: {
      job_id: jobId,
      language: "en",
      transcript: { segments: [{ start: 0, end: 4, text }] },
    },
  });
  if (error) {
    const context = (error as { context?: Response }).context;
    throw new Error(`revise: ${error.message} ${await context?.text()}`);
  }
  return (data as { revision: number }).revision;
}

Deno.test({
  name: "upgrade: db push of the later migrations, then the functions; nothing in flight is lost",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sql = adminSql();
    const { all, later } = await migrationFiles();
    const applied = async () =>
      (await sql`select version from supabase_migrations.schema_migrations order by version`)
        .map((r) => r.version as string);
    const released = (await releasedMigrations(root)).map(versionOf);
    assert(
      JSON.stringify(await applied()) === JSON.stringify(released),
      `the database must start at the release (${released}), has ${await applied()}: ` +
        "run this test through `deno task test upgrade` (a stack with STACK_MIGRATIONS=released)",
    );

    const fake = startOpenAiFake();
    const gate = providerGate(fake.url);
    const receiver = webhookReceiver();
    const restoreEnv = await withFunctionEnv(["transcribe"], {
      TRANSCRIBE_PROVIDER: "openai",
      OPENAI_BASE_URL: gate.url,
      PROVIDER_TIMEOUT_MS: "110000",
    });
    let ticking = false;
    let ticker: Promise<void> = Promise.resolve();
    const dir = await Deno.makeTempDir();
    try {
      await sql`update private.webhook_settings set allow_private_urls = true, max_attempts = 20,
        backoff_base_seconds = 0.5, backoff_max_seconds = 2, timeout_ms = 2000`;
      // One chunk at a time, so the long job is part-way through when the upgrade starts.
      await sql`update private.settings set step_parallelism = '{"transcribe": 1}'`;

      // --- At the release: its functions (from git), work in every state. ---
      const old = await releasedTree(dir);
      console.log(
        old
          ? `upgrade: serving the functions of the release (${old.commit}) before the upgrade`
          : "upgrade: the release's commit is not in git (shallow clone?): this tree's functions " +
            "stand in for the release's",
      );
      if (old) await deployFunctions(old.tree);
      const { client: owner, userId } = await signedInClient();
      const { data: login } = await owner.auth.getSession();
      const session = login.session!;
      const hook = (path: string) => ({ language: "en", webhook_url: `${receiver.url}/${path}` });

      const done = await submitWav(owner, userId, makeWav(20), hook("done"), "done.wav");
      const completed = await waitForJob(owner, done.id, 60_000);
      assert(completed.status === "completed", `completed job: ${completed.status}`);
      assert((await revise(owner, done.id, "Edited before the upgrade.")) === 1, "revision 1");
      const cached = await submitAccepted(owner, {
        filename: "done.wav",
        media: { path: done.media.path, bytes: done.media.bytes, sha256: done.media.sha256 },
        options: hook("cached"),
      });
      assert(cached.status === "completed" && cached.cached_from === done.id, "a cached result");
      const { data: token, error: shareError } = await owner.rpc("share_job", { job_id: done.id });
      assert(!shareError && token, `share_job: ${shareError?.message}`);
      const earlyViewer = await signedInClient();
      const { error: openError } = await earlyViewer.client.rpc("open_shared_job", { token });
      assert(!openError, `open_shared_job: ${openError?.message}`);

      await makeLongAudio(25 * 60, "aac", `${dir}/long.m4a`);
      const audio = await Deno.readFile(`${dir}/long.m4a`);
      const longPath = `${userId}/${crypto.randomUUID()}/long.m4a`;
      await upload(owner, longPath, audio, "audio/mp4");
      // Chunk 0 goes through; chunk 1 waits across db push, chunk 2 across the redeploy.
      gate.hold(1);
      const running = await submitAccepted(owner, {
        filename: "long.m4a",
        media: { path: longPath, bytes: audio.length, sha256: randomSha256() },
        options: hook("running"),
      });
      const chunks = async () =>
        (await tasksOf(sql, running.id)).filter((t) => t.step === "transcribe");
      await eventually("chunk 0 done, chunk 1 held at the provider", async () => {
        const c = await chunks();
        return c.length >= 3 && c[0].status === "completed" && c[1].status === "running" &&
          gate.waiting === 1;
      }, 90_000);

      // Both finished jobs' events have failed at least once and wait for their next attempt.
      const pendingHooks = await eventually(
        "webhook deliveries pending after a 500",
        async () => {
          await sql`select public.deliver_webhooks()`;
          const rows = await sql`select id, status, attempts from public.webhook_deliveries
          where job_id in ${sql([done.id, cached.id])}`;
          return rows.length === 2 && rows.every((r) => r.status === "pending" && r.attempts >= 1)
            ? rows.map((r) => r.id as string)
            : null;
        },
        30_000,
        600,
      );
      assert(receiver.requests.every((r) => r.status === 500), "the receiver was down");
      const before = await ownerView(owner, [done.id, cached.id]);
      assert(before.outputs.some((o) => o.format === "srt"), "outputs before the upgrade");
      assert(before.revisions.length === 2, `revisions ${before.revisions.length}`);

      // --- The upgrade: db push, then the functions, with the long job transcribing. ---
      console.log(
        later.length
          ? `upgrade: db push of ${later.length} migration(s) after the release: ${
            later.join(", ")
          }`
          : "upgrade: NO migration after the released ones; db push has nothing to apply, so " +
            "this run checks the work in flight across a function redeploy only",
      );
      const t0 = performance.now();
      console.log((await dbPush()).trim());
      console.log(`upgrade: db push took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      assert(
        JSON.stringify(await applied()) === JSON.stringify(all.map(versionOf)),
        `after db push the database has ${await applied()}, supabase/migrations ${all}`,
      );
      // A task killed by the redeploy is recovered by the tick (pg_cron's, called below) soon.
      await sql`update private.settings set stale_after_seconds = 10`;
      // Chunk 1 finishes in the old function process, against the new schema; chunk 2 starts.
      gate.releaseOne();
      await eventually("chunk 1 done, chunk 2 held at the provider", async () => {
        const c = await chunks();
        return c[1].status === "completed" && c[2].status === "running" && gate.waiting === 1;
      }, 60_000);
      const deployed = await deployFunctions();
      console.log(`upgrade: functions deployed: ${deployed.join(", ")}`);
      receiver.up();
      gate.open();

      // --- After: nothing lost. ---
      ticking = true;
      ticker = (async () => {
        while (ticking) {
          await sql`select public.tick()`.catch(() => {});
          await sql`select public.deliver_webhooks()`.catch(() => {});
          await new Promise((r) => setTimeout(r, 500));
        }
      })();
      const finished = await waitForJob(owner, running.id, 120_000);
      assert(
        finished.status === "completed",
        `the job in flight: ${finished.status} ${finished.error_code}`,
      );
      const finalChunks = await chunks();
      assert(finalChunks.every((c) => c.status === "completed"), "every chunk completed");
      const { data: outputs } = await owner.from("job_outputs").select("format, content")
        .eq("job_id", running.id);
      const srt = outputs?.find((o) => o.format === "srt")?.content ?? "";
      assert(/00:2[0-4]:\d\d,\d{3} -->/.test(srt), "the SRT reaches the last chunk's minutes");

      // Each pending event (and the running job's own) is delivered once, never again.
      const hookIds = await eventually("every webhook delivered", async () => {
        const rows = await sql`select id, status from public.webhook_deliveries
          where job_id in ${sql([done.id, cached.id, running.id])}`;
        return rows.length === 3 && rows.every((r) => r.status === "delivered")
          ? rows.map((r) => r.id as string)
          : null;
      }, 30_000);
      assert(pendingHooks.every((id) => hookIds.includes(id)), "the pending deliveries kept ids");
      await new Promise((r) => setTimeout(r, 2_000)); // a few more delivery passes
      for (const id of hookIds) {
        const got = receiver.requests.filter((r) => r.id === id);
        const ok = got.filter((r) => r.status === 204);
        assert(ok.length === 1, `webhook ${id} delivered ${ok.length} times`);
        assert(got.at(-1)!.status === 204, `webhook ${id} was sent again after its delivery`);
      }

      // What was stored is unchanged; the session, the share link and a new job work.
      const after = await ownerView(owner, [done.id, cached.id]);
      assert(
        JSON.stringify(after) === JSON.stringify(before),
        "jobs, outputs or revisions changed in the upgrade",
      );
      const oldToken = clientWithToken(session.access_token);
      const { data: mine, error: mineError } = await oldToken.from("jobs").select("id")
        .eq("id", done.id);
      assert(!mineError && mine?.length === 1, `the old access token: ${mineError?.message}`);
      const refreshed = anonClient();
      const { data: renewed, error: refreshError } = await refreshed.auth.refreshSession({
        refresh_token: session.refresh_token,
      });
      assert(
        !refreshError && renewed.user?.id === userId,
        `the old refresh token: ${refreshError?.message}`,
      );
      const { data: shared, error: sharedError } = await earlyViewer.client.from("job_outputs")
        .select("format").eq("job_id", done.id);
      assert(!sharedError && shared?.length, "the viewer of the share link lost the job");
      const lateViewer = await signedInClient();
      const { data: opened, error: lateError } = await lateViewer.client.rpc("open_shared_job", {
        token,
      });
      assert(!lateError && opened === done.id, `the old share link: ${lateError?.message}`);

      const fresh = await submitWav(refreshed, userId, makeWav(15), { language: "en" }, "new.wav");
      const freshDone = await waitForJob(refreshed, fresh.id, 60_000);
      assert(freshDone.status === "completed", `a new job: ${freshDone.status}`);
      assert((await revise(refreshed, done.id, "Edited after the upgrade.")) === 2, "revision 2");
    } finally {
      ticking = false;
      await ticker;
      gate.open();
      await deployFunctions().catch(() => {});
      await restoreEnv().catch(() => {});
      await Promise.allSettled([gate.close(), receiver.close(), fake.close()]);
      await sql.end();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
