/**
 * Debian's chromium driven by playwright-core, opened on the web app the stack serves, with the
 * app's test hooks enabled (web/src/upload.ts exposes submitRecording, recordingHashOfBlob and
 * extractAudio on `window.__aiSubsTest` when that object exists before the page loads).
 */
import { type Browser, chromium, type Page } from "playwright-core";

/** Headless, no sandbox (root in CI), nothing that talks to Google. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/** A new visitor on the app (anonymous sign-in done), with the media test hooks. */
export async function openAppWithHooks(
  browser: Browser,
  url: string,
): Promise<{ page: Page; userId: string; close: () => Promise<void> }> {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    (globalThis as unknown as { __aiSubsTest: object }).__aiSubsTest = {};
  });
  const page = await context.newPage();
  await page.goto(`${url}/`);
  await page.waitForSelector("body[data-user]", { timeout: 20_000 });
  const userId = (await page.getAttribute("body", "data-user"))!;
  // A file input of the test's own, so local files reach the page by path (no copy).
  await page.evaluate(() => {
    const input = document.createElement("input");
    input.type = "file";
    input.id = "media-test-file";
    input.hidden = true;
    document.body.append(input);
  });
  return { page, userId, close: () => context.close() };
}

/** Puts the local file at `path` into the test's file input. */
export async function chooseFile(page: Page, path: string): Promise<void> {
  await page.setInputFiles("#media-test-file", path);
}

/** What web/src/upload.ts puts on `window.__aiSubsTest` (see its SubmitProgress etc.). */
export interface MediaHooks {
  submitRecording(
    file: File,
    userId: string,
    options: Record<string, unknown>,
    onProgress: (p: { phase: string; fraction: number; detail?: string }) => void,
  ): {
    pause(): void;
    resume(): void;
    abort(): void;
    readonly paused: boolean;
    done: Promise<{ jobId: string; cachedFrom: string | null; cachedAt: string | null }>;
  };
  recordingHashOfBlob(file: Blob, options?: { onProgress?: (f: number) => void }): Promise<string>;
  extractAudio(file: File): Promise<{
    duration: number;
    audioStart: number;
    codec: string;
    container: string;
    method: string;
    chunks: {
      index: number;
      name: string;
      start: number;
      end: number;
      overlap_before: number;
      blob: Blob;
    }[];
  }>;
}

/** The page's global scope as tests see it inside `page.evaluate`. */
export type HookWindow = {
  __aiSubsTest: MediaHooks;
  __progress: { phase: string; fraction: number; detail?: string }[];
  __handle: ReturnType<MediaHooks["submitRecording"]>;
  __result: Promise<SubmitOutcome>;
};

/** How a submission ended, as plain data that crosses out of the page. */
export type SubmitOutcome =
  | { ok: true; jobId: string; cachedFrom: string | null; cachedAt: string | null }
  | { ok: false; name: string; message: string; code?: string };

/**
 * Starts submitRecording on the file chosen with {@link chooseFile}; progress collects in
 * `window.__progress`, the handle is `window.__handle`, the outcome `window.__result`.
 */
export async function startSubmission(
  page: Page,
  options: Record<string, unknown> = {},
): Promise<void> {
  await page.evaluate((options) => {
    const w = globalThis as unknown as HookWindow;
    const file = (document.getElementById("media-test-file") as HTMLInputElement).files![0];
    w.__progress = [];
    w.__handle = w.__aiSubsTest.submitRecording(
      file,
      document.body.dataset.user!,
      options,
      (p) => w.__progress.push(p),
    );
    w.__result = w.__handle.done.then(
      (r): SubmitOutcome => ({ ok: true, ...r }),
      (e): SubmitOutcome => ({ ok: false, name: e.name, message: e.message, code: e.code }),
    );
  }, options);
}

/** Waits for the submission started by {@link startSubmission} to settle. */
export function submissionOutcome(page: Page): Promise<SubmitOutcome> {
  return page.evaluate(() => (globalThis as unknown as HookWindow).__result);
}
