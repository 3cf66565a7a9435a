/** SHA-256 digests as lowercase hex, for content caches and release checks. */

/** Lowercase hex of `bytes`. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hex SHA-256 of `parts` one after the other (strings as UTF-8). */
export async function sha256Hex(...parts: (Uint8Array | string)[]): Promise<string> {
  const encoder = new TextEncoder();
  const bytes = parts.map((p) => typeof p === "string" ? encoder.encode(p) : p);
  const all = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of bytes) (all.set(b, at), at += b.length);
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", all)));
}
