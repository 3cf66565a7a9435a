/**
 * The transcript viewer: the caption cues with speakers and timestamps from the JSON output,
 * search, a language switch, summary and chapters when the job has them, and the style rule
 * check. While the recording chosen in this tab is still loaded, the video plays with each
 * language's WebVTT as a `<track>` (the language switch switches the track), a click on a line
 * seeks there, and the cue being shown is highlighted and followed. A shared viewer has no
 * video and gets the same transcript. While the job runs, its owner sees the transcript so far,
 * marked partial. The owner of a completed job can open the editor (loaded on demand).
 */
import { z } from "zod";
import { CaptionDocument } from "../../supabase/functions/_shared/subtitles/caption_document.ts";
import { trapFocus } from "./focus_trap.ts";
import { h } from "./html.ts";
import { languageName } from "./job_card.ts";
import {
  captionPresets,
  fetchOutputs,
  isActive,
  type JobRow,
  outputLanguages,
  type OutputRow,
  partialTranscript,
} from "./jobs.ts";
import { type CaptionPreset, presetLabel } from "./caption_presets.ts";
import {
  clock,
  type Line,
  lineAt,
  linesOf,
  type LineSource,
  matchingLines,
  styleCheck,
} from "./transcript_lines.ts";

/** The summarize step's output (providers/types.ts Summary), stored as format "summary". */
const SummaryDocument = z.object({
  summary: z.string(),
  chapters: z.array(z.object({ title: z.string(), start: z.number() }).passthrough()),
  keyPoints: z.array(z.string()),
});

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export class TranscriptViewer {
  #root = $("viewer");
  #language = $<HTMLSelectElement>("viewer-language");
  #search = $<HTMLInputElement>("viewer-search");
  #video = $<HTMLVideoElement>("viewer-video");
  #summary = $("viewer-summary");
  #count = $("viewer-count");
  #segments = $<HTMLOListElement>("segments");
  #heading = $("viewer-heading");
  #partial = $("viewer-partial");
  #rules = $("viewer-rules");
  #actions = $("viewer-actions");
  #release: (() => void) | null = null;
  #outputs: OutputRow[] = [];
  /** The chosen language's JSON output (a completed job). */
  #document: CaptionDocument | null = null;
  /** What the lines show: that document, or a running job's transcript so far. */
  #source: LineSource | null = null;
  #lines: Line[] = [];
  #current = -1;
  #job: JobRow | null = null;
  #trackUrls: string[] = [];
  #onClose: () => void = () => {};
  /** The project's caption presets, for the name of a document's style. */
  #presets: CaptionPreset[] = [];

  constructor(private readonly scrim: HTMLElement) {
    $("close-viewer").addEventListener("click", () => this.close());
    this.#language.addEventListener("change", () => this.#showLanguage(this.#language.value));
    this.#search.addEventListener("input", () => this.#renderSegments());
    this.#video.addEventListener("timeupdate", () => this.#follow());
    this.#video.addEventListener("seeked", () => this.#follow());
    $("edit-transcript").addEventListener("click", () => void this.#openEditor());
  }

  /** The job being viewed changed (live update): the partial transcript grows, or completes. */
  jobChanged(job: JobRow): void {
    if (!this.isOpen || this.#job?.id !== job.id) return;
    const wasActive = isActive(this.#job);
    this.#job = job;
    if (isActive(job)) void this.#loadPartial();
    else if (wasActive) void this.#load();
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
    this.#job = job;
    if (isActive(job)) await this.#loadPartial();
    else await this.#load();
  }

  get #isOwner(): boolean {
    return this.#job?.owner_id === document.body.dataset.user;
  }

  /** The transcript so far of a running job, marked partial (the owner's only). */
  async #loadPartial(): Promise<void> {
    const job = this.#job!;
    this.#actions.hidden = true;
    this.#rules.hidden = true;
    if (!this.#isOwner) {
      this.#partial.hidden = true;
      this.#document = null;
      this.#source = null;
      this.#count.textContent = "The transcript appears here when the job is done.";
      return;
    }
    try {
      const partial = await partialTranscript(job.id);
      if (this.#job?.id !== job.id || !isActive(this.#job)) return;
      this.#partial.hidden = false;
      this.#partial.textContent = partial.chunks
        ? `Partial transcript: ${partial.completed_chunks} of ${partial.chunks} parts done. ` +
          "The rest appears as it is transcribed."
        : "Partial transcript: nothing transcribed yet.";
      this.#language.replaceChildren(h("option", { value: "", textContent: "Transcript so far" }));
      this.#document = null;
      this.#source = { segments: partial.segments };
      this.#renderSegments();
    } catch (error) {
      this.#count.textContent = `Could not load the transcript: ${
        String((error as Error).message)
      }`;
    }
  }

  async #load(): Promise<void> {
    const job = this.#job!;
    this.#partial.hidden = true;
    try {
      this.#outputs = await fetchOutputs(job.id);
      this.#presets = await captionPresets().catch(() => this.#presets);
    } catch (error) {
      this.#count.textContent = `Could not load the transcript: ${
        String((error as Error).message)
      }`;
      return;
    }
    const languages = outputLanguages(job, this.#outputs);
    const chosen = this.#language.value;
    this.#language.replaceChildren(
      ...languages.map((code, i) =>
        h("option", {
          value: code,
          textContent: i === 0 ? `${languageName(code)} (original)` : languageName(code),
        })
      ),
    );
    if (languages.includes(chosen)) this.#language.value = chosen;
    this.#addTracks(languages);
    this.#renderSummary();
    this.#actions.hidden = !(this.#isOwner && job.status === "completed");
    this.#showLanguage(this.#language.value || languages[0] || "");
  }

  /** One `<track>` per language from its WebVTT output; the chosen language's is showing. */
  #addTracks(languages: string[]): void {
    for (const track of this.#video.querySelectorAll("track")) track.remove();
    for (const url of this.#trackUrls) URL.revokeObjectURL(url);
    this.#trackUrls = [];
    if (this.#video.hidden) return;
    languages.forEach((code, i) => {
      const vtt = this.#outputs.find((o) => o.language === code && o.format === "vtt");
      if (!vtt) return;
      const url = URL.createObjectURL(new Blob([vtt.content], { type: "text/vtt" }));
      this.#trackUrls.push(url);
      this.#video.append(h("track", {
        kind: "subtitles",
        srclang: code,
        label: languageName(code),
        src: url,
        default: i === 0,
      }));
    });
  }

  #showTrack(language: string): void {
    for (const track of Array.from(this.#video.textTracks)) {
      track.mode = track.language === language ? "showing" : "disabled";
    }
  }

  async #openEditor(): Promise<void> {
    const job = this.#job;
    const doc = this.#document;
    if (!job || !doc) return;
    this.#actions.hidden = true;
    // Loaded only now: the editor is not part of the first page load.
    const { openEditor } = await import("./editor.ts");
    openEditor($("editor-host"), {
      job,
      language: this.#language.value,
      document: doc,
      video: this.#video.hidden ? null : this.#video,
      saved: () => this.#load(),
      current: () => this.#document,
      closed: () => {
        this.#actions.hidden = false;
        $("edit-transcript").focus();
      },
    });
  }

  close(): void {
    if (this.#root.hidden) return;
    this.#root.hidden = true;
    this.#job = null;
    $("editor-host").replaceChildren();
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
    this.#source = this.#document;
    this.#showTrack(language);
    this.#renderRules();
    this.#renderSegments();
  }

  /** The style rule check of the render step: which cues break the job's caption style. */
  #renderRules(): void {
    const doc = this.#document;
    const preset = doc?.rules?.preset;
    const check = doc && styleCheck(doc, presetLabel(preset, this.#presets));
    this.#rules.hidden = !check;
    if (!check) return;
    this.#rules.textContent = check.text;
    this.#rules.className = check.broken ? "rules rules-broken" : "rules muted";
  }

  /** Highlights the line being shown on the video and keeps it in view. */
  #follow(): void {
    const time = this.#video.currentTime;
    const index = lineAt(this.#lines, time);
    if (index === this.#current) return;
    this.#current = index;
    for (const li of this.#segments.querySelectorAll(".current")) {
      li.classList.remove("current");
      li.removeAttribute("aria-current");
    }
    if (index < 0) return;
    const li = this.#segments.querySelector<HTMLElement>(`li[data-index="${index}"]`);
    if (!li) return;
    li.classList.add("current");
    li.setAttribute("aria-current", "true");
    li.scrollIntoView({ block: "nearest" });
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
    const doc = this.#source;
    if (!doc) {
      this.#segments.replaceChildren();
      this.#lines = [];
      this.#count.textContent = "No transcript in this language.";
      return;
    }
    this.#lines = linesOf(doc);
    this.#current = -1;
    const query = this.#search.value.trim();
    const shown = matchingLines(this.#lines, query);
    const canSeek = !this.#video.hidden;
    this.#segments.replaceChildren(...shown.map(({ line, index }) => {
      const time = h("span", { className: "time", textContent: clock(line.start) });
      const speaker = line.speaker
        ? h("span", { className: "speaker", textContent: `${line.speaker}: ` })
        : null;
      const text = h("span", { className: "text", textContent: line.text });
      const warning = line.problems.length
        ? h("span", {
          className: "rule-warning",
          textContent: " ⚠",
          title: line.problems.join("\n"),
          attrs: { "aria-label": `Breaks the caption style: ${line.problems.join("; ")}` },
        })
        : null;
      // A line is a button only when there is a video to seek.
      const content = canSeek
        ? h(
          "button",
          {
            type: "button",
            className: "segment-line",
            onclick: () => this.#seek(line.start),
          },
          time,
          " ",
          speaker,
          text,
          warning,
        )
        : h("div", { className: "segment-line" }, time, " ", speaker, text, warning);
      return h("li", {
        className: line.problems.length ? "broken" : "",
        dataset: { start: String(line.start), end: String(line.end), index: String(index) },
      }, content);
    }));
    const total = this.#lines.length;
    const noun = doc.cues ? (total === 1 ? "caption" : "captions") : total === 1 ? "line" : "lines";
    this.#count.textContent = query
      ? `${shown.length} of ${this.#lines.length} ${noun} match “${this.#search.value.trim()}”.`
      : `${this.#lines.length} ${noun}${
        canSeek ? " — select one to play the video from there" : ""
      }.`;
    this.#follow();
  }
}
