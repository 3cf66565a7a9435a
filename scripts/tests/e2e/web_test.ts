/**
 * End to end: the web app served by the stack at `/`, driven in Debian's chromium against the
 * offline engine. One visitor's story, in order: the queue-full refusal (before the upload, and
 * at insert), submitting a small real video (ffmpeg + flite), the drawer and its focus trap,
 * a reload while the job waits, live progress to completion, the notification prompt, the SRT
 * download and its words, the transcript viewer, a share link opened in a second browser
 * context, the offline banner when the API goes away and the re-sync after, cancel and retry,
 * the 360 px layout, reduced motion and text contrast. Screenshots go to test-artifacts/.
 *
 * Jobs are held in `pending` deterministically by a "blocker": the global parallelism cap set
 * to 1 and occupied by a running task of another user's job (settings restored at the end).
 *
 * Needs web/dist built (`deno task web:build`; the test command does it).
 */
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "../support/browser.ts";
import { makeSpeech, makeVideo } from "../../ship/asr/fixtures.ts";
import { adminSql, stackEnv } from "../support/stack_env.ts";
import { join } from "node:path";

const root = new URL("../../..", import.meta.url).pathname;
const artifacts = join(root, "test-artifacts");

const SPOKEN = "The baker opens his shop before sunrise and the smell of fresh bread drifts " +
  "along the quiet street. Children carry their books to school.";
const EXPECTED_WORDS = ["baker", "shop", "bread", "street", "children", "books", "school"];

const sql = adminSql();

/** Holds every new job in `pending`: the one global dispatch slot is taken by another job. */
async function block(activeLimit: number): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    const [user] = await tx`insert into auth.users (id, role, aud, is_anonymous)
      values (gen_random_uuid(), 'authenticated', 'authenticated', true) returning id`;
    const [job] = await tx`insert into public.jobs (owner_id, filename, media, status, started_at)
      values (${user.id}, 'e2e-blocker.wav', '{"path": "x/y/z.wav", "bytes": 1, "sha256": "0"}',
        'processing', now()) returning id`;
    await tx`insert into private.tasks (job_id, step, status, heartbeat_at, lease)
      values (${job.id}, 'prepare', 'running', now(), gen_random_uuid())`;
    await tx`update private.settings set global_parallelism = 1, active_job_limit = ${activeLimit}`;
  });
}

async function unblock(): Promise<void> {
  await sql`delete from auth.users where id in
    (select owner_id from public.jobs where filename = 'e2e-blocker.wav')`;
  await sql`update private.settings set global_parallelism = 8, active_job_limit = 3`;
  await sql`select private.dispatch_due()`;
}

async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  // "disabled" runs finite CSS animations to their end: the drawer is shown where it stops,
  // not halfway through sliding in.
  await page.screenshot({
    path: join(artifacts, `web-${name}.png`),
    fullPage,
    animations: "disabled",
  });
}

async function makeTalkVideo(dir: string, name: string, extra: string): Promise<string> {
  const wav = join(dir, `${name}.wav`);
  const mp4 = join(dir, `${name}.mp4`);
  await makeSpeech(`${SPOKEN} ${extra}`, wav);
  await makeVideo(wav, mp4);
  return mp4;
}

/** Chooses `file` in the form and presses the submit button. */
async function submitFile(page: Page, file: string): Promise<void> {
  await page.setInputFiles("#file-input", file);
  await page.click("#submit-button");
}

const card = (page: Page, filename: string) =>
  page.locator("#drawer li.job", { hasText: filename }).first();

async function openDrawer(page: Page): Promise<void> {
  if (await page.isHidden("#drawer")) await page.click("#open-drawer");
  await page.waitForSelector("#drawer:not([hidden])");
}

/** Relative luminance contrast of every visible text against its painted background. */
function lowContrast(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el: Element | null): number[] => {
      for (; el; el = el.parentElement) {
        const c = rgb(getComputedStyle(el).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const bad: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || !n.textContent?.trim() || el.closest("[hidden], .visually-hidden, script")) {
        continue;
      }
      if (el.getClientRects().length === 0) continue;
      const fg = lum(rgb(getComputedStyle(el).color));
      const bg = lum(background(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < 4.5) bad.push(`${ratio.toFixed(2)} "${n.textContent.trim().slice(0, 30)}"`);
    }
    return bad;
  });
}

Deno.test({
  name: "web app: leaving while the upload runs asks first; once submitted, leaving is silent",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const env = stackEnv();
    const dir = await Deno.makeTempDir({ prefix: "ai-subs-web-leave-" });
    const video = await makeTalkVideo(dir, "leaving", `Leaving number ${Date.now() % 100000}.`);
    let browser: Browser | undefined;
    let userId: string | null = null;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      // The first TUS PATCH is held, so the upload is surely still running when we try to leave.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let patchSeen!: () => void;
      const patchHeld = new Promise<void>((resolve) => (patchSeen = resolve));
      await page.route(/\/storage\/v1\/upload\/resumable\//, async (route) => {
        if (route.request().method() === "PATCH") {
          patchSeen();
          await released;
        }
        await route.fallback();
      });
      const dialogs: string[] = [];
      page.on("dialog", (dialog) => {
        dialogs.push(dialog.type());
        void dialog.dismiss(); // "Stay on page"
      });
      await page.goto(`${env.SUPABASE_URL}/`);
      await page.waitForSelector("body[data-user]", { timeout: 20_000 });
      userId = await page.getAttribute("body", "data-user");
      await submitFile(page, video);
      await patchHeld;
      assert(await page.isVisible("#keep-open"), "no keep-this-tab-open hint during the upload");
      await Deno.mkdir(artifacts, { recursive: true });
      await shot(page, "0-uploading");

      // A reload started by the page stands for leaving (page.close() skips the prompt here).
      const leave = () => page.evaluate(() => location.reload()).catch(() => {});
      void leave();
      for (let i = 0; i < 50 && !dialogs.length; i++) await page.waitForTimeout(100);
      assert(dialogs.join() === "beforeunload", `leaving mid-upload: dialogs ${dialogs.join()}`);
      assert(
        await page.isVisible("#submit-progress"),
        "the upload stopped although the user stayed",
      );

      release();
      await page.waitForFunction(
        () => document.querySelector("#submit-message")?.textContent?.includes("submitted"),
        null,
        { timeout: 30_000 },
      );
      assert(await page.isHidden("#keep-open"), "the keep-open hint stays after submission");
      await Promise.all([page.waitForEvent("load"), leave()]);
      assert(dialogs.length === 1, `leaving after submission asked again: ${dialogs.join()}`);
    } finally {
      if (userId) await sql`delete from public.jobs where owner_id = ${userId}`;
      await browser?.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "web app: queue full, submit a video, drawer, reload, live completion, SRT, viewer, " +
    "share, offline banner, cancel and retry, 360 px, a11y",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const env = stackEnv();
    await Deno.mkdir(artifacts, { recursive: true });
    const dir = await Deno.makeTempDir({ prefix: "ai-subs-web-e2e-" });
    const stamp = Date.now() % 100000;
    const [talk, second] = await Promise.all([
      makeTalkVideo(dir, "morning", `We bought eggs number ${stamp}.`),
      makeTalkVideo(dir, "evening", `We bought tea number ${stamp}.`),
    ]);

    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const context: BrowserContext = await browser.newContext({ acceptDownloads: true });
      // The API can be taken away: open sockets closed, new ones refused, REST aborted.
      let apiDown = false;
      const sockets: { close(): Promise<void> }[] = [];
      await context.routeWebSocket(/\/realtime\/v1\/websocket/, (ws) => {
        if (apiDown) return void ws.close();
        ws.connectToServer();
        sockets.push(ws);
      });
      await context.route(/\/rest\/v1\//, (route) => apiDown ? route.abort() : route.fallback());

      const page = await context.newPage();
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));

      await block(1);
      await page.goto(`${env.SUPABASE_URL}/`);
      await page.waitForSelector("body[data-user]", { timeout: 20_000 }).catch(async (e) => {
        await shot(page, "signin-failed");
        throw new Error(`no anonymous sign-in (page errors: ${pageErrors.join("; ")}): ${e}`);
      });
      await page.waitForSelector("body[data-live=true]", { timeout: 20_000 });
      assert(await page.isHidden("#offline"), "the offline banner shows while subscribed");
      assert((await page.textContent(".note"))?.includes("low quality"), "no offline-engine note");
      await shot(page, "1-start");

      // Queue full: the upload is disabled before a file is chosen, with the seed's notice.
      await page.waitForSelector("#queue-full:not([hidden])", { timeout: 10_000 });
      const heading = await page.textContent("#queue-full h3");
      assert(heading?.includes("System Busy"), `queue-full heading: ${heading}`);
      const fullText = await page.textContent("#queue-full");
      assert(fullText?.includes("try again in a few minutes"), `queue-full text: ${fullText}`);
      assert(await page.isDisabled("#file-input"), "the file input is enabled while full");
      assert(await page.isDisabled("#submit-button"), "the submit button is enabled while full");
      await shot(page, "2-queue-full");
      await page.getByRole("button", { name: "View Current Jobs" }).click();
      await page.waitForSelector("#drawer:not([hidden])");
      await page.keyboard.press("Escape");

      // Queue full at insert (another submission won the race after the check).
      await page.route(/\/rest\/v1\/rpc\/queue_status/, (route) =>
        route.fulfill({
          contentType: "application/json",
          body: JSON.stringify({ active: 0, limit: 3, accepting: true, message: null }),
        }));
      await page.reload();
      await page.waitForSelector("body[data-user]", { timeout: 20_000 });
      await page.waitForFunction(() =>
        !(document.querySelector("#file-input") as HTMLInputElement).disabled
      );
      await submitFile(page, talk);
      // The refusal now comes from the insert, after the upload.
      await page.waitForSelector("#submit-progress:not([hidden])", { timeout: 10_000 });
      await page.waitForFunction(
        () =>
          document.querySelector("#submit-progress")?.hasAttribute("hidden") &&
          document.querySelector("#submit-message")?.textContent?.includes("1 jobs are processing"),
        null,
        { timeout: 20_000 },
      ).catch(async (e) => {
        throw new Error(`insert race: ${await page.textContent("#submit-message")} (${e})`);
      });

      // Accepted: the drawer opens on submit with the pending job and the safe-close promise.
      // The route goes only after the click: the page re-checks the queue once the refused
      // submission ends, and that answer enables the button; unrouted earlier, it could be the
      // real "full" of the lowered limit, read before the limit is raised again.
      await sql`update private.settings set active_job_limit = 3`;
      await page.click("#submit-button");
      await page.unroute(/\/rest\/v1\/rpc\/queue_status/);
      await page.waitForSelector("#drawer:not([hidden])", { timeout: 30_000 });
      const job = card(page, "morning.mp4");
      await job.waitFor({ timeout: 15_000 });
      const jobId = await job.getAttribute("data-job-id");
      assert(jobId, "the card has no data-job-id");
      assert(await job.locator("[data-progress]").count() === 1, "no data-progress element");
      assert((await job.textContent())?.includes("safely close this browser"), "no safe-close");
      assert(
        (await page.textContent("#submit-message"))?.includes("submitted"),
        `not submitted: ${await page.textContent("#submit-message")}`,
      );
      await page.waitForFunction(() =>
        /1 job/.test(document.querySelector("#stats")?.textContent ?? "")
      );
      await shot(page, "3-drawer-pending", false);

      // Focus stays in the open drawer; Escape closes it.
      for (let i = 0; i < 25; i++) {
        await page.keyboard.press(i % 7 === 6 ? "Shift+Tab" : "Tab");
        assert(
          await page.evaluate(() =>
            document.querySelector("#drawer")!.contains(document.activeElement)
          ),
          `focus left the drawer after ${i + 1} tabs`,
        );
      }
      await page.keyboard.press("Escape");
      assert(await page.isHidden("#drawer"), "Escape did not close the drawer");

      // Reload while the job waits: it is still there, and continues live.
      await page.reload();
      await page.waitForSelector("body[data-live=true]", { timeout: 20_000 });
      await openDrawer(page);
      await card(page, "morning.mp4").waitFor({ timeout: 10_000 });
      assert(
        ["pending", "processing"].includes(
          (await card(page, "morning.mp4").getAttribute("data-status"))!,
        ),
        "the job is not active after the reload",
      );
      await unblock();
      const progressSeen = new Set<string>();
      const deadline = Date.now() + 120_000;
      for (;;) {
        const c = card(page, "morning.mp4");
        const status = await c.getAttribute("data-status");
        const value = await c.locator("[data-progress]").getAttribute("value").catch(() => null);
        if (value) progressSeen.add(value);
        if (status === "completed") break;
        if (status === "failed" || status === "cancelled" || Date.now() > deadline) {
          await shot(page, "not-completed");
          throw new Error(`job ended ${status}: ${await c.textContent()}`);
        }
        await page.waitForTimeout(100);
      }
      console.log(`progress values seen live: ${[...progressSeen].join(", ")}`);

      // The first completed job asks about notifications; "Not now" is remembered.
      await page.waitForSelector(".notify-prompt", { timeout: 5_000 });
      await page.click(".notify-prompt >> text=Not now");
      assert(
        await page.evaluate(() => localStorage.getItem("ai-subs.notifications-not-now")) === "1",
        "Not now was not remembered",
      );
      await shot(page, "4-completed", false);

      const done = card(page, "morning.mp4");
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        done.getByRole("button", { name: /Download SRT/ }).click(),
      ]);
      assert(download.suggestedFilename() === "morning.srt", download.suggestedFilename());
      const srt = await Deno.readTextFile((await download.path())!);
      assert(/^1\r?\n\d\d:\d\d:\d\d,\d\d\d --> /.test(srt), `not an SRT file:\n${srt}`);
      const heard = EXPECTED_WORDS.filter((w) => srt.toLowerCase().includes(w));
      assert(heard.length >= 3, `SRT has too few of ${EXPECTED_WORDS.join(", ")}:\n${srt}`);

      // The transcript viewer: lines with timestamps, the engine's limits, search, seek, Escape.
      await done.getByRole("button", { name: /View transcript/ }).click();
      await page.waitForSelector("#segments li", { timeout: 10_000 });
      assert(await page.isVisible("#viewer-engine-note"), "the viewer does not state the limits");
      // The page was reloaded since the upload: the local file is gone, so there is no video.
      assert(await page.isHidden("#viewer-video"), "a video is offered without the local file");
      const lines = await page.locator("#segments li").count();
      await page.fill("#viewer-search", heard[0]);
      await page.waitForFunction(() =>
        /match/.test(document.querySelector("#viewer-count")?.textContent ?? "")
      );
      assert(await page.locator("#segments li").count() <= lines, "search did not filter");
      await shot(page, "5-viewer", false);
      await page.keyboard.press("Escape");
      assert(await page.isHidden("#viewer"), "Escape did not close the viewer");
      assert(await page.isVisible("#drawer"), "closing the viewer closed the drawer");

      // Share: the link opens the job read-only in another browser (another anonymous user).
      await done.getByRole("button", { name: /^Share/ }).click();
      const link = await page.locator(".share-input").inputValue({ timeout: 10_000 });
      // index.html alone serves it (no rewrite rules on a static host).
      assert(new RegExp(`/\\?job=${jobId}#token=[0-9a-f]{32,}$`).test(link), `share link: ${link}`);
      const other = await browser.newContext();
      const viewerPage = await other.newPage();
      await viewerPage.goto(link);
      const sharedCard = viewerPage.locator(`#shared-job [data-job-id="${jobId}"]`);
      await sharedCard.waitFor({ timeout: 20_000 });
      assert(await sharedCard.getAttribute("data-status") === "completed", "shared job status");
      assert(
        await sharedCard.getByRole("button", { name: /^Delete/ }).count() === 0,
        "viewer can delete",
      );
      assert(
        await sharedCard.getByRole("button", { name: /Download SRT/ }).count() === 1,
        "no download",
      );
      assert(!viewerPage.url().includes("token="), "the token stays in the address bar");
      await shot(viewerPage, "6-shared");
      await other.close();
      // A link of the earlier form (/jobs/<id>#token=…) still opens it, and a path the app
      // does not have is a plain 404, as on a static host without rewrite rules.
      const legacy = await browser.newContext();
      const legacyPage = await legacy.newPage();
      const { origin, hash } = new URL(link);
      await legacyPage.goto(`${origin}/jobs/${jobId}${hash}`);
      await legacyPage.locator(`#shared-job [data-job-id="${jobId}"]`).waitFor({ timeout: 20_000 });
      await legacy.close();
      const missing = await fetch(`${origin}/some/route`);
      await missing.body?.cancel();
      assert(missing.status === 404, `an unknown path answered ${missing.status}`);

      // The API goes away: stale banner, last known jobs still shown; back: re-synced.
      await page.keyboard.press("Escape");
      apiDown = true;
      await Promise.all(sockets.splice(0).map((ws) => ws.close()));
      await page.waitForSelector("#offline:not([hidden])", { timeout: 15_000 });
      assert(
        (await page.textContent("#offline"))?.includes("Offline - data may be stale"),
        "banner",
      );
      await page.reload();
      await page.waitForSelector("#offline:not([hidden])", { timeout: 20_000 });
      await openDrawer(page);
      await card(page, "morning.mp4").waitFor({ timeout: 5_000 });
      assert(await page.isVisible("#drawer-offline"), "the open drawer does not say it is stale");
      await shot(page, "7-offline", false);
      await page.keyboard.press("Escape");
      apiDown = false;
      await page.waitForSelector("body[data-live=true]", { timeout: 30_000 });
      assert(await page.isHidden("#offline"), "the banner stays after reconnecting");

      // Cancel and retry (same settings) of a job held in pending.
      await block(3);
      await submitFile(page, second);
      await page.waitForSelector("#drawer:not([hidden])", { timeout: 30_000 });
      const evening = card(page, "evening.mp4");
      await evening.waitFor({ timeout: 15_000 });
      await evening.getByRole("button", { name: /^Cancel/ }).click();
      await page.locator('#drawer li.job[data-status="cancelled"]', { hasText: "evening.mp4" })
        .waitFor({ timeout: 10_000 });
      await shot(page, "8-cancelled", false);
      await page.locator('#drawer li.job[data-status="cancelled"]', { hasText: "evening.mp4" })
        .getByRole("button", { name: /^Retry/ }).click();
      await page.locator('#drawer li.job[data-status="pending"]', { hasText: "evening.mp4" })
        .waitFor({ timeout: 10_000 });
      await unblock();
      const eveningDone = page.locator('#drawer li.job[data-status="completed"]', {
        hasText: "evening.mp4",
      });
      await eveningDone.waitFor({ timeout: 120_000 });

      // Chosen in this page (no reload since): a click on a line seeks the local video there.
      await eveningDone.getByRole("button", { name: /View transcript/ }).click();
      await page.waitForSelector("#segments li button", { timeout: 10_000 });
      assert(await page.isVisible("#viewer-video"), "the local video is not offered");
      const target = await page.locator("#segments li").last();
      const start = Number(await target.getAttribute("data-start"));
      await target.locator("button").click();
      await page.waitForFunction(
        (t) => {
          const v = document.querySelector<HTMLVideoElement>("#viewer-video")!;
          return Math.abs(v.currentTime - t) < 1.5;
        },
        start,
        { timeout: 5_000 },
      );
      await shot(page, "8b-viewer-video", false);
      await page.keyboard.press("Escape");

      // Filter and search.
      await page.selectOption("#status-filter", "failed");
      await page.waitForFunction(() =>
        [...document.querySelectorAll("#drawer li.job")].every((li) =>
          li.getAttribute("data-status") === "cancelled"
        )
      );
      await page.selectOption("#status-filter", "all");
      await page.fill("#search", "morn");
      await page.waitForFunction(() => document.querySelectorAll("#drawer li.job").length === 1);
      await page.fill("#search", "");

      // 360 px wide phones: nothing scrolls sideways, drawer open or closed.
      await page.setViewportSize({ width: 360, height: 780 });
      await shot(page, "9-narrow-drawer", false);
      const drawerWidth = await page.evaluate(() => document.querySelector("#drawer")!.scrollWidth);
      assert(drawerWidth <= 360, `the drawer is ${drawerWidth} px wide at 360 px`);
      await page.keyboard.press("Escape");
      await shot(page, "10-narrow");
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert(scrollWidth <= 360, `the page scrolls sideways at 360 px (${scrollWidth} px wide)`);

      // Reduced motion: the drawer does not slide.
      await page.emulateMedia({ reducedMotion: "reduce" });
      await openDrawer(page);
      const animation = await page.evaluate(() =>
        getComputedStyle(document.querySelector("#drawer")!).animationName
      );
      assert(animation === "none", `the drawer animates with reduced motion: ${animation}`);
      const bad = await lowContrast(page);
      await page.keyboard.press("Escape");
      bad.push(...await lowContrast(page));
      assert(bad.length === 0, `text below 4.5:1 contrast: ${bad.join("; ")}`);

      assert(pageErrors.length === 0, `page errors: ${pageErrors.join("; ")}`);
      await context.close();
    } catch (error) {
      for (const ctx of browser?.contexts() ?? []) {
        for (const [i, p] of ctx.pages().entries()) await shot(p, `failure-${i}`).catch(() => {});
      }
      throw error;
    } finally {
      await unblock().catch(() => {});
      await browser?.close();
      await sql.end();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
