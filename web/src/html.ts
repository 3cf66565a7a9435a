/** Building DOM nodes in code: the page renders with plain DOM, no framework. */

type Props<K extends keyof HTMLElementTagNameMap> =
  & Partial<Omit<HTMLElementTagNameMap[K], "dataset" | "style">>
  & { dataset?: Record<string, string>; attrs?: Record<string, string> };

/** An element with properties, `data-*` values, attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props<K> = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const { dataset, attrs, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  for (const [key, value] of Object.entries(dataset ?? {})) node.dataset[key] = value;
  for (const [key, value] of Object.entries(attrs ?? {})) node.setAttribute(key, value);
  node.append(
    ...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false),
  );
  return node;
}

/** A button; `label` is extended with `context` for screen readers ("Cancel talk.mp4"). */
export function actionButton(
  label: string,
  onClick: () => void,
  context = "",
  className = "",
): HTMLButtonElement {
  const button = h("button", { type: "button", textContent: label, className, onclick: onClick });
  if (context) button.setAttribute("aria-label", `${label} ${context}`);
  return button;
}
