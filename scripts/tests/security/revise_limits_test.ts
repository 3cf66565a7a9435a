/**
 * A hostile owner's saves through `revise` (issue 26, finding 5): a body under the byte cap used
 * to render for 14 s into 330+ MB and kill the worker for every user, and a NUL or a lone
 * surrogate in any text field came back as `500 internal` carrying Postgres's message. Now the
 * render is bounded by cue count and text size (`MAX_SEGMENTS`, `MAX_TEXT_CHARS` in
 * supabase/functions/revise/revise.ts), every text field is checked, and another user's saves
 * go on meanwhile. SQL only sets the scene (a completed job with its outputs).
 */
import assert from "node:assert/strict";
import { parseSync } from "subtitle";
import { renderOutputs } from "../../../supabase/functions/_shared/subtitles/render.ts";
import { adminSql, apiKeys, signedInUser, stackEnv } from "../support/stack_env.ts";
import type { SignedInUser } from "../support/stack_env.ts";

const transcript = {
  language: "en",
  duration: 50_000,
  segments: [
    { start: 0, end: 4, text: "The first words of the recording are here.", speaker: "A" },
    { start: 5, end: 9, text: "And a reply from somebody else follows.", speaker: "B" },
  ],
};

async function completedJob(sql: ReturnType<typeof adminSql>, owner: SignedInUser) {
  const [job] = await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    return await tx`insert into public.jobs (owner_id, filename, media, options, status, completed_at)
      values (${owner.id}, 'limits.mp4', ${
      sql.json({ path: "x/y.json", bytes: 1, sha256: "2", duration: 50_000 })
    }, ${sql.json({})}, 'completed', now()) returning id`;
  });
  for (const o of renderOutputs({ merge: { transcript }, translate: [] }, undefined)) {
    await sql`insert into public.job_outputs (job_id, language, format, content)
      values (${job.id}, ${o.language}, ${o.format}, ${o.content})`;
  }
  return job.id as string;
}

/** POSTs a body as text (so a lone surrogate travels as JSON's \ud800 escape). */
async function save(user: SignedInUser, body: string) {
  const response = await fetch(`${stackEnv().SUPABASE_URL}/functions/v1/revise`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${user.token}`,
      apikey: apiKeys().publishable,
      "content-type": "application/json",
    },
    body,
  });
  const text = await response.text();
  let json: { error?: { code: string; message: string; field?: string } } = {};
  try {
    json = JSON.parse(text);
  } catch { /* a gateway error page */ }
  return { status: response.status, error: json.error, text };
}

const segments = (count: number, chars: number, speaker = "S") =>
  Array.from({ length: count }, (_, i) => ({
    start: i * 2,
    end: i * 2 + 1.5,
    text: "word ".repeat(Math.ceil(chars / 5)).slice(0, chars).trim() + ".",
    speaker,
  }));

Deno.test({
  name: "revise: a render too big to afford is refused at once, and other users' saves go on",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sql = adminSql();
    try {
      const attacker = await signedInUser();
      const victim = await signedInUser();
      const attackerJob = await completedJob(sql, attacker);
      const victimJob = await completedJob(sql, victim);
      const body = (job: string, segs: unknown[]) =>
        JSON.stringify({ job_id: job, language: "en", transcript: { segments: segs } });

      // The issue's body: 20,000 cues of 330 characters, 7.97 MB.
      const issueBody = body(attackerJob, segments(20_000, 330));
      assert.ok(issueBody.length < 8 * 1024 * 1024);
      const t0 = performance.now();
      const huge = await save(attacker, issueBody);
      assert.ok([400, 413].includes(huge.status), `${huge.status} ${huge.text.slice(0, 200)}`);
      assert.equal(huge.error?.code, "invalid_transcript");
      assert.ok(performance.now() - t0 < 5_000, "the refusal took the render's time");

      // Under any byte cap: too many cues, or too much text in few cues.
      const many = await save(attacker, body(attackerJob, segments(7_000, 5)));
      assert.equal(many.status, 400, many.text.slice(0, 200));
      assert.equal(many.error?.field, "transcript.segments");
      const wordy = await save(attacker, body(attackerJob, segments(300, 990, "S".repeat(100))));
      assert.equal(wordy.status, 400, wordy.text.slice(0, 200));
      assert.equal(wordy.error?.field, "transcript.segments");

      // The largest save allowed, while the victim saves: every one of them succeeds.
      const largest = save(attacker, body(attackerJob, segments(6_000, 40)));
      const small = Array.from(
        { length: 6 },
        (_, i) => save(victim, body(victimJob, [{ start: 0, end: 3, text: `Edit number ${i}.` }])),
      );
      const [big, ...others] = await Promise.all([largest, ...small]);
      assert.equal(
        big.status,
        200,
        `largest allowed save: ${big.status} ${big.text.slice(0, 200)}`,
      );
      for (const other of others) assert.equal(other.status, 200, other.text.slice(0, 200));
    } finally {
      await sql.end();
    }
  },
});

Deno.test({
  name: "revise: NUL and lone surrogates in any text field are invalid input, not a 500",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sql = adminSql();
    try {
      const owner = await signedInUser();
      const job = await completedJob(sql, owner);
      const cases: [Record<string, unknown>, string][] = [
        [{ start: 0, end: 2, text: "nul \u0000 here" }, "transcript.segments.0.text"],
        [{ start: 0, end: 2, text: "lone \ud800 high" }, "transcript.segments.0.text"],
        [{ start: 0, end: 2, text: "lone \udc00 low" }, "transcript.segments.0.text"],
        [{ start: 0, end: 2, text: "ok", speaker: "A\u0000" }, "transcript.segments.0.speaker"],
        [{ start: 0, end: 2, text: "ok", speaker: "\udfff" }, "transcript.segments.0.speaker"],
      ];
      for (const [segment, field] of cases) {
        const result = await save(
          owner,
          JSON.stringify({ job_id: job, language: "en", transcript: { segments: [segment] } }),
        );
        assert.equal(result.status, 400, `${JSON.stringify(segment)}: ${result.text}`);
        assert.equal(result.error?.code, "invalid_transcript");
        assert.equal(result.error?.field, field);
        assert.doesNotMatch(result.text, /unicode|\\u0000|postgres|jsonb/i);
      }
      for (const language of ["e\u0000n", "\ud800"]) {
        const result = await save(
          owner,
          JSON.stringify({
            job_id: job,
            language,
            transcript: { segments: [{ start: 0, end: 1, text: "x" }] },
          }),
        );
        assert.equal(result.status, 400, `${JSON.stringify(language)}: ${result.text}`);
        assert.equal(result.error?.field, "language");
      }
      // A well-formed pair (an emoji) is text like any other.
      const emoji = await save(
        owner,
        JSON.stringify({
          job_id: job,
          language: "en",
          transcript: { segments: [{ start: 0, end: 2, text: "ok 👍" }] },
        }),
      );
      assert.equal(emoji.status, 200, emoji.text);
    } finally {
      await sql.end();
    }
  },
});

Deno.test({
  name: "revise: cue text cannot forge an SRT timing line (issue 26, finding 6)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sql = adminSql();
    try {
      const owner = await signedInUser();
      const job = await completedJob(sql, owner);
      const forged = "It ends here 00:00:09,000 ---> 00:00:10,000";
      const saved = await save(
        owner,
        JSON.stringify({
          job_id: job,
          language: "en",
          transcript: {
            segments: [
              { start: 0, end: 4, text: "The first words of the recording." },
              { start: 5, end: 8, text: forged },
            ],
          },
        }),
      );
      assert.equal(saved.status, 200, saved.text);
      const [srt] = await sql`select content from public.job_outputs
        where job_id = ${job} and language = 'en' and format = 'srt'`;
      const cues = parseSync(srt.content).filter((node) => node.type === "cue");
      assert.equal(cues.length, 2, srt.content);
      assert.ok(
        !/-->\s*00:00:10,000/.test(srt.content.split("\n").slice(5).join("\n")),
        srt.content,
      );
    } finally {
      await sql.end();
    }
  },
});
