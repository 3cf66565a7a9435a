/**
 * The submit form: a file by drag-and-drop or picker, the options (language or auto-detect,
 * forced language, speakers, translations, summary), the queue check before anything is
 * uploaded, and per-phase progress with pause, resume and cancel.
 */
import { userMessage } from "./errors.ts";
import { h } from "./html.ts";
import { formatDate } from "./job_card.ts";
import { presetChoice, presetSummary } from "./caption_presets.ts";
import { captionPresets, queueStatus } from "./jobs.ts";
import {
  type SubmitOptions,
  type SubmitPhase,
  type SubmitProgress,
  submitRecording,
  type SubmitResult,
  type UploadHandle,
  UploadRefused,
} from "./upload.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/**
 * Until the job row exists, the work lives only in this tab (the file is read from the user's
 * disk), so leaving asks first; once submitted, closing is safe and nothing asks.
 */
function askBeforeLeaving(event: BeforeUnloadEvent): void {
  event.preventDefault();
  event.returnValue = ""; // older Chromium and Safari need it set to show the prompt
}

const PHASES: { phase: SubmitPhase; label: string }[] = [
  { phase: "queue", label: "Checking that the system has room" },
  { phase: "hashing", label: "Fingerprinting the file" },
  { phase: "extracting", label: "Extracting the audio" },
  { phase: "uploading", label: "Uploading the audio" },
  { phase: "submitting", label: "Starting the job" },
];

export interface SubmitEvents {
  submitted(file: File, result: SubmitResult): void;
  announce(text: string): void;
  /** "View Current Jobs" in the queue-full state. */
  showJobs(): void;
}

/** The options as the form states them; throws a user-facing message when inconsistent. */
export function readOptions(form: {
  language: string;
  force: boolean;
  speakersMode: string;
  num: string;
  min: string;
  max: string;
  translateTo: string[];
  summarize: boolean;
  /** A preset name, or "custom" with the three numbers. */
  captionPreset?: string;
  captionCustom?: { lineChars: string; lines: string; cps: string };
}): SubmitOptions {
  const options: SubmitOptions = { language: form.language };
  if (form.force && form.language !== "auto") options.force_language = true;
  const whole = (value: string, what: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 32) {
      throw new Error(`${what} must be a whole number from 1 to 32.`);
    }
    return n;
  };
  if (form.speakersMode === "exact") {
    options.num_speakers = whole(form.num, "The number of speakers");
  }
  if (form.speakersMode === "range") {
    options.min_speakers = whole(form.min, "The fewest speakers");
    options.max_speakers = whole(form.max, "The most speakers");
    if (options.min_speakers > options.max_speakers) {
      throw new Error("The fewest speakers must not exceed the most speakers.");
    }
  }
  if (form.translateTo.length) options.translate_to = form.translateTo;
  if (form.summarize) options.summarize = true;
  if (form.captionPreset === "custom" && form.captionCustom) {
    const c = form.captionCustom;
    const number = (value: string, low: number, high: number, what: string, whole: boolean) => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < low || n > high || (whole && !Number.isInteger(n))) {
        throw new Error(
          `${what} must be ${whole ? "a whole number" : "a number"} from ${low} to ${high}.`,
        );
      }
      return n;
    };
    options.caption_style = {
      max_line_chars: number(c.lineChars, 20, 80, "Characters per line", true),
      max_lines: number(c.lines, 1, 3, "Lines", true),
      max_chars_per_second: number(c.cps, 5, 40, "Characters per second", false),
    };
  } else if (form.captionPreset && form.captionPreset !== "default") {
    options.caption_style = { preset: form.captionPreset };
  }
  return options;
}

export class SubmitPanel {
  #form = $<HTMLFormElement>("submit-form");
  #drop = $("drop-zone");
  #input = $<HTMLInputElement>("file-input");
  #chosen = $("chosen-file");
  #language = $<HTMLSelectElement>("language");
  #force = $<HTMLInputElement>("force-language");
  #speakersMode = $<HTMLSelectElement>("speakers-mode");
  #formError = $("form-error");
  #button = $<HTMLButtonElement>("submit-button");
  #progress = $("submit-progress");
  #phases = $<HTMLOListElement>("phases");
  #phaseLabel = $("phase-label");
  #phaseBar = $<HTMLProgressElement>("phase-bar");
  #pause = $<HTMLButtonElement>("pause-upload");
  #abort = $<HTMLButtonElement>("abort-upload");
  #message = $("submit-message");
  #file: File | null = null;
  #handle: UploadHandle | null = null;
  #userId = "";

  constructor(private readonly events: SubmitEvents) {
    this.#input.addEventListener("change", () => this.#choose(this.#input.files?.[0] ?? null));
    this.#drop.addEventListener("dragover", (e) => {
      e.preventDefault();
      this.#drop.classList.add("drag");
    });
    this.#drop.addEventListener("dragleave", () => this.#drop.classList.remove("drag"));
    this.#drop.addEventListener("drop", (e) => {
      e.preventDefault();
      this.#drop.classList.remove("drag");
      if (this.#queueFull) return;
      this.#choose(e.dataTransfer?.files[0] ?? null);
    });
    this.#language.addEventListener("change", () => {
      this.#force.disabled = this.#language.value === "auto";
      if (this.#force.disabled) this.#force.checked = false;
    });
    this.#speakersMode.addEventListener("change", () => {
      $("speakers-exact").hidden = this.#speakersMode.value !== "exact";
      $("speakers-range").hidden = this.#speakersMode.value !== "range";
    });
    this.#form.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.#submit();
    });
    this.#pause.addEventListener("click", () => {
      const handle = this.#handle;
      if (!handle) return;
      if (handle.paused) handle.resume();
      else handle.pause();
      this.#pause.textContent = handle.paused ? "Resume" : "Pause";
      this.events.announce(handle.paused ? "Upload paused" : "Upload resumed");
    });
    this.#abort.addEventListener("click", () => this.#handle?.abort());
    $("caption-preset").addEventListener("change", () => {
      $("caption-custom").hidden = $<HTMLSelectElement>("caption-preset").value !== "custom";
    });
    $("queue-full-jobs").addEventListener("click", () => this.events.showJobs());
  }

  start(userId: string): void {
    this.#userId = userId;
    void this.refreshQueue();
    void this.#showPresets();
  }

  /** The project's presets in the style select (before "Custom…"); custom starts from default. */
  async #showPresets(): Promise<void> {
    let presets;
    try {
      presets = await captionPresets();
    } catch {
      return; // The form still offers the server's default and custom numbers.
    }
    const select = $<HTMLSelectElement>("caption-preset");
    const chosen = select.value;
    select.replaceChildren(
      ...presets.map((p) =>
        h("option", { value: p.name, textContent: presetChoice(p), title: presetSummary(p) })
      ),
      h("option", { value: "custom", textContent: "Custom…" }),
    );
    select.value = presets.some((p) => p.name === chosen) || chosen === "custom"
      ? chosen
      : presets[0]?.name ?? "custom";
    const base = presets.find((p) => p.name === "default") ?? presets[0];
    if (base) {
      for (
        const [id, value] of [
          ["caption-line-chars", base.max_line_chars],
          ["caption-lines", base.max_lines],
          ["caption-cps", base.max_chars_per_second],
        ] as const
      ) {
        const input = $<HTMLInputElement>(id);
        if (!input.value) input.value = String(value);
      }
    }
  }

  #queueFull = false;

  /**
   * The queue-full state: while the system is full the upload is disabled before a file is
   * chosen, with the seed's "System Busy" notice and a way to the current jobs.
   */
  async refreshQueue(): Promise<void> {
    let queue;
    try {
      queue = await queueStatus();
    } catch {
      return; // offline: the check at submit time reports it
    }
    const full = !queue.accepting;
    $("queue-full").hidden = !full;
    $("queue-full-text").textContent =
      `${queue.active} ${queue.active === 1 ? "job is" : "jobs are"} currently processing. ` +
      "Please try again in a few minutes.";
    this.#input.disabled = full;
    this.#drop.classList.toggle("disabled", full);
    if (!this.#handle) this.#button.disabled = full;
    if (full !== this.#queueFull) {
      this.#queueFull = full;
      this.events.announce(
        full ? "System busy: uploads are paused until a job finishes." : "Uploads are open again.",
      );
    }
  }

  #choose(file: File | null): void {
    this.#file = file;
    this.#chosen.textContent = file
      ? `Chosen: ${file.name} (${(file.size / 1048576).toFixed(1)} MB)`
      : "";
    this.#formError.textContent = "";
  }

  #show(text: string, kind: "info" | "error" | "ok"): void {
    this.#message.textContent = text;
    this.#message.className = `message message-${kind}`;
  }

  #options(): SubmitOptions {
    const value = (id: string) => $<HTMLInputElement>(id).value;
    return readOptions({
      language: this.#language.value,
      force: this.#force.checked,
      speakersMode: this.#speakersMode.value,
      num: value("num-speakers"),
      min: value("min-speakers"),
      max: value("max-speakers"),
      translateTo: [...document.querySelectorAll<HTMLInputElement>("#translate-to input:checked")]
        .map((i) => i.value),
      summarize: $<HTMLInputElement>("summarize").checked,
      captionPreset: $<HTMLSelectElement>("caption-preset").value,
      captionCustom: {
        lineChars: value("caption-line-chars"),
        lines: value("caption-lines"),
        cps: value("caption-cps"),
      },
    });
  }

  async #submit(): Promise<void> {
    if (this.#handle) return;
    const file = this.#file;
    if (!file) {
      this.#formError.textContent = "Choose a video or audio file first.";
      this.#input.focus();
      return;
    }
    let options: SubmitOptions;
    try {
      options = this.#options();
    } catch (error) {
      this.#formError.textContent = userMessage(error);
      return;
    }
    this.#formError.textContent = "";
    this.#show("Checking that the system has room…", "info");
    // Refused before any byte is read or uploaded when the system is full.
    try {
      const queue = await queueStatus();
      if (!queue.accepting) {
        this.#show(queue.message ?? "The system is busy; try again in a few minutes.", "error");
        this.events.announce(this.#message.textContent ?? "");
        return;
      }
    } catch (error) {
      this.#show(`Could not reach the server: ${userMessage(error)}`, "error");
      return;
    }
    this.#button.disabled = true;
    this.#progress.hidden = false;
    globalThis.addEventListener("beforeunload", askBeforeLeaving);
    this.#pause.textContent = "Pause";
    this.#renderPhases("queue");
    this.#show(`Sending ${file.name}…`, "info");
    const handle = submitRecording(file, this.#userId, options, (p) => this.#onProgress(p));
    this.#handle = handle;
    try {
      const result = await handle.done;
      // Deduplicated: the same recording with the same settings was done before.
      const when = result.cachedFrom
        ? ` Result from ${formatDate(result.cachedAt ?? new Date().toISOString())}.`
        : "";
      this.#show(`${file.name} was submitted.${when} You can safely close this browser.`, "ok");
      this.events.submitted(file, result);
      this.#form.reset();
      this.#choose(null);
    } catch (error) {
      const aborted = error instanceof UploadRefused && error.code === "aborted";
      this.#show(
        aborted ? "The upload was cancelled; nothing was submitted." : userMessage(error),
        "error",
      );
      this.events.announce(this.#message.textContent ?? "");
    } finally {
      globalThis.removeEventListener("beforeunload", askBeforeLeaving);
      this.#handle = null;
      this.#button.disabled = this.#queueFull;
      this.#progress.hidden = true;
      void this.refreshQueue();
    }
  }

  #renderPhases(current: SubmitPhase): void {
    const index = PHASES.findIndex((p) => p.phase === current);
    this.#phases.replaceChildren(...PHASES.map((p, i) => {
      const state = i < index ? "done" : i === index ? "running" : "waiting";
      return h(
        "li",
        { className: `step step-${state}`, dataset: { phase: p.phase } },
        h("span", {
          className: "mark",
          textContent: { done: "✓", running: "…", waiting: "○" }[state],
          attrs: { "aria-hidden": "true" },
        }),
        p.label,
      );
    }));
  }

  #onProgress(p: SubmitProgress): void {
    if (this.#phases.querySelector(".step-running")?.getAttribute("data-phase") !== p.phase) {
      this.#renderPhases(p.phase);
    }
    const label = PHASES.find((x) => x.phase === p.phase)?.label ?? p.phase;
    this.#phaseLabel.textContent = `${label}${p.detail ? ` (${p.detail})` : ""}: ${
      Math.round(p.fraction * 100)
    }%`;
    this.#phaseBar.value = p.fraction;
  }
}
