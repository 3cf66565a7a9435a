/**
 * Integration: retention and deletion through the stack. A job past retention (the hourly
 * `expire_jobs`) and a job its owner deletes (`delete_job`) both reach the `cleanup` function
 * through pg_net, lose their storage objects through the Storage API and then their rows;
 * what anybody else stored stays.
 */
import { makeWav } from "../fakes/deterministic.ts";
import {
  adminSql,
  apiKeys,
  serviceClient,
  signedInClient,
  stackEnv,
} from "../support/stack_env.ts";
import { eventually, tasksOf } from "../support/jobs.ts";
import {
  assert,
  randomSha256,
  submitAccepted,
  upload,
  waitForJob,
} from "../support/submissions.ts";

/** Names of every object under `folder` (one level deep is all these tests write). */
async function objectsIn(folder: string): Promise<string[]> {
  const { data, error } = await serviceClient().storage.from("media").list(folder, { limit: 100 });
  if (error) throw new Error(`list ${folder}: ${error.message}`);
  return (data ?? []).filter((o) => o.id !== null).map((o) => `${folder}/${o.name}`);
}

Deno.test("an expired job and a deleted job lose their storage objects and rows; others' stay", async () => {
  const sql = adminSql();
  try {
    const alice = await signedInClient();
    const bob = await signedInClient();
    const silence = makeWav(1);

    // Expired: a manifest whose chunk lives in another folder of the owner (an earlier upload
    // reused) beside a file of its own folder.
    const expiredFolder = `${alice.userId}/${crypto.randomUUID()}`;
    const elsewhere = `${alice.userId}/${crypto.randomUUID()}`;
    await upload(alice.client, `${expiredFolder}/chunk-000.wav`, silence, "audio/wav");
    await upload(alice.client, `${elsewhere}/chunk-001.wav`, silence, "audio/wav");
    const sha256 = randomSha256();
    const manifest = {
      version: 1,
      source: { filename: "talk.mp4", duration: 1 },
      chunks: [
        { index: 0, path: `${elsewhere}/chunk-001.wav`, start: 0, end: 1, overlap_before: 0 },
      ],
    };
    await upload(
      alice.client,
      `${expiredFolder}/manifest.json`,
      new TextEncoder().encode(JSON.stringify(manifest)),
      "application/json",
    );
    const { id: expired } = await submitAccepted(alice.client, {
      filename: "recording.mp4",
      media: {
        path: `${expiredFolder}/manifest.json`,
        bytes: silence.length,
        sha256,
        duration: 1,
      },
    });
    // cleanup reads the chunks from prepare's checkpoint: let the job settle first.
    const settled = await waitForJob(alice.client, expired, 60_000);
    const prepared = (await tasksOf(sql, expired)).find((t) => t.step === "prepare");
    assert(prepared?.status === "completed", `prepare ${prepared?.status}; job ${settled.status}`);

    // Deleted by its owner: a single small file.
    const deletedFolder = `${alice.userId}/${crypto.randomUUID()}`;
    await upload(alice.client, `${deletedFolder}/talk.wav`, silence, "audio/wav");
    const { id: deleted } = await submitAccepted(alice.client, {
      filename: "recording.mp4",
      media: {
        path: `${deletedFolder}/talk.wav`,
        bytes: silence.length,
        sha256: randomSha256(),
        duration: 1,
      },
    });

    // Untouched: Bob's upload with the same layout, and an unrelated file of Alice's.
    const bobFolder = `${bob.userId}/${crypto.randomUUID()}`;
    await upload(bob.client, `${bobFolder}/talk.wav`, silence, "audio/wav");
    const aliceOther = `${alice.userId}/${crypto.randomUUID()}`;
    await upload(alice.client, `${aliceOther}/notes.wav`, silence, "audio/wav");

    assert((await objectsIn(expiredFolder)).length === 2, "expired job's upload is there");
    const { error: deleteError } = await alice.client.rpc("delete_job", { job_id: deleted });
    assert(!deleteError, `delete_job: ${deleteError?.message}`);
    await sql`update public.jobs set expires_at = now() - interval '1 second' where id = ${expired}`;
    const [{ handed }] = await sql`select public.expire_jobs() as handed`;
    assert(handed >= 1, `expire_jobs handed ${handed}`);

    await eventually("both jobs purged", async () => {
      const [{ n }] = await sql`select count(*)::int as n from public.jobs
        where id in (${expired}, ${deleted})`;
      return n === 0;
    });
    assert((await tasksOf(sql, expired)).length === 0, "tasks of the purged job remain");
    assert((await objectsIn(expiredFolder)).length === 0, "expired job's folder not emptied");
    assert((await objectsIn(elsewhere)).length === 0, "chunk referenced elsewhere not removed");
    assert((await objectsIn(deletedFolder)).length === 0, "deleted job's folder not emptied");
    assert((await objectsIn(bobFolder)).length === 1, "another user's object was removed");
    assert((await objectsIn(aliceOther)).length === 1, "an unrelated object was removed");
    const [{ purged }] = await sql`select count(*)::int as purged from private.events
      where job_id in (${expired}, ${deleted}) and kind = 'job.purged'`;
    assert(purged === 2, `purge events: ${purged}`);
  } finally {
    await sql.end();
  }
});

Deno.test("uploads no job references are removed after the grace period; others stay", async () => {
  const sql = adminSql();
  try {
    const alice = await signedInClient();
    const silence = makeWav(1);
    const orphan = `${alice.userId}/${crypto.randomUUID()}/talk.wav`;
    const fresh = `${alice.userId}/${crypto.randomUUID()}/talk.wav`;
    const used = `${alice.userId}/${crypto.randomUUID()}/talk.wav`;
    for (const path of [orphan, fresh, used]) {
      await upload(alice.client, path, silence, "audio/wav");
    }
    await submitAccepted(alice.client, {
      filename: "talk.wav",
      media: { path: used, bytes: silence.length, sha256: randomSha256() },
    });
    // The tab closed a day ago: the orphan (and the used upload) are older than the grace.
    await sql`update storage.objects
      set created_at = now() - interval '25 hours', updated_at = now() - interval '25 hours'
      where bucket_id = 'media' and name in (${orphan}, ${used})`;
    await sql`select private.request_orphan_cleanup()`;
    const folderOf = (p: string) => p.slice(0, p.lastIndexOf("/"));
    await eventually(
      "the orphan upload removed",
      async () => (await objectsIn(folderOf(orphan))).length === 0,
    );
    assert(
      (await objectsIn(folderOf(fresh))).length === 1,
      "an upload within the grace was removed",
    );
    assert((await objectsIn(folderOf(used))).length === 1, "an upload a job uses was removed");
  } finally {
    await sql.end();
  }
});

Deno.test("the cleanup function refuses callers other than the secret key", async () => {
  const env = stackEnv();
  const { client } = await signedInClient();
  const { data: session } = await client.auth.getSession();
  const callers: [string, Record<string, string>][] = [
    ["a signed-in user", {
      apikey: apiKeys().publishable,
      Authorization: `Bearer ${session.session?.access_token}`,
    }],
    ["the publishable key", { apikey: apiKeys().publishable }],
    ["nobody", {}],
  ];
  for (const [who, headers] of callers) {
    const res = await fetch(`${env.SUPABASE_URL}/functions/v1/cleanup`, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ job_ids: [crypto.randomUUID()] }),
    });
    await res.body?.cancel();
    assert(res.status === 401, `${who} got ${res.status}`);
  }
});
