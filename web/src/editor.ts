/**
 * The owner's subtitle editor, loaded only when opened (a separate chunk, not part of the first
 * page load). It edits the cues of one language: text, split, merge, one cue's timing, a shift
 * of the whole file, speaker renames, with undo for the session. Saving sends the cues as the
 * edited transcript to the `revise` function, which lays them out again by the job's caption
 * rules, renders every format and stores a new revision; "Restore original" brings back the
 * pipeline's transcript (revision 0), which is always kept.
 */
import { h } from "./html.ts";
import type { JobRow } from "./jobs.ts";
import { supabase } from "./supabase.ts";
import type { CaptionDocument } from "../../supabase/functions/_shared/subtitles/caption_document.ts";
import {
  cuesOf,
  type EditCue,
  mergeCues,
  problemOf,
  renameSpeaker,
  round,
  shiftCues,
  splitCue,
} from "./cue_edits.ts";

export interface EditorOptions {
  job: JobRow;
  language: string;
  document: CaptionDocument;
  video: HTMLVideoElement | null;
  saved(): Promise<void>;
  /** The document as saved (laid out again by the server), after `saved`. */
  current(): CaptionDocument | null;
  closed(): void;
}

export function openEditor(host: HTMLElement, options: EditorOptions): void {
  const { job, language } = options;
  let cues: EditCue[] = cuesOf(options.document);
  let history: EditCue[][] = [];

  const status = h("p", { className: "message", attrs: { role: "status" } });
  const list = h("ol", { className: "editor-cues" });
  const undo = h("button", {
    type: "button",
    className: "secondary",
    textContent: "Undo",
    disabled: true,
  });
  const shiftInput = h("input", { id: "editor-shift", type: "number", step: "0.1", value: "0" });
  const fromSpeaker = h("select", { id: "editor-speaker-from" });
  const toSpeaker = h("input", { id: "editor-speaker-to", type: "text", placeholder: "New name" });
  const save = h("button", { type: "button", textContent: "Save subtitles" });
  const restore = h("button", {
    type: "button",
    className: "secondary",
    textContent: "Restore original",
  });
  const close = h("button", {
    type: "button",
    className: "secondary",
    textContent: "Close editor",
  });

  const change = (next: EditCue[]) => {
    history.push(cues);
    cues = next;
    render();
  };

  function say(text: string, kind: "info" | "error" | "ok" = "info"): void {
    status.textContent = text;
    status.className = `message message-${kind}`;
  }

  function timeInput(label: string, value: number, set: (v: number) => void): HTMLElement {
    const input = h("input", {
      type: "number",
      step: "0.01",
      min: "0",
      value: String(value),
      className: "time-input",
    });
    input.setAttribute("aria-label", label);
    input.addEventListener("change", () => {
      const v = Number(input.value);
      if (Number.isFinite(v) && v >= 0) set(round(v));
      else input.value = String(value);
    });
    return input;
  }

  function render(): void {
    undo.disabled = history.length === 0;
    const speakers = [...new Set(cues.map((c) => c.speaker).filter((s): s is string => !!s))];
    fromSpeaker.replaceChildren(...speakers.map((s) => h("option", { value: s, textContent: s })));
    fromSpeaker.disabled = speakers.length === 0;
    list.replaceChildren(...cues.map((cue, i) => {
      const text = h("textarea", { value: cue.text, rows: 2, className: "cue-text" });
      text.setAttribute("aria-label", `Text of caption ${i + 1}`);
      text.addEventListener("change", () => {
        if (text.value !== cue.text) {
          change(cues.map((c, k) => (k === i ? { ...c, text: text.value } : c)));
        }
      });
      const setTime = (key: "start" | "end") => (v: number) =>
        change(cues.map((c, k) => (k === i ? { ...c, [key]: v } : c)));
      return h(
        "li",
        { className: "editor-cue", dataset: { index: String(i) } },
        h(
          "div",
          { className: "cue-times" },
          timeInput(`Start of caption ${i + 1} (seconds)`, cue.start, setTime("start")),
          " → ",
          timeInput(`End of caption ${i + 1} (seconds)`, cue.end, setTime("end")),
          cue.speaker ? h("span", { className: "speaker", textContent: ` ${cue.speaker}` }) : null,
        ),
        text,
        h(
          "div",
          { className: "actions" },
          h("button", {
            type: "button",
            className: "secondary",
            textContent: "Split",
            attrs: { "aria-label": `Split caption ${i + 1}` },
            onclick: () => {
              const parts = splitCue(cue);
              if (!parts) return say("A caption of one word cannot be split.", "error");
              change([...cues.slice(0, i), ...parts, ...cues.slice(i + 1)]);
            },
          }),
          i + 1 < cues.length
            ? h("button", {
              type: "button",
              className: "secondary",
              textContent: "Merge with next",
              attrs: { "aria-label": `Merge caption ${i + 1} with the next` },
              onclick: () =>
                change([...cues.slice(0, i), mergeCues(cue, cues[i + 1]), ...cues.slice(i + 2)]),
            })
            : null,
          options.video
            ? h("button", {
              type: "button",
              className: "secondary",
              textContent: "Play",
              attrs: { "aria-label": `Play caption ${i + 1}` },
              onclick: () => {
                options.video!.currentTime = cue.start;
                void options.video!.play().catch(() => {});
              },
            })
            : null,
        ),
      );
    }));
  }

  undo.addEventListener("click", () => {
    const previous = history.pop();
    if (previous) cues = previous;
    render();
    say("Undone.");
  });

  async function send(body: Record<string, unknown>, done: string): Promise<void> {
    save.disabled = restore.disabled = true;
    say("Saving…");
    try {
      const { data, error } = await supabase.functions.invoke("revise", {
        body: { job_id: job.id, language, ...body },
      });
      if (error) {
        let message = error.message;
        try {
          message = (await (error as { context?: Response }).context?.json())?.error?.message ??
            message;
        } catch { /* keep the generic message */ }
        throw new Error(message);
      }
      const result = data as { revision: number; violations: number };
      await options.saved();
      // What the server made of it (the caption rules applied again) is the new starting point.
      const saved = options.current();
      if (saved) {
        cues = cuesOf(saved);
        history = [];
        render();
      }
      say(
        `${done} Revision ${result.revision} is what downloads and share links get now.` +
          (result.violations ? ` ${result.violations} caption(s) still break the style.` : ""),
        "ok",
      );
    } catch (error) {
      say(`Not saved: ${(error as Error).message}`, "error");
    } finally {
      save.disabled = restore.disabled = false;
    }
  }

  save.addEventListener("click", () => {
    const problem = problemOf(cues);
    if (problem) return say(problem, "error");
    void send({ transcript: { segments: cues } }, "Saved.");
  });
  restore.addEventListener("click", () => {
    if (!confirm("Restore the original subtitles? Your edits stay in the history.")) return;
    void send({ restore: 0 }, "Original restored.");
  });
  close.addEventListener("click", () => {
    host.replaceChildren();
    options.closed();
  });

  const shift = h("button", {
    type: "button",
    className: "secondary",
    textContent: "Shift all",
    onclick: () => {
      const seconds = Number(shiftInput.value);
      if (!Number.isFinite(seconds) || seconds === 0) {
        return say("Enter the seconds to shift by, e.g. -0.5.", "error");
      }
      change(shiftCues(cues, seconds));
      say(`Every caption moved by ${seconds} s.`);
    },
  });
  const rename = h("button", {
    type: "button",
    className: "secondary",
    textContent: "Rename",
    onclick: () => {
      if (!fromSpeaker.value || !toSpeaker.value.trim()) {
        return say("Choose a speaker and type the new name.", "error");
      }
      change(renameSpeaker(cues, fromSpeaker.value, toSpeaker.value));
      say(`Renamed ${fromSpeaker.value} to ${toSpeaker.value.trim()}.`);
      toSpeaker.value = "";
    },
  });

  host.replaceChildren(h(
    "section",
    { className: "editor", attrs: { "aria-label": "Subtitle editor" } },
    h("h3", { textContent: "Edit subtitles" }),
    h(
      "div",
      { className: "editor-tools" },
      undo,
      h("label", { htmlFor: "editor-shift", textContent: "Shift all by (s)" }),
      shiftInput,
      shift,
      h("label", { htmlFor: "editor-speaker-from", textContent: "Speaker" }),
      fromSpeaker,
      h("label", {
        htmlFor: "editor-speaker-to",
        className: "visually-hidden",
        textContent: "New speaker name",
      }),
      toSpeaker,
      rename,
    ),
    list,
    h("div", { className: "actions" }, save, restore, close),
    status,
  ));
  render();
  list.querySelector("textarea")?.focus();
}
