/**
 * End to end in Chromium, through the UI: the caption style chosen in the form, the queue-full
 * state before a file is chosen, relative times, the size-bucket estimate, state changes
 * announced inside the open drawer, the partial transcript as chunks finish, the completion
 * notification (permission granted), the video with one WebVTT track per language and the
 * followed cue, the rule check, the lazily loaded editor (edit, rename, split, shift, undo,
 * save as a revision, restore the original), downloads and a share viewer getting the latest
 * revision, and the cached-result notice. Screenshots: test-artifacts/subtitles-*.png.
 *
 * The pipeline is played by SQL here (held in pending by a blocker, then chunk outputs and the
 * final outputs written as the steps would, the outputs rendered by the render step's own
 * functions with the job's caption style), so the test is quick and deterministic; the real
 * pipeline in the browser is covered by web_test.ts.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../support/browser.ts";
import { makeSpeech, makeVideo } from "../../ship/asr/fixtures.ts";
import { adminSql, stackEnv } from "../support/stack_env.ts";
import { join } from "node:path";
import { renderOutputs } from "../../../supabase/functions/_shared/subtitles/render.ts";
import type { Transcript } from "../../../supabase/functions/_shared/subtitles/transcript.ts";

const root = new URL("../../..", import.meta.url).pathname;
const artifacts = join(root, "test-artifacts");
const sql = adminSql();

async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  await page.screenshot({
    path: join(artifacts, `subtitles-${name}.png`),
    fullPage,
    animations: "disabled",
  });
}

const transcript: Transcript = {
  language: "en",
  duration: 12,
  segments: [
    { start: 0.2, end: 3, text: "Good morning and welcome to the bakery.", speaker: "A" },
    {
      start: 3.4,
      end: 7.5,
      text: "Fresh bread comes out of the oven every hour, all day long.",
      speaker: "B",
    },
    { start: 8, end: 11.5, text: "Thank you for coming.", speaker: "A" },
  ],
};
const german: Transcript = {
  language: "de",
  duration: 12,
  segments: [
    { start: 0.2, end: 3, text: "Guten Morgen und willkommen in der Bäckerei.", speaker: "A" },
    { start: 3.4, end: 7.5, text: "Frisches Brot kommt jede Stunde aus dem Ofen.", speaker: "B" },
    { start: 8, end: 11.5, text: "Danke fürs Kommen.", speaker: "A" },
  ],
};

Deno.test({
  name:
    "subtitles: style preset, queue full, estimate, partial transcript, captions on video, editor",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const env = stackEnv();
    await Deno.mkdir(artifacts, { recursive: true });
    const dir = await Deno.makeTempDir({ prefix: "ai-subs-subtitles-" });
    const wav = join(dir, "bakery.wav");
    const video = join(dir, "bakery.mp4");
    await makeSpeech(`Good morning and welcome to the bakery, number ${Date.now() % 100000}.`, wav);
    await makeVideo(wav, video);

    // A blocker: the one global dispatch slot taken by another user's running job, and a past
    // completed job of the same size bucket (0-100MB) that took 300 s, for the estimate.
    const [other] = await sql`insert into auth.users (id, role, aud, is_anonymous)
      values (gen_random_uuid(), 'authenticated', 'authenticated', true) returning id`;
    await sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      const [blocker] =
        await tx`insert into public.jobs (owner_id, filename, media, status, started_at)
        values (${other.id}, 'subtitles-blocker.wav', '{"path": "x/y/z.wav", "bytes": 1, "sha256": "0"}',
          'processing', now()) returning id`;
      await tx`insert into private.tasks (job_id, step, status, heartbeat_at, lease)
        values (${blocker.id}, 'prepare', 'running', now(), gen_random_uuid())`;
      await tx`insert into public.jobs (owner_id, filename, media, status, started_at, completed_at)
        values (${other.id}, 'subtitles-past.wav', '{"path": "x/y/p.wav", "bytes": 5000000, "sha256": "1"}',
          'completed', now() - interval '10 minutes', now() - interval '5 minutes')`;
    });
    const [settings] = await sql`select global_parallelism, active_job_limit from private.settings`;
    await sql`update private.settings set global_parallelism = 1, active_job_limit = 1`;

    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const context = await browser.newContext({ acceptDownloads: true });
      await context.grantPermissions(["notifications"], { origin: env.SUPABASE_URL });
      // Records every notification the page shows (the real one is shown too).
      await context.addInitScript(() => {
        const Real = globalThis.Notification;
        const shown: { title: string; body?: string }[] = [];
        (globalThis as unknown as { __shown: typeof shown }).__shown = shown;
        class Recording extends Real {
          constructor(title: string, options?: NotificationOptions) {
            super(title, options);
            shown.push({ title, body: options?.body });
          }
        }
        Object.defineProperty(globalThis, "Notification", { value: Recording });
      });
      const page = await context.newPage();
      const scripts: string[] = [];
      page.on("request", (r) => {
        if (r.resourceType() === "script") scripts.push(r.url());
      });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("dialog", (d) => void d.accept());

      await page.goto(`${env.SUPABASE_URL}/`);
      await page.waitForSelector("body[data-user]", { timeout: 20_000 }).catch((e) => {
        throw new Error(`no sign-in: ${errors.join("; ")} ${e}`);
      });
      const userId = (await page.getAttribute("body", "data-user"))!;

      // First load: the JavaScript fetched before any file is chosen stays under 300 kB gzip
      // (the editor, mediabunny and ffmpeg.wasm load later, on demand).
      await page.waitForLoadState("networkidle");
      let firstLoad = 0;
      for (const url of new Set(scripts)) {
        const path = join(root, "web/dist", new URL(url).pathname);
        const gzip = new Blob([await Deno.readFile(path)]).stream()
          .pipeThrough(new CompressionStream("gzip"));
        firstLoad += (await new Response(gzip).arrayBuffer()).byteLength;
      }
      console.log(
        `first-load JS: ${(firstLoad / 1024).toFixed(1)} kB gzip in ${new Set(scripts).size} files`,
      );
      assert(firstLoad < 300 * 1024, `first-load JS ${firstLoad} bytes gzip`);
      assert(!scripts.some((u) => /editor-/.test(u)), "the editor is part of the first load");

      // Queue full (the blocker is the one active job allowed): upload disabled before a file.
      await page.waitForSelector("#queue-full:not([hidden])", { timeout: 10_000 });
      assert((await page.textContent("#queue-full h3"))?.includes("System Busy"), "heading");
      assert(await page.isDisabled("#file-input"), "file input enabled while full");
      await shot(page, "queue-full", true);
      await page.getByRole("button", { name: "View Current Jobs" }).click();
      await page.waitForSelector("#drawer:not([hidden])");
      await page.keyboard.press("Escape");

      // Room again: choose the BBC style and submit; the job waits behind the blocker.
      await sql`update private.settings set active_job_limit = 10`;
      await page.reload();
      await page.waitForSelector("body[data-user]");
      await page.waitForFunction(() =>
        !(document.querySelector("#file-input") as HTMLInputElement).disabled
      );
      await page.selectOption("#caption-preset", "bbc");
      await page.setInputFiles("#file-input", video);
      await page.click("#submit-button");
      await page.waitForSelector("#drawer:not([hidden])", { timeout: 30_000 });
      const card = page.locator("#drawer li.job", { hasText: "bakery.mp4" }).first();
      await card.waitFor({ timeout: 15_000 });
      const jobId = (await card.getAttribute("data-job-id"))!;
      const [job] = await sql`select options, media from public.jobs where id = ${jobId}`;
      assert(job.options.caption_style.preset === "bbc", `style: ${JSON.stringify(job.options)}`);
      assert(job.options.caption_style.max_line_chars === 37, "BBC numbers filled in");

      // Relative time with the absolute one on hover; the estimate from the size bucket.
      const time = card.locator("time.relative-time");
      assert(
        /just now|minute/.test((await time.textContent())!),
        `relative: ${await time.textContent()}`,
      );
      assert(((await time.getAttribute("title")) ?? "").length > 8, "no absolute time on hover");
      await card.locator(".eta", { hasText: "0-100MB" }).waitFor({ timeout: 10_000 });
      const eta = (await card.locator(".eta").textContent())!;
      const [estimate] = await sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${
          JSON.stringify({ sub: userId, role: "authenticated" })
        }, true)`;
        return await tx`select public.estimate_job(${jobId}) as e`;
      });
      const { seconds_remaining: seconds, basis, bucket } = estimate.e;
      assert(
        basis === "size_bucket" && bucket === "0-100MB",
        `estimate ${JSON.stringify(estimate.e)}`,
      );
      const minutes = Math.round(seconds / 60);
      const expected = seconds < 60
        ? "Less than a minute remaining"
        : `About ${minutes} minute${minutes === 1 ? "" : "s"} remaining`;
      assert(
        eta === `${expected} (from past jobs of 0-100MB)`,
        `estimate shown: ${eta} (${seconds} s)`,
      );

      // Processing: two chunks, the first done. The state change is announced inside the drawer.
      await sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        await tx`delete from private.tasks where job_id = ${jobId}`;
        await tx`insert into private.tasks (job_id, step, key, chunk_index, status, output) values
          (${jobId}, 'transcribe', '0', 0, 'completed', ${
          sql.json({ transcript: { language: "en", segments: [transcript.segments[0]] } })
        }),
          (${jobId}, 'transcribe', '1', 1, 'pending', null)`;
      });
      await sql`update public.jobs set status = 'processing', progress = 40, started_at = now(),
        stage = 'transcribe', stage_message = 'Transcribing' where id = ${jobId}`;
      await page.waitForFunction(
        () =>
          /bakery\.mp4/.test(
            document.querySelector("#drawer #drawer-announcer")?.textContent ?? "",
          ),
        null,
        { timeout: 10_000 },
      );

      // The transcript so far, marked partial, grows as the second chunk finishes.
      await card.getByRole("button", { name: /View transcript so far/ }).click();
      await page.waitForSelector("#viewer-partial:not([hidden])", { timeout: 10_000 });
      assert(
        (await page.textContent("#viewer-partial"))?.includes("1 of 2 parts"),
        "partial banner",
      );
      assert(
        (await page.textContent("#segments"))?.includes("welcome to the bakery"),
        "chunk 0 text",
      );
      await shot(page, "partial");
      await sql`update private.tasks set status = 'completed', output = ${
        sql.json({ transcript: { language: "en", segments: transcript.segments.slice(1) } })
      } where job_id = ${jobId} and key = '1'`;
      await sql`update public.jobs set progress = 70 where id = ${jobId}`;
      await page.waitForFunction(() =>
        /2 of 2 parts/.test(document.querySelector("#viewer-partial")?.textContent ?? "")
      );
      assert((await page.textContent("#segments"))?.includes("Fresh bread"), "chunk 1 text");

      // Completed: outputs rendered by the render step with the job's style, en and de.
      const outputs = renderOutputs(
        { merge: { transcript }, translate: [{ language: "de", transcript: german }] },
        job.options.caption_style,
      );
      for (const o of outputs) {
        await sql`insert into public.job_outputs (job_id, language, format, content)
          values (${jobId}, ${o.language}, ${o.format}, ${o.content})`;
      }
      await sql`update public.jobs set status = 'completed', progress = 100, completed_at = now(),
        media = media || '{"duration": 12}',
        options = options || '{"translate_to": ["de"]}' where id = ${jobId}`;
      await page.waitForFunction(() =>
        (document.querySelector("#viewer-partial") as HTMLElement).hidden
      );
      // The viewer is a modal too: the completion is announced inside it.
      await page.waitForFunction(() =>
        /bakery\.mp4: /.test(document.querySelector("#viewer #viewer-announcer")?.textContent ?? "")
      );
      await page.waitForFunction(() =>
        document.querySelectorAll("#viewer-video track").length === 2
      );
      const shown = await page.evaluate(() =>
        (globalThis as unknown as { __shown: { title: string }[] }).__shown
      );
      assert(
        shown.some((n) => n.title === "Subtitles ready"),
        `notifications: ${JSON.stringify(shown)}`,
      );

      // The video plays with the WebVTT track; the cue on screen is highlighted in the list.
      assert(await page.isVisible("#viewer-video"), "no video for the local file");
      await page.selectOption("#viewer-language", "en");
      assert(
        (await page.textContent("#viewer-rules"))?.includes("BBC"),
        "rule check names the style",
      );
      await page.evaluate(async () => {
        const v = document.querySelector<HTMLVideoElement>("#viewer-video")!;
        if (v.readyState < 1) {
          await new Promise((r) => v.addEventListener("loadedmetadata", r, { once: true }));
        }
        v.currentTime = 4;
        await new Promise((r) => v.addEventListener("seeked", r, { once: true }));
      });
      await page.waitForFunction(
        () => {
          const tracks = document.querySelector<HTMLVideoElement>("#viewer-video")!.textTracks;
          const t = Array.from(tracks).find((track) => track.language === "en")!;
          return t.mode === "showing" && (t.activeCues?.length ?? 0) > 0;
        },
        null,
        { timeout: 10_000 },
      );
      const current = page.locator("#segments li.current");
      await current.waitFor({ timeout: 5_000 });
      assert(
        (await current.textContent())?.includes("Fresh bread"),
        `current: ${await current.textContent()}`,
      );
      assert(await current.getAttribute("aria-current") === "true", "aria-current");
      await shot(page, "viewer-captions");
      await page.selectOption("#viewer-language", "de");
      const modes = await page.evaluate(() =>
        Array.from(document.querySelector<HTMLVideoElement>("#viewer-video")!.textTracks)
          .map((t) => `${t.language}:${t.mode}`).sort().join(" ")
      );
      assert(modes === "de:showing en:disabled", `track modes: ${modes}`);
      await page.selectOption("#viewer-language", "en");

      // The editor is a separate chunk, loaded only when opened.
      assert(!scripts.some((u) => /editor-/.test(u)), "the editor loaded with the page");
      await page.click("#edit-transcript");
      await page.waitForSelector(".editor textarea", { timeout: 10_000 });
      assert(scripts.some((u) => /editor-/.test(u)), "the editor chunk was not fetched on open");
      const first = page.locator(".editor-cue").first().locator("textarea");
      await first.fill("Good morning and welcome to our bakery.");
      await first.dispatchEvent("change");
      await page.selectOption("#editor-speaker-from", "A");
      await page.fill("#editor-speaker-to", "Alice");
      await page.getByRole("button", { name: "Rename" }).click();
      const count = await page.locator(".editor-cue").count();
      await page.getByRole("button", { name: `Split caption ${count}` }).click();
      assert(await page.locator(".editor-cue").count() === count + 1, "split");
      const startBefore = await page.locator(".editor-cue .time-input").first().inputValue();
      await page.fill("#editor-shift", "0.5");
      await page.getByRole("button", { name: "Shift all" }).click();
      const shifted = await page.locator(".editor-cue .time-input").first().inputValue();
      assert(
        Math.abs(Number(shifted) - Number(startBefore) - 0.5) < 1e-6,
        `shift ${startBefore} → ${shifted}`,
      );
      await page.getByRole("button", { name: "Undo" }).click();
      assert(
        await page.locator(".editor-cue .time-input").first().inputValue() === startBefore,
        "undo",
      );
      assert(await page.locator(".editor-cue").count() === count + 1, "undo undid only the shift");
      await shot(page, "editor");
      await page.getByRole("button", { name: "Save subtitles" }).click();
      await page.waitForSelector(".editor .message-ok", { timeout: 15_000 }).catch(async (e) => {
        throw new Error(`save: ${await page.textContent(".editor .message")} ${e}`);
      });
      assert((await page.textContent(".editor .message"))?.includes("Revision 1"), "revision 1");
      const revisions =
        await sql`select revision from public.job_revisions where job_id = ${jobId} order by 1`;
      assert(
        revisions.map((r) => r.revision).join() === "0,1",
        `revisions ${revisions.map((r) => r.revision)}`,
      );
      const [vtt] = await sql`select content from public.job_outputs where job_id = ${jobId}
        and language = 'en' and format = 'vtt'`;
      assert(vtt.content.includes("our bakery") && vtt.content.includes("<v Alice>"), vtt.content);
      await page.waitForFunction(() =>
        /our bakery/.test(document.querySelector("#segments")?.textContent ?? "")
      );
      await shot(page, "editor-saved");

      // Downloads get the revision (TTML).
      await page.click("#close-viewer");
      await page.waitForSelector("#drawer:not([hidden])");
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        card.getByRole("button", { name: /Download TTML/ }).click(),
      ]);
      const ttml = await Deno.readTextFile((await download.path())!);
      assert(
        ttml.includes("our bakery") && ttml.includes("imsc1.1/text"),
        "TTML download is the revision",
      );

      // A share viewer (another browser, no video) gets the same transcript view, revised.
      await card.getByRole("button", { name: /^Share/ }).click();
      const link = await page.locator(".share-input").inputValue({ timeout: 10_000 });
      const otherContext = await browser.newContext();
      const viewerPage = await otherContext.newPage();
      await viewerPage.goto(link);
      const shared = viewerPage.locator(`#shared-job [data-job-id="${jobId}"]`);
      await shared.waitFor({ timeout: 20_000 });
      await shared.getByRole("button", { name: /View transcript/ }).click();
      await viewerPage.waitForSelector("#segments li");
      assert(await viewerPage.isHidden("#viewer-video"), "a share viewer has no video");
      assert(
        await viewerPage.isHidden("#viewer-actions"),
        `a share viewer cannot edit: ${await viewerPage.evaluate(() =>
          document.body.dataset.user
        )} ${userId}`,
      );
      assert(
        (await viewerPage.textContent("#segments"))?.includes("our bakery"),
        "share sees revision",
      );
      await shot(viewerPage, "shared-viewer");
      await otherContext.close();

      // Restore the original: a new revision with the pipeline's transcript.
      await card.getByRole("button", { name: /^View transcript/ }).first().click();
      await page.click("#edit-transcript");
      await page.getByRole("button", { name: "Restore original" }).click();
      await page.waitForSelector(".editor .message-ok", { timeout: 15_000 });
      const [restored] = await sql`select content from public.job_outputs where job_id = ${jobId}
        and language = 'en' and format = 'srt'`;
      assert(
        restored.content.includes("the bakery") && !restored.content.includes("our bakery"),
        "restored",
      );
      const [last] = await sql`select revision, restored_from from public.job_revisions
        where job_id = ${jobId} order by revision desc limit 1`;
      assert(last.revision === 2 && last.restored_from === 0, `restore: ${JSON.stringify(last)}`);
      await page.click("#close-viewer");

      // The same file with the same style again: the cached result, with its notice.
      await page.keyboard.press("Escape");
      await page.selectOption("#caption-preset", "bbc");
      await page.check('#translate-to input[value="de"]');
      await page.setInputFiles("#file-input", video);
      await page.click("#submit-button");
      await page.waitForFunction(
        () => /Result from/.test(document.querySelector("#submit-message")?.textContent ?? ""),
        null,
        { timeout: 30_000 },
      );
      await page.waitForSelector("#drawer li.job .cached", { timeout: 10_000 });
      assert(
        (await page.textContent("#drawer li.job .cached"))?.includes("transcribed before"),
        "cached notice on the card",
      );
      await shot(page, "cached");

      // 360 px phones: the form with its caption style and the cards with five downloads fit.
      await page.setViewportSize({ width: 360, height: 780 });
      const drawerWidth = await page.evaluate(() => document.querySelector("#drawer")!.scrollWidth);
      assert(drawerWidth <= 360, `the drawer is ${drawerWidth} px wide at 360 px`);
      await page.keyboard.press("Escape");
      await page.selectOption("#caption-preset", "custom");
      const pageWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(pageWidth <= 360, `the page scrolls sideways at 360 px (${pageWidth} px wide)`);
      await shot(page, "narrow", true);
      assert(errors.length === 0, `page errors: ${errors.join("; ")}`);
    } finally {
      await browser?.close();
      await sql`delete from auth.users where id = ${other.id}`;
      await sql`update private.settings set global_parallelism = ${settings.global_parallelism},
        active_job_limit = ${settings.active_job_limit}`;
      await sql`select private.dispatch_due()`;
      await sql.end();
    }
  },
});
