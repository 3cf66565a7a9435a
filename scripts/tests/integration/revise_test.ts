/**
 * The revise function through the stack, as the owner's browser calls it (supabase-js
 * functions.invoke with the user's session): an edit becomes revision 1 with the original kept
 * as revision 0, every caption output is rendered again with the job's caption style (read back
 * by parsers), bad transcripts are refused with stable codes, and the original can be restored.
 */
import assert from "node:assert/strict";
import { DOMParser } from "@xmldom/xmldom";
import { parseSync } from "subtitle";
import { CaptionDocument } from "../../../supabase/functions/_shared/subtitles/caption_document.ts";
import { renderOutputs } from "../../../supabase/functions/_shared/subtitles/render.ts";
import { adminSql, apiKeys, signedInUser, stackEnv } from "../support/stack_env.ts";

const transcript = {
  language: "en",
  duration: 20,
  segments: [
    { start: 0, end: 4, text: "The first words of the recording are here.", speaker: "A" },
    { start: 5, end: 9, text: "And a reply from somebody else follows.", speaker: "B" },
  ],
};

Deno.test({
  name: "revise: the owner's edit is a new revision, rendered again by the style; restore",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sql = adminSql();
    const owner = await signedInUser();
    const style = {
      preset: "dcmp",
      max_line_chars: 32,
      max_lines: 2,
      max_chars_per_second: 13.6,
      min_duration: 2,
      max_duration: 7,
    };
    const [job] = await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      return await tx`insert into public.jobs (owner_id, filename, media, options, status, completed_at)
        values (${owner.id}, 'revise.mp4', ${
        sql.json({ path: "x/y.json", bytes: 1, sha256: "2", duration: 20 })
      },
          ${sql.json({ caption_style: style })}, 'completed', now()) returning id`;
    });
    try {
      for (const o of renderOutputs({ merge: { transcript }, translate: [] }, style)) {
        await sql`insert into public.job_outputs (job_id, language, format, content)
          values (${job.id}, ${o.language}, ${o.format}, ${o.content})`;
      }
      const invoke = async (body: Record<string, unknown>) => {
        const { data, error } = await owner.client.functions.invoke("revise", {
          body: { job_id: job.id, language: "en", ...body },
        });
        if (!error) return { data, status: 200, code: null };
        const context = (error as { context?: Response }).context!;
        const payload = await context.json();
        return {
          data: null,
          status: context.status,
          code: payload.error.code,
          field: payload.error.field,
        };
      };

      // Refused: stable codes naming the field; nothing stored.
      const bad: [Record<string, unknown>, string, string][] = [
        [{ transcript: { segments: [] } }, "invalid_transcript", "transcript.segments"],
        [
          { transcript: { segments: [{ start: 2, end: 1, text: "x" }] } },
          "invalid_transcript",
          "transcript.segments.0.end",
        ],
        [
          { transcript: { segments: [{ start: 0, end: 1, text: "   " }] } },
          "invalid_transcript",
          "transcript.segments.0.text",
        ],
        [
          { transcript: { segments: [{ start: 0, end: 99, text: "late" }] } },
          "invalid_transcript",
          "transcript.segments.0.end",
        ],
        [
          {
            transcript: {
              segments: [{ start: 5, end: 6, text: "b" }, { start: 1, end: 2, text: "a" }],
            },
          },
          "invalid_transcript",
          "transcript.segments.1.start",
        ],
        [
          { transcript: { segments: [{ start: 0, end: 1, text: "x" }] }, owner_id: owner.id },
          "invalid_transcript",
          "body",
        ],
        [
          { language: "fr", transcript: { segments: [{ start: 0, end: 1, text: "x" }] } },
          "not_found",
          "language",
        ],
        [{ restore: 7 }, "not_found", "restore"],
      ];
      for (const [body, code, field] of bad) {
        const result = await invoke(body);
        assert(result.code === code, `${JSON.stringify(body)}: ${JSON.stringify(result)}`);
        assert(result.field === field, `${JSON.stringify(body)} field: ${result.field}`);
      }
      const { data: session } = await owner.client.auth.getSession();
      const raw = (body: string) =>
        fetch(`${stackEnv().SUPABASE_URL}/functions/v1/revise`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${session.session!.access_token}`,
            apikey: apiKeys().publishable,
            "content-type": "application/json",
          },
          body,
        });
      const notJson = await raw("{not json");
      assert(notJson.status === 400, `not JSON: ${notJson.status}`);
      assert((await notJson.json()).error.field === "body", "not JSON names the body");
      const huge = await raw(
        JSON.stringify({ job_id: job.id, language: "en", pad: "x".repeat(9e6) }),
      );
      assert(huge.status === 413, `9 MB body: ${huge.status}`);
      await huge.body?.cancel();
      const [none] =
        await sql`select count(*)::int as n from public.job_revisions where job_id = ${job.id}`;
      assert(none.n === 0, "a refused edit stored a revision");

      // An edit: one cue far too long for DCMP's 32 characters is laid out again by the rules.
      const long = "This edited caption is much longer than thirty-two characters on one line.";
      const saved = await invoke({
        transcript: {
          segments: [
            { start: 0, end: 4, text: "The first words, edited.", speaker: "Alice" },
            { start: 5, end: 12, text: long, speaker: "B" },
          ],
        },
      });
      assert(saved.status === 200 && saved.data.revision === 1, JSON.stringify(saved));
      const outputs = Object.fromEntries(
        (await sql`select format, content from public.job_outputs where job_id = ${job.id}`)
          .map((r) => [r.format, r.content as string]),
      );
      const doc = CaptionDocument.parse(JSON.parse(outputs.json));
      assert(doc.rules?.preset === "dcmp", "rendered with the job's style");
      assert(doc.cues!.every((c) => c.lines.every((l) => l.length <= 32)), "DCMP line length");
      assert(
        doc.cues![0].lines.join(" ") === "The first words, edited.",
        "the owner's first cue kept",
      );
      assert(doc.cues![0].speaker === "Alice", "renamed speaker");
      const srt = parseSync(outputs.srt).filter((n) => n.type === "cue");
      assert(srt.length === doc.cues!.length, "SRT cues = JSON cues");
      const ttml = new DOMParser().parseFromString(outputs.ttml, "application/xml");
      assert(
        ttml.getElementsByTagNameNS("http://www.w3.org/ns/ttml", "p").length === doc.cues!.length,
        "TTML cues = JSON cues",
      );
      assert(outputs.txt.startsWith("[00:00:00.000] Alice: The first words, edited."), outputs.txt);
      assert(outputs.vtt.includes("<v Alice>"), "WebVTT voice");
      const revisions = await owner.client.from("job_revisions").select("revision,transcript")
        .eq("job_id", job.id).order("revision");
      assert(
        revisions.data?.length === 2,
        `the owner reads revisions: ${JSON.stringify(revisions.error)}`,
      );
      const plain = (segments: { start: number; end: number; text: string; speaker?: string }[]) =>
        segments.map((x) => `${x.start}-${x.end} ${x.speaker}: ${x.text}`).join("|");
      assert(
        plain(
          (revisions.data[0].transcript as {
            segments: { start: number; end: number; text: string; speaker?: string }[];
          }).segments,
        ) === plain(transcript.segments),
        `revision 0 is the original: ${JSON.stringify(revisions.data[0].transcript)}`,
      );

      // Restore the original: revision 2, rendered as the pipeline rendered it.
      const restored = await invoke({ restore: 0 });
      assert(restored.status === 200 && restored.data.revision === 2, JSON.stringify(restored));
      const [srtNow] =
        await sql`select content from public.job_outputs where job_id = ${job.id} and format = 'srt'`;
      const original = renderOutputs({ merge: { transcript }, translate: [] }, style).find((o) =>
        o.format === "srt"
      )!;
      assert(srtNow.content === original.content, "restored outputs equal the original render");
    } finally {
      await sql`delete from public.jobs where id = ${job.id}`;
      await sql.end();
    }
  },
});
