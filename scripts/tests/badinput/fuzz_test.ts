/**
 * Property-based fuzzing (fast-check) of what a hostile client controls: random JSON as
 * `filename`, `media` and `options` through the REST insert, and random bytes (and random
 * manifest-shaped JSON) as manifests and audio through the pipeline. Whatever is sent, the
 * answer is a stable error code (a known `error_codes` code in HINT, or PostgreSQL's own
 * refusal of bytes JSON cannot hold) with a 4xx status, never a 500, and every job that was
 * accepted ends in a terminal state with a known code. Bounded to well under a minute.
 */
import fc from "fast-check";
import { makeWav } from "../fakes/deterministic.ts";
import { adminSql, signedInUser, untyped } from "../support/stack_env.ts";
import { assert, randomSha256, upload, waitForJob } from "../support/submissions.ts";

const OPTION_KEYS = [
  "language",
  "force_language",
  "num_speakers",
  "min_speakers",
  "max_speakers",
  "translate_to",
  "summarize",
  "caption_style",
];

Deno.test({
  name: "fuzz: random submissions and random media always end with a stable code",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const sql = adminSql();
    const [saved] = await sql`select active_job_limit, per_user_active_limit from private.settings`;
    await sql`update private.settings set active_job_limit = 1000, per_user_active_limit = 1000`;
    const codes = new Set(
      (await sql<{ code: string }[]>`select code from private.error_codes`).map((r) => r.code),
    );
    const me = await signedInUser();
    try {
      await t.step(
        "random JSON as filename, media and options through the REST insert",
        async () => {
          const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
          const nearMedia = fc.record({
            path: fc.oneof(
              fc.uuid().map((id) => `${me.id}/${id}/x.wav`),
              fc.string(),
              fc.jsonValue(),
            ),
            bytes: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
            sha256: fc.oneof(hex, fc.string(), fc.jsonValue()),
            duration: fc.oneof(fc.double(), fc.integer({ min: -10, max: 100_000 }), fc.jsonValue()),
          }, { requiredKeys: [] });
          const nearOptions = fc.dictionary(
            fc.constantFrom(...OPTION_KEYS, "extra"),
            fc.jsonValue(),
            {
              maxKeys: 4,
            },
          );
          const accepted: string[] = [];
          await fc.assert(
            fc.asyncProperty(
              fc.oneof(fc.string({ maxLength: 300 }), fc.jsonValue()),
              fc.oneof(nearMedia, fc.jsonValue()),
              fc.oneof(nearOptions, fc.jsonValue()),
              async (filename, media, options) => {
                const res = await untyped(me.client).from("jobs").insert({
                  filename,
                  media,
                  options,
                })
                  .select("id,status").maybeSingle();
                if (!res.error) {
                  assert(
                    res.data && ["pending", "completed"].includes(res.data.status),
                    `accepted as ${JSON.stringify(res.data)}`,
                  );
                  accepted.push(res.data.id);
                  return;
                }
                const stable = (res.error.hint && codes.has(res.error.hint)) ||
                  /^(22|23|PGRST)/.test(res.error.code ?? "");
                assert(
                  res.status >= 400 && res.status < 500 && stable,
                  `${res.status} ${res.error.code}/${res.error.hint}: ${res.error.message} for ${
                    JSON.stringify({ filename, media, options })
                  }`,
                );
              },
            ),
            { numRuns: 300, seed: 13 },
          );
          for (const id of accepted) await me.client.rpc("cancel_job", { job_id: id });
        },
      );

      await t.step("random bytes as manifests and audio through the pipeline", async () => {
        const samples = fc.sample(
          fc.tuple(
            fc.oneof(
              fc.uint8Array({ maxLength: 4096 }),
              fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v))),
              // Manifest-shaped: the right keys with random chunks and durations.
              fc.record({
                version: fc.constant(1),
                source: fc.record({
                  filename: fc.string(),
                  duration: fc.double({ min: 0.01, max: 20_000 }),
                }),
                chunks: fc.array(
                  fc.record({
                    index: fc.constant(0),
                    path: fc.constant(`${me.id}/fuzz/chunk.wav`),
                    start: fc.double({ min: 0, max: 2000, noNaN: true }),
                    end: fc.double({ min: 0.01, max: 2000, noNaN: true }),
                    overlap_before: fc.double({ min: 0, max: 20, noNaN: true }),
                  }),
                  { minLength: 1, maxLength: 4 },
                ).map((chunks) => chunks.map((c, index) => ({ ...c, index }))),
              }).map((m) => new TextEncoder().encode(JSON.stringify(m))),
            ),
            fc.uint8Array({ minLength: 1, maxLength: 8192 }),
          ),
          { numRuns: 10, seed: 13 },
        );
        // A real one-second chunk every manifest-shaped sample points at.
        await upload(me.client, `${me.id}/fuzz/chunk.wav`, makeWav(1), "audio/wav");
        const jobs: string[] = [];
        for (const [manifest, audio] of samples) {
          const folder = `${me.id}/${crypto.randomUUID()}`;
          await upload(me.client, `${folder}/manifest.json`, manifest, "application/json");
          await upload(me.client, `${folder}/audio.wav`, audio, "audio/wav");
          for (
            const [path, bytes] of [[`${folder}/manifest.json`, manifest.length], [
              `${folder}/audio.wav`,
              audio.length,
            ]] as const
          ) {
            const res = await me.client.from("jobs").insert({
              filename: "fuzz.mp4",
              media: { path, bytes: Math.max(1, bytes), sha256: randomSha256() },
            }).select("id").single();
            assert(!res.error, `refused: ${res.error?.message}`);
            jobs.push(res.data.id);
          }
        }
        for (const id of jobs) {
          const done = await waitForJob(me.client, id, 45_000);
          assert(
            ["failed", "completed"].includes(done.status) && done.error_code !== null &&
              codes.has(done.error_code) &&
              done.error_code !== "internal",
            `job ${id} ended ${done.status} ${done.error_code}`,
          );
          // The only real audio is one 1-second chunk: no manifest may fan it out into more
          // than one transcription, and random bytes fail before any.
          const [{ n }] = await sql`select count(*)::int as n from private.tasks
            where job_id = ${id} and step = 'transcribe'`;
          assert(n <= 1, `job ${id} planned ${n} transcribe tasks for 1 s of audio`);
        }
      });
    } finally {
      await sql`update private.settings set active_job_limit = ${saved.active_job_limit},
        per_user_active_limit = ${saved.per_user_active_limit}`;
      await sql.end();
    }
  },
});
