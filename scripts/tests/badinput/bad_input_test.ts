/**
 * Bad input, as a user (or a broken client) would send it through supabase-js: empty, fake,
 * truncated, far too long and silent recordings, options out of range, unknown languages,
 * hostile file names, manifests naming missing or foreign chunks. Each ends with a stable
 * error code and the friendly message of the error code table — at insert (nothing written) or
 * as a failed job — and nothing else of the user's is lost.
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { makeM4a } from "../../ship/asr/fixtures.ts";
import { makeWav } from "../fakes/deterministic.ts";
import { adminSql, signedInClient } from "../support/stack_env.ts";
import {
  assert,
  assertEngineError,
  type JobRow,
  manifestOf,
  randomSha256,
  submit,
  upload,
  waitForJob,
} from "../support/submissions.ts";

interface User {
  client: SupabaseClient;
  id: string;
}

Deno.test({
  name: "bad input: every hostile submission gets a stable code and loses nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const sql = adminSql();
    const { client, userId } = await signedInClient();
    const me: User = { client, id: userId };
    const messages = new Map(
      (await sql<{ code: string; message: string }[]>`
        select code, private.error_message(code) as message from private.error_codes`)
        .map((r) => [r.code, r.message]),
    );
    // What must survive every case: an object and the jobs already submitted.
    const keeper = `${me.id}/keep/keep.wav`;
    const keeperBytes = makeWav(1);
    await upload(client, keeper, keeperBytes, "audio/wav");
    const earlier: JobRow[] = [];

    const countMine = async () => {
      const [row] = await sql`select
          (select count(*)::int from public.jobs where owner_id = ${me.id}) as jobs,
          (select count(*)::int from private.events e join public.jobs j on j.id = e.job_id
             where j.owner_id = ${me.id}) as events,
          (select count(*)::int from storage.objects where name like ${me.id + "/%"}) as objects`;
      return row as { jobs: number; events: number; objects: number };
    };

    /** An insert that must be refused with this code, writing nothing at all. */
    async function refused(
      what: string,
      row: Parameters<typeof submit>[1],
      code: string,
      field: string,
    ) {
      const before = await countMine();
      const { job, error } = await submit(client, row);
      assert(!job, `${what}: accepted`);
      const status = code === "media_outside_folder" ? "PT403" : "PT400";
      assertEngineError(error, code, status, what);
      assert(error.details === field, `${what}: field ${error.details}, expected ${field}`);
      assert(error.message.startsWith(`${field}: `), `${what}: message "${error.message}"`);
      const after = await countMine();
      assert(
        JSON.stringify(after) === JSON.stringify(before),
        `${what}: wrote ${JSON.stringify(after)}`,
      );
    }

    /** A submission that is accepted and must end failed with this code and its message. */
    async function failsWith(what: string, path: string, code: string, extra = {}) {
      const { job, error } = await submit(client, {
        filename: what,
        media: { path, bytes: 1000, sha256: randomSha256(), ...extra },
      });
      assert(job, `${what}: refused at insert: ${error?.hint} ${error?.message}`);
      const done = await waitForJob(client, job.id, 90_000);
      assert(
        done.status === "failed" && done.error_code === code,
        `${what}: ${done.status} ${done.error_code} "${done.error_message}", expected ${code}`,
      );
      assert(done.error_message === messages.get(code), `${what}: message "${done.error_message}"`);
      const [event] = await sql`select detail from private.events
        where job_id = ${job.id} and kind = 'task.failed' order by id desc limit 1`;
      assert(event?.detail?.error, `${what}: no event explains the failure`);
      const [{ open }] = await sql`select count(*)::int as open from private.tasks
        where job_id = ${job.id} and status in ('pending', 'dispatched', 'running')`;
      assert(open === 0, `${what}: ${open} tasks left open`);
      earlier.push(done);
      return done;
    }

    const folder = () => `${me.id}/${crypto.randomUUID()}`;
    const dir = await Deno.makeTempDir();
    try {
      await t.step("an empty file", async () => {
        const path = `${folder()}/empty.mp4`;
        await upload(client, path, new Uint8Array(0), "video/mp4");
        await refused(
          "empty, as declared",
          {
            filename: "empty.mp4",
            media: { path, bytes: 0, sha256: randomSha256() },
          },
          "invalid_media",
          "media.bytes",
        );
        await failsWith("empty, declared as 1000 bytes", path, "unreadable_media");
      });

      await t.step("a text file named .mp4", async () => {
        const path = `${folder()}/talk.mp4`;
        const text = new TextEncoder().encode("this is not a video\n".repeat(100));
        await upload(client, path, text, "video/mp4");
        await failsWith("text named talk.mp4", path, "unreadable_media", { duration: 60 });
      });

      await t.step("a truncated MP4", async () => {
        await Deno.writeFile(`${dir}/tone.wav`, makeWav(20, 16_000));
        await makeM4a(`${dir}/tone.wav`, `${dir}/tone.m4a`);
        const whole = await Deno.readFile(`${dir}/tone.m4a`);
        const path = `${folder()}/cut.m4a`;
        await upload(client, path, whole.subarray(0, Math.floor(whole.length / 2)), "audio/mp4");
        await failsWith("truncated cut.m4a", path, "unreadable_media", { duration: 20 });
      });

      await t.step("a 10-hour recording", async () => {
        const base = folder();
        await refused(
          "10 hours, declared",
          {
            filename: "ten hours.mp4",
            media: {
              path: `${base}/manifest.json`,
              bytes: 1e9,
              sha256: randomSha256(),
              duration: 36_000,
            },
          },
          "media_too_long",
          "media.duration",
        );
        // Undeclared at insert, claimed by the manifest: prepare refuses it before any fan-out.
        const chunks = Array.from({ length: 60 }, (_, i) => ({
          index: i,
          path: `${base}/chunk-${String(i).padStart(3, "0")}.wav`,
          start: i * 600,
          end: (i + 1) * 600,
          overlap_before: 0,
        }));
        await upload(
          client,
          `${base}/manifest.json`,
          manifestOf({
            filename: "ten hours.mp4",
            bytes: 1e9,
            sha256: randomSha256(),
            duration: 36_000,
          }, chunks),
          "application/json",
        );
        const done = await failsWith(
          "10 hours, by manifest",
          `${base}/manifest.json`,
          "media_too_long",
        );
        const [{ n }] = await sql`select count(*)::int as n from private.tasks
          where job_id = ${done.id} and step = 'transcribe'`;
        assert(n === 0, `${n} transcribe tasks were planned for a 10-hour recording`);
      });

      await t.step("silence", async () => {
        const path = `${folder()}/silence.wav`;
        await upload(client, path, makeWav(8, 16_000), "audio/wav");
        await failsWith("8 s of silence", path, "no_speech");
      });

      await t.step("options out of range", async () => {
        const media = { path: `${folder()}/x.wav`, bytes: 10, sha256: randomSha256() };
        const cases: [Record<string, unknown>, string][] = [
          [{ num_speakers: 0 }, "options.num_speakers"],
          [{ num_speakers: 33 }, "options.num_speakers"],
          [{ num_speakers: 2.5 }, "options.num_speakers"],
          [{ min_speakers: 4, max_speakers: 2 }, "options.min_speakers"],
          [{ translate_to: ["fr", "de", "es", "it", "pt", "nl"] }, "options.translate_to"],
          [{ translate_to: ["fr", "fr"] }, "options.translate_to"],
          [{ summarize: "yes" }, "options.summarize"],
          [{ force_language: true }, "options.force_language"],
          [{ caption_style: { max_line_chars: 500 } }, "options.caption_style.max_line_chars"],
          [{ caption_style: { max_lines: 0 } }, "options.caption_style.max_lines"],
          [
            { caption_style: { max_chars_per_second: 1e9 } },
            "options.caption_style.max_chars_per_second",
          ],
          [{ caption_style: { font: "Comic Sans" } }, "options.caption_style.font"],
          [{ priority: "high" }, "options.priority"],
        ];
        for (const [options, field] of cases) {
          await refused(
            JSON.stringify(options),
            { filename: "x.wav", media, options },
            "invalid_options",
            field,
          );
        }
      });

      await t.step("unknown languages", async () => {
        const media = { path: `${folder()}/x.wav`, bytes: 10, sha256: randomSha256() };
        for (const language of ["klingon", "english", "e", "en_US", "", "zz", "xx-YY", 42]) {
          await refused(
            `language ${JSON.stringify(language)}`,
            {
              filename: "x.wav",
              media,
              options: { language },
            },
            "unsupported_language",
            "options.language",
          );
        }
        await refused(
          "translate_to qq",
          {
            filename: "x.wav",
            media,
            options: { translate_to: ["fr", "qq"] },
          },
          "unsupported_language",
          "options.translate_to",
        );
      });

      await t.step("hostile file names are stored and returned intact", async () => {
        const names = [
          `<script>alert("x")</script><img src=x onerror=alert(1)>.mp4`,
          "🎬 Réunion d'équipe 👩‍💻 2024.mp4",
          "\u202Egnp.exe\u202C محاضرة عن التاريخ.mp4",
          "../../etc/passwd",
          "a/b\\c/..\\d.mp4",
          "  spaced  name .mp4",
        ];
        for (const filename of names) {
          const path = `${folder()}/upload.wav`;
          const { job, error } = await submit(client, {
            filename,
            media: { path, bytes: 10, sha256: randomSha256() },
          });
          assert(job, `${JSON.stringify(filename)} refused: ${error?.message}`);
          assert(job.filename === filename, `stored as ${JSON.stringify(job.filename)}`);
          assert(job.media.path === path, `the filename changed the media path: ${job.media.path}`);
          // Its upload does not exist, so prepare may have failed it already (invalid_state).
          const cancelled = await client.rpc("cancel_job", { job_id: job.id });
          assert(
            !cancelled.error || cancelled.error.hint === "invalid_state",
            `cancel: ${cancelled.error?.message}`,
          );
          const { data } = await client.from("jobs").select("filename, media").eq("id", job.id)
            .single();
          assert(data?.filename === filename, `read back as ${JSON.stringify(data?.filename)}`);
        }
        const [{ n }] = await sql`select count(*)::int as n from storage.objects
          where name like '%passwd%' or name like '%script%' or name like '%..%'`;
        assert(n === 0, "a file name became a storage path");
        const media = { path: `${folder()}/x.wav`, bytes: 10, sha256: randomSha256() };
        for (const filename of ["", "   ", "x".repeat(256)]) {
          await refused(
            `filename ${JSON.stringify(filename.slice(0, 20))}`,
            {
              filename,
              media,
            },
            "invalid_filename",
            "filename",
          );
        }
      });

      await t.step("a NUL byte in a file name never reaches a row", async () => {
        // Postgres text cannot hold U+0000: the JSON body is refused before the submit trigger
        // runs (PostgREST answers the same 400 with SQLSTATE 22P05).
        const before = await countMine();
        const res = await client.from("jobs").insert({
          filename: "nul\u0000byte.mp4",
          media: { path: `${folder()}/x.wav`, bytes: 10, sha256: randomSha256() },
          options: {},
        });
        assert(
          res.status === 400 && res.error?.code === "22P05",
          `${res.status} ${res.error?.code}`,
        );
        assert(JSON.stringify(await countMine()) === JSON.stringify(before), "a row was written");
      });

      await t.step("manifests naming missing or foreign chunks", async () => {
        const base = folder();
        const wav = makeWav(3);
        await upload(client, `${base}/chunk-000.wav`, wav, "audio/wav");
        await upload(
          client,
          `${base}/manifest.json`,
          manifestOf(
            { filename: "m.mp4", bytes: wav.length, sha256: randomSha256(), duration: 3 },
            [
              { index: 0, path: `${base}/chunk-001.wav`, start: 0, end: 3, overlap_before: 0 },
            ],
          ),
          "application/json",
        );
        await failsWith("a missing chunk", `${base}/manifest.json`, "unreadable_media");

        const other = await signedInClient();
        const theirs = `${other.userId}/${crypto.randomUUID()}/chunk-000.wav`;
        await upload(other.client, theirs, wav, "audio/wav");
        const foreign = folder();
        await upload(
          client,
          `${foreign}/manifest.json`,
          manifestOf(
            { filename: "f.mp4", bytes: wav.length, sha256: randomSha256(), duration: 3 },
            [
              { index: 0, path: theirs, start: 0, end: 3, overlap_before: 0 },
            ],
          ),
          "application/json",
        );
        await failsWith("a foreign chunk", `${foreign}/manifest.json`, "media_outside_folder");
        const still = await other.client.storage.from("media").download(theirs);
        assert(
          !still.error && still.data.size === wav.length,
          "the other user's chunk was touched",
        );
        const [{ n }] = await sql`select count(*)::int as n from private.tasks t
          join public.jobs j on j.id = t.job_id
          where j.owner_id = ${me.id} and t.params ->> 'path' = ${theirs}`;
        assert(n === 0, "a task was planned on another user's chunk");
      });

      await t.step("nothing else of the user's was lost", async () => {
        const down = await client.storage.from("media").download(keeper);
        assert(!down.error && down.data.size === keeperBytes.length, "the keeper object is gone");
        for (const job of earlier) {
          const { data } = await client.from("jobs").select("status, error_code").eq("id", job.id)
            .single();
          assert(
            data?.status === job.status && data.error_code === job.error_code,
            `job ${job.filename} changed`,
          );
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
      await sql.end();
    }
  },
});
