/**
 * Where the audio of a recording is cut: windows of CHUNK_SECONDS, each after the first also
 * carrying the last OVERLAP_SECONDS of its predecessor, so that words spoken across a cut are
 * heard whole by one of the two transcriptions (merge drops the duplicates). Times are on the
 * audio track's timeline (0 = its first sample; recording_windows.ts defines it).
 *
 * Pure logic without browser APIs, so Deno unit tests cover it (chunk_plan_test.ts).
 */

// The recording's timeline and the window rules are the server's own definition, one module
// for every client and prepare.
import {
  CHUNK_SECONDS,
  chunkCount,
  OVERLAP_SECONDS,
  TAIL_SLACK_SECONDS,
} from "../../../supabase/functions/_shared/audio/recording_windows.ts";
export { CHUNK_SECONDS, chunkCount, OVERLAP_SECONDS, TAIL_SLACK_SECONDS };

/**
 * Most bytes a chunk may hold: below OpenAI's 25 MB upload limit (so the server sends it as it
 * is) and so well below Storage's 50 MB per object (supabase/functions/_shared/engine/limits.ts).
 */
export const CHUNK_BYTES = 24_000_000;

/**
 * Length of the chunks of a recording whose audio takes `bytesPerSecond`: CHUNK_SECONDS, or
 * shorter (whole tens of seconds, at least one minute) when a chunk of that length, overlap and
 * tail included, would hold more than CHUNK_BYTES — copied audio above about 310 kbit/s.
 */
export function chunkSecondsFor(bytesPerSecond: number): number {
  const longest = CHUNK_SECONDS + OVERLAP_SECONDS + TAIL_SLACK_SECONDS;
  if (!(bytesPerSecond > 0) || longest * bytesPerSecond <= CHUNK_BYTES) return CHUNK_SECONDS;
  const fits = CHUNK_BYTES / bytesPerSecond - OVERLAP_SECONDS - TAIL_SLACK_SECONDS;
  return Math.max(60, Math.floor(fits / 10) * 10);
}

/**
 * The chunks a packet starting at `timestamp` belongs to: its own window, and also the next one
 * when it lies in that window's overlap. Packets past the announced duration (containers whose
 * metadata undercounts) stay in the last chunk rather than starting a new one.
 */
export function chunksOfPacket(
  timestamp: number,
  count: number,
  seconds = CHUNK_SECONDS,
): number[] {
  const own = Math.min(count - 1, Math.max(0, Math.floor(timestamp / seconds)));
  const next = own + 1;
  if (next < count && timestamp >= next * seconds - OVERLAP_SECONDS) return [own, next];
  return [own];
}

/** One chunk as the manifest describes it (Chunk in supabase/functions/_shared/engine/contract.ts). */
export interface ManifestChunk {
  index: number;
  path: string;
  start: number;
  end: number;
  overlap_before: number;
}

/**
 * The manifest entry of chunk `index` whose first packet starts at `first` and whose last packet
 * ends at `last` (seconds of the recording). Times are rounded to the millisecond.
 */
export function manifestChunk(
  index: number,
  path: string,
  first: number,
  last: number,
  seconds = CHUNK_SECONDS,
): ManifestChunk {
  const round = (s: number) => Math.round(s * 1000) / 1000;
  const start = round(Math.max(0, first));
  const boundary = index * seconds;
  return {
    index,
    path,
    start,
    end: Math.max(round(last), start + 0.001),
    overlap_before: index === 0 ? 0 : round(Math.max(0, boundary - start)),
  };
}
