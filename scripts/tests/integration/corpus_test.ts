/**
 * Integration (issue 24, part 1): the corpus of valid but unusual recordings
 * (scripts/tests/support/corpus.ts: audio shorter, longer or later than the picture, VFR, WebM/Opus,
 * MKV, MOV/PCM, MP3 with ID3 and cover art, M4A, FLAC, Ogg Vorbis, 8 kHz µ-law WAV, 5.1, two audio
 * tracks, one recording longer than a chunk, and a video without sound) goes through
 * `deno task subs` as a user runs it — two processes sharing the files, one extracting with the
 * native ffmpeg, the other with mediabunny (the web app's extract.ts) — four of them also as a
 * plain script sends them (the whole file uploaded, a row inserted), and the offline engine on
 * real speech (Debian's LibriVox clips). Each file's words are scored against the authors'
 * transcription (WER, printed as a table) and its first cue must sit where the speech starts on
 * the video's timeline (2 s later for the late audio). The silent film is refused before upload.
 */
import { join } from "node:path";
import { wordErrorRate } from "../../ship/asr/wer.ts";
import { CORPUS, librivoxClips, librivoxSpeech, longRecording } from "../support/corpus.ts";
import { adminSql, signedInClient, stackEnv } from "../support/stack_env.ts";
import { assert, mediaHash, submit, upload } from "../support/submissions.ts";

const root = new URL("../../..", import.meta.url).pathname;
/** Offline PocketSphinx on one LibriVox reader: measured 10-35 % per file; well above is a bug. */
const MAX_WER = 0.5;
/** Sent as a plain script would: the file itself uploaded and a row inserted (prepare probes it). */
const AS_SCRIPT: Record<string, string> = {
  "audio-late.mp4": "video/mp4",
  "voice-memo.m4a": "audio/mp4",
  "podcast-id3-cover.mp3": "audio/mpeg",
  "radio.ogg": "audio/ogg",
};
/** Cue placement: the first cue starts within this of where the speech starts. */
const PLACEMENT_SECONDS = 1.0;

type Event = Record<string, unknown> & { event?: string };

async function subs(config: string, files: string[], extractor: string) {
  const env = stackEnv() as unknown as Record<string, string>;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(root, "scripts/ship/subs/main.ts"), ...files]
      .concat(["--language", "en", "--no-wait", "--json"]),
    env: {
      SUPABASE_URL: env.SUPABASE_URL,
      SUPABASE_PUBLISHABLE_KEY: env.SUPABASE_PUBLISHABLE_KEY ?? env.SUPABASE_ANON_KEY,
      SUBS_CONFIG_DIR: config,
      SUBS_EXTRACTOR: extractor,
      NO_COLOR: "1",
    },
    cwd: root,
    stdin: "null",
  }).output();
  const lines = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.startsWith("{"));
  const done = lines.map((l) => JSON.parse(l) as Event).find((e) => e.event === "done") as {
    results: { file: string; job_id: string | null; error?: { code: string; message: string } }[];
  } | undefined;
  assert(done, `${extractor}: no result: ${new TextDecoder().decode(out.stderr)}`);
  return done.results.map((r) => ({ ...r, extractor }));
}

Deno.test("corpus: every unusual recording gives its spoken words, cues where they are spoken", async () => {
  const sql = adminSql();
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-corpus-" });
  const [settings] = await sql`select * from private.settings`;
  try {
    // Room for every file at once: the limits are the product's, not what is under test here.
    // One transcription at a time, as `deno task test` sets it: the offline engine uses every core.
    await sql`update private.settings set per_user_active_limit = 20, active_job_limit = 40,
      step_parallelism = '{"transcribe": 1}'`;
    // Each file speaks one LibriVox clip (3-7 s, in turn), the long one all of them (25 s).
    const clips = await librivoxClips();
    const said = new Map<string, string>();
    const files = await Promise.all(CORPUS.map((c, i) => {
      said.set(c.name, clips[i % clips.length].text);
      return c.make(dir, clips[i % clips.length]);
    }));
    const speech = await librivoxSpeech(dir);
    said.set("lecture-long.mp4", speech.text);
    const long = await longRecording(dir, speech);
    // The two extractors share the work: alternate files, the long one through ffmpeg, and so
    // are PCM, FLAC and µ-law, which mediabunny can only re-encode with WebCodecs (a browser's).
    const halves = [[long], []] as string[][];
    let turn = 0;
    files.forEach((f) => halves[/(flac|pcm|ulaw)/.test(f) ? 0 : turn++ % 2].push(f));
    const results = (await Promise.all([
      subs(join(dir, "config-a"), halves[0], "ffmpeg"),
      subs(join(dir, "config-b"), halves[1], "mediabunny"),
    ])).flat();
    // A plain script: no extraction, the whole file to its own folder, then the row.
    const script = await signedInClient();
    const scripted = await Promise.all(
      Object.entries(AS_SCRIPT).map(async ([name, type]) => {
        const bytes = await Deno.readFile(join(dir, name));
        const path = `${script.userId}/${crypto.randomUUID()}/${name}`;
        await upload(script.client, path, bytes, type);
        const { job, error } = await submit(script.client, {
          filename: name,
          media: { path, bytes: bytes.length, sha256: await mediaHash(bytes) },
          options: { language: "en" },
        });
        assert(job, `${name} as a script: ${error?.message}`);
        return { file: `script/${name}`, job_id: job.id as string | null, extractor: "script" };
      }),
    );

    const byName = new Map(results.map((r) => [r.file.split("/").pop()!, r]));
    const ids: string[] = [];
    for (const c of CORPUS) {
      const r = byName.get(c.name)!;
      if (c.refused) {
        assert(r.error?.code === c.refused && !r.job_id, `${c.name}: ${JSON.stringify(r)}`);
        continue;
      }
      assert(r.job_id && !r.error, `${c.name} (${r.extractor}): ${JSON.stringify(r.error)}`);
      ids.push(r.job_id);
    }
    const longResult = byName.get("lecture-long.mp4")!;
    assert(longResult.job_id, `long: ${JSON.stringify(longResult.error)}`);
    ids.push(longResult.job_id);
    ids.push(...scripted.map((r) => r.job_id!));

    const deadline = Date.now() + 600_000;
    let jobs: {
      id: string;
      status: string;
      error_code: string | null;
      media: { duration: number };
    }[] = [];
    while (Date.now() < deadline) {
      jobs =
        await sql`select id, status, error_code, media from public.jobs where id = any(${ids})`;
      if (jobs.every((j) => ["completed", "failed", "cancelled"].includes(j.status))) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const outputs = await sql`select job_id, content from public.job_outputs
      where job_id = any(${ids}) and format = 'json' and language = 'en'`;
    const rows: string[] = [];
    const failures: string[] = [];
    for (const r of [...results, ...scripted].filter((r) => r.job_id)) {
      const name = r.file.split("/").pop()!;
      const job = jobs.find((j) => j.id === r.job_id)!;
      const c = CORPUS.find((c) => c.name === name);
      const speechAt = c ? c.speechAt : 590;
      const output = outputs.find((o) => o.job_id === r.job_id);
      if (job.status !== "completed" || !output) {
        failures.push(`${name}: ${job.status} ${job.error_code}`);
        continue;
      }
      const doc = JSON.parse(output.content) as { segments: { start: number; text: string }[] };
      const heard = doc.segments.map((s) => s.text).join(" ");
      const wer = wordErrorRate(said.get(name)!, heard);
      const first = doc.segments[0]?.start ?? NaN;
      rows.push(
        `${name.padEnd(24)} ${r.extractor.padEnd(10)} WER ${
          (wer.wer * 100).toFixed(1).padStart(5)
        } %` +
          ` (${wer.substitutions} sub, ${wer.deletions} del, ${wer.insertions} ins of ${wer.words})` +
          `  first cue ${first.toFixed(2)} s, speech at ${speechAt} s`,
      );
      if (!(wer.wer <= MAX_WER)) failures.push(`${name}: WER ${wer.wer}: "${heard}"`);
      if (!(Math.abs(first - speechAt) <= PLACEMENT_SECONDS)) {
        failures.push(`${name}: first cue at ${first} s, the speech starts at ${speechAt} s`);
      }
    }
    console.log(rows.join("\n"));
    assert(!failures.length, failures.join("\n"));
  } finally {
    await sql`update private.settings set per_user_active_limit = ${settings.per_user_active_limit},
      active_job_limit = ${settings.active_job_limit},
      step_parallelism = ${sql.json(settings.step_parallelism)}`;
    await sql.end();
    await Deno.remove(dir, { recursive: true });
  }
});
