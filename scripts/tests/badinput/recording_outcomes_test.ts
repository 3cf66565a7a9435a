/**
 * Bad input (issue 24, part 4): recordings that cannot work, uploaded as a plain script would,
 * end as failed jobs with a stable code and the message that says what to do
 * (private.error_codes), no task left open; a manifest that breaks a rule is failed with the
 * rule and the chunk in the job's own message.
 */
import { join } from "node:path";
import { makeWav } from "../fakes/deterministic.ts";
import { adminSql, signedInClient } from "../support/stack_env.ts";
import {
  assert,
  manifestOf,
  randomSha256,
  submit,
  upload,
  waitForJob,
} from "../support/submissions.ts";
import {
  mp4WithoutAudio,
  toneWav,
  truncatedMp4,
  unknownCodecMka,
  zeroLengthWav,
} from "../support/recordings.ts";

Deno.test("recordings that cannot work end with their own code and what to do", async () => {
  const sql = adminSql();
  const { client, userId } = await signedInClient();
  const dir = await Deno.makeTempDir({ prefix: "outcomes-" });
  try {
    const messages = new Map<string, string>(
      (await sql`select code, message from private.error_codes`).map((r) => [r.code, r.message]),
    );
    const endsAs = async (name: string, path: string, code: string, message?: string) => {
      const { job, error } = await submit(client, {
        filename: name,
        media: { path, bytes: 1000, sha256: randomSha256() },
      });
      assert(job, `${name}: refused at insert: ${error?.message}`);
      const done = await waitForJob(client, job.id, 90_000);
      assert(
        done.status === "failed" && done.error_code === code,
        `${name}: ${done.status} ${done.error_code} "${done.error_message}", expected ${code}`,
      );
      const expected = message ?? messages.get(code);
      assert(done.error_message === expected, `${name}: "${done.error_message}"`);
      const [{ open }] = await sql`select count(*)::int as open from private.tasks
        where job_id = ${job.id} and status in ('pending', 'dispatched', 'running')`;
      assert(open === 0, `${name}: ${open} tasks left open`);
    };

    const wav = await toneWav(dir, 5);
    const files: [string, (p: string) => Promise<void>, string, string][] = [
      ["silent-film.mp4", (p) => mp4WithoutAudio(p, 3), "no_audio", "video/mp4"],
      ["damaged.mp4", (p) => truncatedMp4(p, wav), "unreadable_media", "video/mp4"],
      ["opaque.mka", (p) => unknownCodecMka(p, wav), "unsupported_codec", "audio/x-matroska"],
      ["zero.wav", zeroLengthWav, "empty_audio", "audio/wav"],
    ];
    for (const [name, make, code, type] of files) {
      const local = join(dir, name);
      await make(local);
      const path = `${userId}/${crypto.randomUUID()}/${name}`;
      await upload(client, path, await Deno.readFile(local), type);
      await endsAs(name, path, code);
    }

    // A manifest whose only chunk holds 5 s of audio but declares 30 s.
    const base = `${userId}/${crypto.randomUUID()}`;
    await upload(client, `${base}/chunk-000.wav`, makeWav(5), "audio/wav");
    await upload(
      client,
      `${base}/manifest.json`,
      manifestOf({ filename: "liar.mp4", bytes: 1, sha256: randomSha256(), duration: 30 }, [
        { index: 0, path: `${base}/chunk-000.wav`, start: 0, end: 30, overlap_before: 0 },
      ]),
      "application/json",
    );
    await endsAs(
      "liar.mp4",
      `${base}/manifest.json`,
      "invalid_manifest",
      messages.get("invalid_manifest")!.replace(
        "{detail}",
        'chunk 0 is 5.0 s long but its window says 30 s (rule "probed duration")',
      ),
    );
  } finally {
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});
