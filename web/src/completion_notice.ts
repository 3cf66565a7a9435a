/**
 * Browser notifications when a job completes. Permission is asked only after the user's first
 * completed job, through an in-page prompt whose "Not now" is remembered.
 */
import { actionButton, h } from "./html.ts";

const NOT_NOW_KEY = "ai-subs.notifications-not-now";

const supported = () => typeof Notification !== "undefined";

/** Tells the user that `filename` is done: a notification, or the one-time permission prompt. */
export function noticeCompletion(filename: string, promptHost: HTMLElement): void {
  if (!supported()) return;
  if (Notification.permission === "granted") {
    new Notification("Subtitles ready", { body: `${filename} is done.`, tag: filename });
    return;
  }
  if (Notification.permission === "denied" || localStorage.getItem(NOT_NOW_KEY) === "1") return;
  if (document.querySelector(".notify-prompt")) return;
  const prompt = h(
    "div",
    { className: "notify-prompt", attrs: { role: "group", "aria-label": "Notifications" } },
    h("p", { textContent: "Get a browser notification when your next job finishes?" }),
  );
  const close = () => prompt.remove();
  prompt.append(
    h(
      "div",
      { className: "actions" },
      actionButton("Notify me", () => {
        void Notification.requestPermission().finally(close);
      }),
      actionButton(
        "Not now",
        () => {
          localStorage.setItem(NOT_NOW_KEY, "1");
          close();
        },
        "",
        "secondary",
      ),
    ),
  );
  promptHost.append(prompt);
}
