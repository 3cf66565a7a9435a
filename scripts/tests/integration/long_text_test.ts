/**
 * Integration: translation and summary of a 3-hour transcript fan out over parts of it, so
 * every invocation finishes well inside a function's 150 s wall clock, with the text provider
 * (the OpenAI-compatible fake) answering each request after several seconds, as a real model
 * does. The recording is already transcribed (prepare and its 18 chunks completed, with dense
 * speech: about 170,000 characters); from merge on, the real step functions run through the
 * stack: merge plans the parts, translate_part and summarize_part call the provider, translate
 * stitches each language, summarize reduces, render stores the outputs.
 */
import { startOpenAiFake } from "../fakes/openai_fake.ts";
import { FAKE_WORDS } from "../fakes/deterministic.ts";
import { withFunctionEnv } from "../support/function_processes.ts";
import { tasksOf } from "../support/jobs.ts";
import { assert, randomSha256 } from "../support/submissions.ts";
import { adminSql, signedInClient } from "../support/stack_env.ts";
import { planChunks } from "../../../supabase/functions/prepare/step.ts";

const HOURS = 3;
/** The provider's time per request: several seconds, as a real model answering. */
const LATENCY_MS = 6_000;
/** "Well inside" the 150 s wall clock. */
const LIMIT_MS = 60_000;
const TEXT_STEPS = ["translate_part", "translate", "summarize_part", "summarize"];

/** Dense speech: a 5-second segment of 14 timed words, alternating speakers. */
function speech(from: number, to: number) {
  const segments = [];
  for (let start = Math.ceil(from / 5) * 5, n = start / 5; start < to; start += 5, n++) {
    const words = Array.from({ length: 14 }, (_, i) => ({
      text: FAKE_WORDS[(n * 14 + i) % FAKE_WORDS.length],
      start: start + i * 0.35,
      end: start + i * 0.35 + 0.3,
    }));
    segments.push({
      start,
      end: start + 4.9,
      text: words.map((w) => w.text).join(" "),
      speaker: `Speaker ${(n % 2) + 1}`,
      words,
    });
  }
  return segments;
}

Deno.test("a 3-hour transcript is translated and summarised in tasks well inside the wall clock", async () => {
  const sql = adminSql();
  const fake = startOpenAiFake({ latencyMs: LATENCY_MS });
  const restoreEnv = await withFunctionEnv(TEXT_STEPS, {
    TEXT_PROVIDER: "openai",
    OPENAI_BASE_URL: fake.url,
  });
  const [settings] = await sql`select * from private.settings`;
  try {
    await sql`update private.settings set per_job_parallelism = 4, global_parallelism = 8`;
    const { userId } = await signedInClient();
    const duration = HOURS * 3600;
    const chunks = planChunks(`${userId}/long/manifest.json`, duration);
    const job = crypto.randomUUID();
    await sql.begin(async (tx) => {
      // Written as the engine would have left it after transcription, without its triggers.
      await tx`set local session_replication_role = replica`;
      await tx`insert into public.jobs (id, owner_id, filename, media, options, status, started_at)
        values (${job}, ${userId}, 'three-hours.mp4', ${
        tx.json({ path: chunks[0].path, bytes: 1, sha256: randomSha256(), duration })
      }, ${
        tx.json({ language: "en", translate_to: ["fr", "de"], summarize: true })
      }, 'processing', now())`;
      await tx`insert into private.tasks (job_id, step, status, output, attempts, completed_at)
        values (${job}, 'prepare', 'completed', ${tx.json({ duration, chunks })}, 1, now())`;
      for (const chunk of chunks) {
        const transcript = {
          language: "en",
          duration: chunk.end - chunk.start,
          segments: speech(chunk.start, chunk.end),
        };
        await tx`insert into private.tasks
            (job_id, step, key, chunk_index, params, status, output, attempts, completed_at)
          values (${job}, 'transcribe', ${String(chunk.index)}, ${chunk.index},
            ${tx.json({ chunk })}, 'completed', ${tx.json({ transcript })}, 1, now())`;
      }
    });
    await sql`select private.plan_steps(${job}), private.dispatch_due()`;

    const t0 = Date.now();
    let status = "processing";
    while (Date.now() - t0 < 600_000) {
      [{ status }] = await sql`select status from public.jobs where id = ${job}`;
      if (status !== "processing" && status !== "pending") break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const tasks = await tasksOf(sql, job);
    const ran = tasks.filter((t) => t.claimed_at && t.completed_at && t.step !== "transcribe");
    const ms = (t: typeof ran[number]) => t.completed_at!.getTime() - t.claimed_at!.getTime();
    const byStep = new Map<string, number[]>();
    for (const t of ran) byStep.set(t.step, [...(byStep.get(t.step) ?? []), ms(t)]);
    const merged = tasks.find((t) => t.step === "merge")?.output as {
      transcript: { segments: { start: number; end: number; text: string }[] };
    };
    const chars = merged?.transcript.segments.reduce((n, s) => n + s.text.length, 0) ?? 0;
    console.log(
      `${HOURS} h, ${chars} characters, provider latency ${LATENCY_MS} ms, ` +
        `${fake.requests.length} provider requests, job ${status} in ${Date.now() - t0} ms`,
    );
    for (const [step, list] of byStep) {
      console.log(`  ${step}: ${list.length} task(s), longest ${Math.max(...list)} ms`);
    }
    assert(status === "completed", `job ${status}`);
    assert(chars > 150_000, `only ${chars} characters of speech`);
    for (const t of ran) {
      assert(ms(t) < LIMIT_MS, `${t.step} ${t.key} took ${ms(t)} ms`);
      assert(t.attempts === 1, `${t.step} ${t.key} needed ${t.attempts} attempts`);
    }
    const parts = (step: string) => tasks.filter((t) => t.step === step).length;
    assert(parts("translate_part") >= 2 * 8, `${parts("translate_part")} translation parts`);
    assert(parts("summarize_part") >= 4, `${parts("summarize_part")} summary parts`);

    // Cue timing is preserved across part boundaries: every translated segment has its
    // source's times and a translation of its own text.
    for (const language of ["fr", "de"]) {
      const out = tasks.find((t) => t.step === "translate" && t.key === language)?.output as {
        transcript: { segments: { start: number; end: number; text: string }[] };
      };
      const source = merged.transcript.segments;
      assert(out.transcript.segments.length === source.length, `${language}: segment count`);
      out.transcript.segments.forEach((s, i) => {
        assert(
          s.start === source[i].start && s.end === source[i].end &&
            s.text === `[${language}] ${source[i].text}`,
          `${language} segment ${i}: ${JSON.stringify(s)} for ${JSON.stringify(source[i])}`,
        );
      });
    }
    const [{ n }] = await sql`select count(*)::int as n from public.job_outputs
      where job_id = ${job} and format in ('srt', 'summary')`;
    assert(n === 4, `${n} outputs (srt for en, fr, de and the summary)`);
  } finally {
    await sql`update private.settings set per_job_parallelism = ${settings.per_job_parallelism},
      global_parallelism = ${settings.global_parallelism}`;
    await restoreEnv();
    await fake.close();
    await sql.end();
  }
});
