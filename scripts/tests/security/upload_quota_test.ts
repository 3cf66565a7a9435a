/**
 * The upload quota counts what a user actually holds in the media bucket, whatever way it got
 * there (issue 26, findings 3 and 4): signed upload URLs (hosted Storage checks RLS when it signs
 * one, with no size known, and writes the upload itself as a superuser: supabase/storage
 * src/http/routes/object/uploadSignedObject.ts `asSuperUser().uploadFromRequest`; so RLS alone
 * never sees the bytes), and folders a job names, a failed job's included. Through supabase-js;
 * SQL only lowers the cap and ends a job.
 */
import assert from "node:assert/strict";
import { makeWav } from "../fakes/deterministic.ts";
import { adminSql, signedInUser } from "../support/stack_env.ts";
import { randomSha256, submitAccepted } from "../support/submissions.ts";

const CAP = 150_000;

Deno.test({
  name: "upload quota: signed upload URLs and a job's folder hold bytes like any upload",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const sql = adminSql();
    const [saved] = await sql`select pending_upload_bytes from private.settings`;
    const wav = makeWav(4); // 64 KB: two fit under the cap, three do not
    try {
      await sql`update private.settings set pending_upload_bytes = ${CAP}`;

      await t.step("signed upload URLs cannot take more than the quota", async () => {
        const user = await signedInUser();
        const store = user.client.storage.from("media");
        // Sign four first (nothing is held yet, so every signing passes), then upload to each.
        const signed = [];
        for (let i = 0; i < 4; i++) {
          const path = `${user.id}/${crypto.randomUUID()}/signed-${i}.wav`;
          const made = await store.createSignedUploadUrl(path);
          assert.equal(made.error, null, String(made.error?.message));
          signed.push({ path, token: made.data!.token });
        }
        const results: (string | null)[] = [];
        for (const { path, token } of signed) {
          const up = await store.uploadToSignedUrl(path, token, wav, { contentType: "audio/wav" });
          results.push(up.error ? up.error.message : null);
        }
        assert.deepEqual(results.slice(0, 2), [null, null], JSON.stringify(results));
        assert.ok(results[2] && results[3], `uploads past the quota: ${JSON.stringify(results)}`);
        const [held] = await sql`select coalesce(sum((metadata ->> 'size')::bigint), 0)::int as n
          from storage.objects where bucket_id = 'media' and name like ${user.id + "/%"}`;
        assert.ok(held.n <= CAP, `held ${held.n} bytes`);
      });

      await t.step("a folder a failed job names is not a free pass", async () => {
        const user = await signedInUser();
        const job = await submitAccepted(user.client, {
          filename: "talk.wav",
          media: { path: `${user.id}/inuse/missing.wav`, bytes: 1000, sha256: randomSha256() },
        });
        await sql`update public.jobs set status = 'failed', completed_at = now()
                  where id = ${job.id}`;
        await sql`update private.tasks set status = 'cancelled' where job_id = ${job.id}
                  and status not in ('completed', 'failed', 'cancelled')`;
        const store = user.client.storage.from("media");
        const answers: (string | null)[] = [];
        for (const path of ["inuse/a.wav", "inuse/deep/b.wav", "inuse/deep/c.wav"]) {
          const up = await store.upload(`${user.id}/${path}`, wav, { contentType: "audio/wav" });
          answers.push(up.error ? up.error.message : null);
        }
        assert.deepEqual(answers.slice(0, 2), [null, null], JSON.stringify(answers));
        assert.match(String(answers[2]), /unfinished uploads/, JSON.stringify(answers));
      });
    } finally {
      await sql`update private.settings set pending_upload_bytes = ${saved.pending_upload_bytes}`;
      await sql.end();
    }
  },
});
