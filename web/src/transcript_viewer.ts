/**
 * The transcript viewer: segments with speakers and timestamps from the JSON output, search,
 * a language switch, summary and chapters when the job has them, and — while the recording
 * chosen in this tab is still loaded — a click on a line seeks the video there.
 */
import { z } from "zod";
import { trapFocus } from "./focus_trap.ts";
import { h } from "./html.ts";
import { languageName } from "./job_card.ts";
import { fetchOutputs, type JobRow, type OutputRow, outputLanguages } from "./jobs.ts";

/** The JSON caption document written by the render step (captions.ts CaptionDocument). */
const CaptionDocument = z.object({
  language: z.string(),
  segments: z.array(z.object({
    start: z.number(),
    end: z.number(),
    text: z.string(),
    speaker: z.string().optional(),
  })),
});
type CaptionDocument = z.infer<typeof CaptionDocument>;

/** The summarize step's output (providers/types.ts Summary), stored as format "summary". */
const SummaryDocument = z.object({
  summary: z.string(),
  chapters: z.array(z.object({ title: z.string(), start: z.number() }).passthrough()),
  keyPoints: z.array(z.string()),
});

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** `h:mm:ss` or `m:ss`. */
export function clock(seconds: number): string {
  const s = Math.floor(seconds % 60).toString().padStart(2, "0");
  const m = Math.floor(seconds / 60) % 60;
  const hours = Math.floor(seconds / 3600);
  return hours ? `${hours}:${m.toString().padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export class TranscriptViewer {
  #root = $("viewer");
  #language = $<HTMLSelectElement>("viewer-language");
  #search = $<HTMLInputElement>("viewer-search");
  #video = $<HTMLVideoElement>("viewer-video");
  #summary = $("viewer-summary");
  #count = $("viewer-count");
  #segments = $<HTMLOListElement>("segments");
  #heading = $("viewer-heading");
  #release: (() => void) | null = null;
  #outputs: OutputRow[] = [];
  #document: CaptionDocument | null = null;
  #onClose: () => void = () => {};

  constructor(private readonly scrim: HTMLElement) {
    $("close-viewer").addEventListener("click", () => this.close());
    this.#language.addEventListener("change", () => this.#showLanguage(this.#language.value));
    this.#search.addEventListener("input", () => this.#renderSegments());
  }

  get isOpen(): boolean {
    return !this.#root.hidden;
  }

  /** Opens the viewer on `job`; `localMedia` is the file chosen in this tab, if still loaded. */
  async open(job: JobRow, localMedia: string | undefined, onClose: () => void): Promise<void> {
    this.#onClose = onClose;
    this.#heading.textContent = `Transcript of ${job.filename}`;
    this.#segments.replaceChildren();
    this.#count.textContent = "Loading…";
    this.#search.value = "";
    this.#root.hidden = false;
    this.scrim.hidden = false;
    this.#release = trapFocus(this.#root, () => this.close());
    $("close-viewer").focus();
    if (localMedia) {
      this.#video.src = localMedia;
      this.#video.hidden = false;
    } else {
      this.#video.removeAttribute("src");
      this.#video.hidden = true;
    }
    try {
      this.#outputs = await fetchOutputs(job.id);
    } catch (error) {
      this.#count.textContent = `Could not load the transcript: ${String((error as Error).message)}`;
      return;
    }
    const languages = outputLanguages(job, this.#outputs);
    this.#language.replaceChildren(
      ...languages.map((code, i) =>
        h("option", {
          value: code,
          textContent: i === 0 ? `${languageName(code)} (original)` : languageName(code),
        })
      ),
    );
    this.#renderSummary();
    this.#showLanguage(languages[0] ?? "");
  }

  close(): void {
    if (this.#root.hidden) return;
    this.#root.hidden = true;
    this.#video.pause();
    this.#release?.();
    this.#release = null;
    this.#onClose();
  }

  #showLanguage(language: string): void {
    const row = this.#outputs.find((o) => o.language === language && o.format === "json");
    this.#document = null;
    if (row) {
      try {
        const parsed = CaptionDocument.safeParse(JSON.parse(row.content));
        if (parsed.success) this.#document = parsed.data;
      } catch {
        // Shown as "no transcript" below.
      }
    }
    this.#renderSegments();
  }

  #renderSummary(): void {
    const row = this.#outputs.find((o) => o.format === "summary");
    this.#summary.hidden = true;
    if (!row) return;
    let parsed;
    try {
      parsed = SummaryDocument.safeParse(JSON.parse(row.content));
    } catch {
      return;
    }
    if (!parsed.success) return;
    const { summary, chapters, keyPoints } = parsed.data;
    const parts: (Node | null)[] = [
      h("h3", { textContent: "Summary" }),
      h("p", { textContent: summary }),
      keyPoints.length ? h("ul", {}, ...keyPoints.map((p) => h("li", { textContent: p }))) : null,
      chapters.length ? h("h3", { textContent: "Chapters" }) : null,
      chapters.length
        ? h(
          "ol",
          { className: "chapters" },
          ...chapters.map((c) =>
            h(
              "li",
              {},
              h("button", {
                type: "button",
                className: "link",
                textContent: `${clock(c.start)} ${c.title}`,
                onclick: () => this.#seek(c.start),
              }),
            )
          ),
        )
        : null,
    ];
    this.#summary.replaceChildren(...parts.filter((p): p is Node => p !== null));
    this.#summary.hidden = false;
  }

  #seek(seconds: number): void {
    if (this.#video.hidden) return;
    this.#video.currentTime = seconds;
    void this.#video.play().catch(() => {});
  }

  #renderSegments(): void {
    const doc = this.#document;
    if (!doc) {
      this.#segments.replaceChildren();
      this.#count.textContent = "No transcript in this language.";
      return;
    }
    const query = this.#search.value.trim().toLowerCase();
    const shown = doc.segments.filter((s) => !query || s.text.toLowerCase().includes(query));
    const canSeek = !this.#video.hidden;
    this.#segments.replaceChildren(...shown.map((segment) => {
      const time = h("span", { className: "time", textContent: clock(segment.start) });
      const speaker = segment.speaker
        ? h("span", { className: "speaker", textContent: `${segment.speaker}: ` })
        : null;
      const text = h("span", { className: "text", textContent: segment.text });
      // A line is a button only when there is a video to seek.
      const line = canSeek
        ? h("button", {
          type: "button",
          className: "segment-line",
          onclick: () => this.#seek(segment.start),
        }, time, " ", speaker, text)
        : h("div", { className: "segment-line" }, time, " ", speaker, text);
      return h("li", { dataset: { start: String(segment.start) } }, line);
    }));
    this.#count.textContent = query
      ? `${shown.length} of ${doc.segments.length} lines match “${this.#search.value.trim()}”.`
      : `${doc.segments.length} lines${canSeek ? " — select a line to play the video from there" : ""}.`;
  }
}
