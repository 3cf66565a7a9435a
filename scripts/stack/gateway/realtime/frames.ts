/**
 * Phoenix channel frames as realtime-js speaks them. vsn 1.0.0: JSON objects
 * `{topic, event, payload, ref, join_ref}`. vsn 2.0.0: JSON arrays
 * `[join_ref, ref, topic, event, payload]`, plus binary frames for user broadcasts:
 * kind 3 (client → server push) and kind 4 (server → client broadcast).
 */

export type Vsn = "1.0.0" | "2.0.0";

export interface Frame {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: unknown;
}

/** A user broadcast; `payload` is a Uint8Array when it was sent as raw bytes. */
export interface Broadcast {
  event: string;
  payload: unknown;
}

const KIND_USER_BROADCAST_PUSH = 3;
const KIND_USER_BROADCAST = 4;
const ENCODING_BINARY = 0;
const ENCODING_JSON = 1;

export class FrameError extends Error {}

export function parseVsn(value: string | null): Vsn {
  if (value === null || value === "1.0.0") return "1.0.0";
  if (value === "2.0.0") return "2.0.0";
  throw new FrameError(`unsupported vsn ${value}`);
}

export function decodeFrame(vsn: Vsn, data: string | ArrayBuffer): Frame {
  if (typeof data !== "string") return decodeBinaryPush(new Uint8Array(data));
  const parsed: unknown = JSON.parse(data);
  if (vsn === "2.0.0") {
    if (!Array.isArray(parsed) || parsed.length !== 5) throw new FrameError("expected a 5-array");
    const [joinRef, ref, topic, event, payload] = parsed;
    return checked({ joinRef, ref, topic, event, payload });
  }
  if (typeof parsed !== "object" || parsed === null) throw new FrameError("expected an object");
  const o = parsed as Record<string, unknown>;
  return checked({
    joinRef: o.join_ref as string | null,
    ref: o.ref as string | null,
    topic: o.topic as string,
    event: o.event as string,
    payload: o.payload,
  });
}

function checked(frame: Frame): Frame {
  if (typeof frame.topic !== "string" || typeof frame.event !== "string") {
    throw new FrameError("frame without topic or event");
  }
  return {
    ...frame,
    joinRef: frame.joinRef == null ? null : String(frame.joinRef),
    ref: frame.ref == null ? null : String(frame.ref),
    payload: frame.payload ?? {},
  };
}

/** Kind 3: kind, 5 lengths, encoding, then join_ref, ref, topic, event, metadata, payload. */
function decodeBinaryPush(bytes: Uint8Array): Frame {
  if (bytes[0] !== KIND_USER_BROADCAST_PUSH || bytes.length < 7) {
    throw new FrameError(`unsupported binary frame kind ${bytes[0]}`);
  }
  const lengths = Array.from(bytes.subarray(1, 6));
  const encoding = bytes[6];
  const text = new TextDecoder();
  let offset = 7;
  const [joinRef, ref, topic, event, metadata] = lengths.map((length) => {
    const part = text.decode(bytes.subarray(offset, offset + length));
    offset += length;
    return part;
  });
  const rest = bytes.slice(offset);
  const payload = encoding === ENCODING_JSON ? JSON.parse(text.decode(rest)) : rest;
  const broadcast: Record<string, unknown> = { type: "broadcast", event, payload };
  if (metadata) broadcast.meta = JSON.parse(metadata);
  return {
    joinRef: joinRef || null,
    ref: ref || null,
    topic,
    event: "broadcast",
    payload: broadcast,
  };
}

/** The frame as text or bytes for this socket, or null when vsn 1 cannot carry it (raw bytes). */
export function encodeFrame(vsn: Vsn, frame: Frame): string | Uint8Array<ArrayBuffer> | null {
  const broadcast = frame.event === "broadcast" ? frame.payload as Broadcast : null;
  if (broadcast && broadcast.payload instanceof Uint8Array) {
    return vsn === "2.0.0" ? encodeBinaryBroadcast(frame.topic, broadcast) : null;
  }
  if (vsn === "2.0.0") {
    return JSON.stringify([frame.joinRef, frame.ref, frame.topic, frame.event, frame.payload]);
  }
  return JSON.stringify({
    topic: frame.topic,
    event: frame.event,
    payload: frame.payload,
    ref: frame.ref,
    join_ref: frame.joinRef,
  });
}

/** Kind 4: kind, topic/event/metadata lengths, encoding, then those parts and the payload. */
function encodeBinaryBroadcast(topic: string, broadcast: Broadcast): Uint8Array<ArrayBuffer> {
  const text = new TextEncoder();
  const parts = [text.encode(topic), text.encode(broadcast.event), new Uint8Array(0)];
  const body = broadcast.payload as Uint8Array;
  const header = [KIND_USER_BROADCAST, ...parts.map((p) => p.length), ENCODING_BINARY];
  const out = new Uint8Array(header.length + parts.reduce((n, p) => n + p.length, 0) + body.length);
  out.set(header, 0);
  let offset = header.length;
  for (const part of [...parts, body]) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
