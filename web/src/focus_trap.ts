/**
 * Keeps keyboard focus inside an open drawer or dialog (Tab and Shift+Tab wrap around), closes
 * it with Escape, and gives focus back to where it was when released.
 */

const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled]):not([type=hidden])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  "video[controls]",
  "[tabindex]:not([tabindex='-1'])",
].join(",");

function focusables(container: HTMLElement): HTMLElement[] {
  return [...container.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) =>
    !el.closest("[hidden]") && el.getClientRects().length > 0
  );
}

// Open traps, innermost last: a dialog opened from the drawer owns the keyboard until closed.
const open: HTMLElement[] = [];

/** Traps focus in `container` until the returned function is called. */
export function trapFocus(container: HTMLElement, onEscape: () => void): () => void {
  const returnTo = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  open.push(container);
  const onKey = (event: KeyboardEvent) => {
    if (open[open.length - 1] !== container) return;
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      onEscape();
      return;
    }
    if (event.key !== "Tab") return;
    const items = focusables(container);
    if (items.length === 0) {
      event.preventDefault();
      container.focus();
      return;
    }
    const first = items[0];
    const last = items[items.length - 1];
    const active = document.activeElement;
    if (event.shiftKey && (active === first || !container.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !container.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  };
  // Focus that escapes (a click elsewhere, a re-render) is brought back in.
  const onFocusIn = (event: FocusEvent) => {
    if (open[open.length - 1] !== container) return;
    if (event.target instanceof Node && !container.contains(event.target)) {
      (focusables(container)[0] ?? container).focus();
    }
  };
  document.addEventListener("keydown", onKey, true);
  document.addEventListener("focusin", onFocusIn);
  return () => {
    open.splice(open.indexOf(container), 1);
    document.removeEventListener("keydown", onKey, true);
    document.removeEventListener("focusin", onFocusIn);
    if (returnTo?.isConnected) returnTo.focus();
  };
}
