/**
 * MP3 without reading the whole file. A demuxer finds a time in an MP3 by walking every frame
 * from the start (measured: 12 s of CPU for a 3-hour file read by range), far beyond the 2 s an
 * Edge Function may use. MP3 frames are self-contained, so a window is simply the frames of a
 * byte range: the duration comes from the Xing/Info header (frame count) or, for constant
 * bitrate, from the size; a time maps to a byte offset by the average byte rate, and the cut
 * starts at the next frame boundary. Exact for constant bitrate (what recorders and ffmpeg
 * write by default); for variable bitrate the window edges are placed by the average rate.
 */

export interface Mp3Layout {
  /** Byte offset of the first audio frame (after any ID3v2 tag). */
  audioStart: number;
  sampleRate: number;
  samplesPerFrame: number;
  /** Seconds. */
  duration: number;
  /** Average bytes of audio per second. */
  byteRate: number;
}

const BITRATES_V1_L3 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_V2_L3 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const SAMPLE_RATES = [44100, 48000, 32000];

interface FrameHeader {
  bytes: number;
  sampleRate: number;
  samplesPerFrame: number;
  bitrate: number;
  mpeg1: boolean;
  mono: boolean;
}

/** The MPEG-1/2/2.5 Layer III frame header at `at`, or null. */
export function frameHeader(b: Uint8Array, at: number): FrameHeader | null {
  if (at + 4 > b.length || b[at] !== 0xff || (b[at + 1] & 0xe0) !== 0xe0) return null;
  const version = (b[at + 1] >> 3) & 3; // 0: 2.5, 2: 2, 3: 1
  const layer = (b[at + 1] >> 1) & 3; // 1: Layer III
  const bitrateIndex = b[at + 2] >> 4;
  const rateIndex = (b[at + 2] >> 2) & 3;
  if (
    version === 1 || layer !== 1 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3
  ) {
    return null;
  }
  const mpeg1 = version === 3;
  const bitrate = (mpeg1 ? BITRATES_V1_L3 : BITRATES_V2_L3)[bitrateIndex] * 1000;
  const sampleRate = SAMPLE_RATES[rateIndex] / (mpeg1 ? 1 : version === 2 ? 2 : 4);
  const samplesPerFrame = mpeg1 ? 1152 : 576;
  const padding = (b[at + 2] >> 1) & 1;
  const bytes = Math.floor((samplesPerFrame / 8) * bitrate / sampleRate) + padding;
  return { bytes, sampleRate, samplesPerFrame, bitrate, mpeg1, mono: (b[at + 3] >> 6) === 3 };
}

function id3Size(b: Uint8Array): number {
  if (b.length < 10 || b[0] !== 0x49 || b[1] !== 0x44 || b[2] !== 0x33) return 0;
  const size = (b[6] << 21) | (b[7] << 14) | (b[8] << 7) | b[9];
  return 10 + size + ((b[5] & 0x10) ? 10 : 0);
}

/** A frame at `at` whose successor also parses: a real frame, not a stray 0xFF byte. */
export function nextFrame(b: Uint8Array, from: number): number {
  for (let at = from; at + 4 <= b.length; at++) {
    const h = frameHeader(b, at);
    if (!h) continue;
    if (at + h.bytes + 4 > b.length || frameHeader(b, at + h.bytes)) return at;
  }
  return -1;
}

/**
 * The layout of an MP3 from its first bytes (`head`, enough to hold the ID3 tag and the first
 * frame) and its total size; null when it is not MP3.
 */
export function mp3Layout(head: Uint8Array, size: number): Mp3Layout | null {
  // Only a file that starts with a frame (after its tag) is taken for MP3: a sync pattern
  // somewhere inside another container must not be.
  const start = id3Size(head);
  const h = frameHeader(head, start);
  if (!h || (start + h.bytes + 4 <= head.length && !frameHeader(head, start + h.bytes))) {
    return null;
  }
  // Xing/Info sits after the side information; its frame count gives the exact duration.
  const side = h.mpeg1 ? (h.mono ? 17 : 32) : (h.mono ? 9 : 17);
  const tag = start + 4 + side;
  const name = String.fromCharCode(...head.subarray(tag, tag + 4));
  let frames: number | null = null;
  let audioStart = start;
  if ((name === "Xing" || name === "Info") && tag + 12 <= head.length) {
    const flags = new DataView(head.buffer, head.byteOffset + tag + 4, 8).getUint32(0);
    if (flags & 1) frames = new DataView(head.buffer, head.byteOffset + tag + 8, 4).getUint32(0);
    audioStart = start + h.bytes; // the tag frame holds no audio
  }
  const audioBytes = size - audioStart;
  const duration = frames !== null
    ? frames * h.samplesPerFrame / h.sampleRate
    : audioBytes * 8 / h.bitrate;
  if (!(duration > 0)) return null;
  return {
    audioStart,
    sampleRate: h.sampleRate,
    samplesPerFrame: h.samplesPerFrame,
    duration,
    byteRate: audioBytes / duration,
  };
}

/** The byte range to read for the window `start`..`end` (a frame of slack on each side). */
export function mp3WindowRange(layout: Mp3Layout, start: number, end: number): [number, number] {
  const slack = 2 * 1441; // the longest Layer III frame, twice
  return [
    Math.max(layout.audioStart, Math.floor(layout.audioStart + start * layout.byteRate) - slack),
    Math.ceil(layout.audioStart + end * layout.byteRate),
  ];
}

/**
 * The whole frames of `bytes` (read from `offset` of the file): an MP3 of its own, and where it
 * starts and ends in the recording.
 */
export function mp3Window(
  layout: Mp3Layout,
  bytes: Uint8Array,
  offset: number,
  start: number,
): { bytes: Uint8Array; start: number; end: number } {
  const target = Math.max(0, Math.floor(layout.audioStart + start * layout.byteRate) - offset);
  let first = nextFrame(bytes, target);
  if (first < 0) first = nextFrame(bytes, 0);
  if (first < 0) return { bytes: new Uint8Array(), start, end: start };
  let at = first;
  for (;;) {
    const h = frameHeader(bytes, at);
    if (!h || at + h.bytes > bytes.length) break;
    at += h.bytes;
  }
  const from = (offset + first - layout.audioStart) / layout.byteRate;
  return {
    bytes: bytes.slice(first, at),
    start: from,
    end: from + (at - first) / layout.byteRate,
  };
}
