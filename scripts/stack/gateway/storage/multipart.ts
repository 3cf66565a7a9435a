/**
 * multipart/form-data as storage-js sends it. Deno's own `Request.formData()` drops parts whose
 * name is empty, and storage-js puts the file under the field name '' — so this reads the parts
 * itself. The body is held in memory, capped at `maxBytes`.
 */
import { payloadTooLarge, storageError } from "./errors.ts";

export interface Part {
  name: string;
  filename: string | null;
  contentType: string | null;
  data: Uint8Array;
}

const CRLF2 = new TextEncoder().encode("\r\n\r\n");

export async function readMultipart(req: Request, maxBytes: number): Promise<Part[]> {
  const boundary = req.headers.get("content-type")?.match(/boundary="?([^";]+)"?/i)?.[1];
  if (!boundary) throw storageError(400, "Invalid Input", "multipart body without a boundary");
  const body = await readCapped(req, maxBytes);
  const delimiter = new TextEncoder().encode(`--${boundary}`);
  const next = new TextEncoder().encode(`\r\n--${boundary}`);
  const parts: Part[] = [];
  let at = indexOf(body, delimiter, 0);
  if (at < 0) throw storageError(400, "Invalid Input", "multipart body without parts");
  at += delimiter.length;
  while (at + 1 < body.length && !(body[at] === 0x2d && body[at + 1] === 0x2d)) {
    const headerEnd = indexOf(body, CRLF2, at);
    if (headerEnd < 0) break;
    const headers = new TextDecoder().decode(body.subarray(at, headerEnd)).split("\r\n");
    const end = indexOf(body, next, headerEnd + 4);
    if (end < 0) throw storageError(400, "Invalid Input", "multipart body is truncated");
    const disposition = headers.find((h) => /^content-disposition:/i.test(h)) ?? "";
    const type = headers.find((h) => /^content-type:/i.test(h));
    parts.push({
      name: disposition.match(/\bname="([^"]*)"/i)?.[1] ?? "",
      filename: disposition.match(/\bfilename="([^"]*)"/i)?.[1] ?? null,
      contentType: type ? type.slice(type.indexOf(":") + 1).trim() : null,
      data: body.subarray(headerEnd + 4, end),
    });
    at = end + next.length;
  }
  return parts;
}

async function readCapped(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) throw payloadTooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body ?? new Blob([]).stream()) {
    size += chunk.byteLength;
    if (size > maxBytes) throw payloadTooLarge();
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  for (let i = haystack.indexOf(first, from); i >= 0; i = haystack.indexOf(first, i + 1)) {
    if (i + needle.length > haystack.length) return -1;
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}
