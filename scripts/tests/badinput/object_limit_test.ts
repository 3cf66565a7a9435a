/**
 * The Free plan's 50 MB per object, through supabase-js as an API client meets it: Storage
 * refuses a bigger upload (413, in Storage's own words), and a job declaring a single file
 * over the bucket's limit is refused with `media_too_large`, whose message says to upload
 * chunks with a manifest. The figure is the one of supabase/functions/_shared/engine/limits.ts, and
 * config.toml and the bucket say the same (checked without a stack in limits_config_test.ts).
 */
import { STORAGE_OBJECT_BYTES } from "../../../supabase/functions/_shared/engine/limits.ts";
import { adminSql, signedInClient } from "../support/stack_env.ts";
import { assert, assertEngineError, randomSha256, submit } from "../support/submissions.ts";

Deno.test("a single file over 50 MB is refused, and the refusal points to the chunk manifest", async () => {
  const sql = adminSql();
  try {
    const [bucket] = await sql<{ limit: number }[]>`
      select file_size_limit::float8 as limit from storage.buckets where id = 'media'`;
    assert(bucket.limit === STORAGE_OBJECT_BYTES, `media bucket limit ${bucket.limit}`);
    const { client, userId } = await signedInClient();
    const folder = `${userId}/${crypto.randomUUID()}`;
    const store = client.storage.from("media");

    const over = await store.upload(
      `${folder}/talk.wav`,
      new Blob([new Uint8Array(STORAGE_OBJECT_BYTES + 1)], { type: "audio/wav" }),
    );
    const status = (over.error as { statusCode?: string } | null)?.statusCode;
    assert(status === "413", `upload of 50 MiB + 1 byte answered ${status ?? "ok"}`);
    assert(/maximum allowed size/.test(over.error!.message), over.error!.message);
    const at = await store.upload(
      `${folder}/ok.wav`,
      new Blob([new Uint8Array(STORAGE_OBJECT_BYTES)], { type: "audio/wav" }),
    );
    assert(!at.error, `exactly 50 MiB refused: ${at.error?.message}`);

    const { job, error } = await submit(client, {
      filename: "talk.wav",
      media: {
        path: `${folder}/talk.wav`,
        bytes: STORAGE_OBJECT_BYTES + 1,
        sha256: randomSha256(),
        duration: 3600,
      },
    });
    assert(!job, "a job for a single file over the limit was accepted");
    assertEngineError(error, "media_too_large", "PT413", "single file over the limit");
    assert(/chunk manifest/.test(error.message), `message: ${error.message}`);
    // A manifest may describe a recording of any size.
    const manifest = await submit(client, {
      filename: "talk.wav",
      media: {
        path: `${folder}/manifest.json`,
        bytes: 2e9,
        sha256: randomSha256(),
        duration: 3600,
      },
    });
    assert(manifest.error?.hint !== "media_too_large", "a manifest was refused as too large");
    await store.remove([`${folder}/ok.wav`]);
  } finally {
    await sql.end();
  }
});
