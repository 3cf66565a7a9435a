/**
 * End to end: the web app served by the stack at `/`, driven in Debian's chromium. A new
 * visitor is signed in anonymously, uploads a short spoken WAV through the file input, watches
 * the job complete on the offline engine and downloads an SRT holding the spoken words; then
 * deletes the job. Screenshots go to test-artifacts/.
 *
 * Needs web/dist built for this stack (`deno task web:build` reads the anon key from the
 * stack's env file).
 */
import { chromium } from "playwright-core";
import { makeSpeech } from "../asr/fixtures.ts";
import { stackEnv } from "../testing/stack_env.ts";
import { join } from "../stack/paths.ts";

const root = new URL("../..", import.meta.url).pathname;
const artifacts = join(root, "test-artifacts");

// A varying word keeps the recording's hash new, so the engine runs instead of the dedup cache.
const VARIETY = ["apples", "potatoes", "carrots", "eggs", "tea", "bread"];
const SPOKEN = "The baker opens his shop before sunrise and the smell of fresh bread drifts " +
  "along the quiet street. Children carry their books to school.";
const EXPECTED_WORDS = ["baker", "shop", "bread", "street", "children", "books", "school"];

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test("web app: sign in, upload, live progress, download SRT, delete", async () => {
  const env = stackEnv();
  await Deno.mkdir(artifacts, { recursive: true });
  const dir = await Deno.makeTempDir({ prefix: "ai-subs-web-e2e-" });
  const wav = join(dir, "morning.wav");
  const extra = VARIETY[Math.floor(Math.random() * VARIETY.length)];
  await makeSpeech(`${SPOKEN} We bought ${extra} number ${Date.now() % 1000}.`, wav);

  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));

    await page.goto(`${env.SUPABASE_URL}/`);
    await page.waitForSelector("body[data-user]", { timeout: 20_000 }).catch(async (e) => {
      await page.screenshot({ path: join(artifacts, "web-signin-failed.png"), fullPage: true });
      throw new Error(`no anonymous sign-in (page errors: ${pageErrors.join("; ")}): ${e}`);
    });
    await page.waitForSelector("body[data-live=true]", { timeout: 20_000 });
    assert(await page.isHidden("#offline"), "the offline banner shows while subscribed");
    assert(
      (await page.textContent(".note"))?.includes("low quality"),
      "the low-quality engine note is missing",
    );
    await page.screenshot({ path: join(artifacts, "web-1-signed-in.png"), fullPage: true });

    await page.setInputFiles("#file-input", wav);
    const item = page.locator("li.job", { hasText: "morning.wav" }).first();
    await item.waitFor({ timeout: 30_000 });
    const message = await page.textContent("#upload-message");
    assert(message?.includes("submitted"), `upload did not submit: ${message}`);
    await page.screenshot({ path: join(artifacts, "web-2-submitted.png"), fullPage: true });

    // Completion arrives through Realtime: the page is never reloaded.
    // An ended job that did not complete fails the test at once, with the page's message.
    await page.locator(
      'li.job:is([data-status="completed"], [data-status="failed"], [data-status="cancelled"])',
      { hasText: "morning.wav" },
    )
      .waitFor({ timeout: 120_000 }).catch(async (e) => {
        await page.screenshot({ path: join(artifacts, "web-not-completed.png"), fullPage: true });
        throw new Error(`job did not complete: ${await item.textContent()} (${e})`);
      });
    await page.screenshot({ path: join(artifacts, "web-3-ended.png"), fullPage: true });
    const ended = await item.getAttribute("data-status");
    assert(ended === "completed", `job ended ${ended}: ${await item.textContent()}`);

    // Narrow phones: 360 px wide without sideways scrolling.
    await page.setViewportSize({ width: 360, height: 800 });
    await page.screenshot({ path: join(artifacts, "web-4-narrow.png"), fullPage: true });
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(scrollWidth <= 360, `the page scrolls sideways at 360 px (${scrollWidth} px wide)`);

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      item.getByRole("button", { name: /Download SRT/ }).click(),
    ]);
    assert(download.suggestedFilename() === "morning.srt", download.suggestedFilename());
    const srt = await Deno.readTextFile((await download.path())!);
    assert(/^1\r?\n\d\d:\d\d:\d\d,\d\d\d --> /.test(srt), `not an SRT file:\n${srt}`);
    const heard = EXPECTED_WORDS.filter((w) => srt.toLowerCase().includes(w));
    assert(heard.length >= 3, `SRT has too few of ${EXPECTED_WORDS.join(", ")}:\n${srt}`);

    page.once("dialog", (d) => void d.accept());
    await item.getByRole("button", { name: /^Delete/ }).click();
    await page.locator("li.job", { hasText: "morning.wav" }).waitFor({
      state: "detached",
      timeout: 15_000,
    });
    assert(pageErrors.length === 0, `page errors: ${pageErrors.join("; ")}`);
    await context.close();
  } finally {
    await browser.close();
    await Deno.remove(dir, { recursive: true });
  }
});
