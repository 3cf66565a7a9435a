/**
 * Just enough RIFF/WAVE to cut a long PCM recording into windows by byte range — the one
 * format a step can split without decoding (Edge Functions have no ffmpeg).
 */
export interface WavHeader {
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  byteRate: number;
  blockAlign: number;
  dataOffset: number;
}

export function readWavHeader(head: Uint8Array): WavHeader | null {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const tag = (at: number) => String.fromCharCode(...head.subarray(at, at + 4));
  if (head.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") return null;
  let at = 12;
  let fmt: Omit<WavHeader, "dataOffset"> | null = null;
  while (at + 8 <= head.length) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    if (id === "fmt " && at + 24 <= head.length) {
      if (view.getUint16(at + 8, true) !== 1) return null; // PCM only
      fmt = {
        channels: view.getUint16(at + 10, true),
        sampleRate: view.getUint32(at + 12, true),
        byteRate: view.getUint32(at + 16, true),
        blockAlign: view.getUint16(at + 20, true),
        bitsPerSample: view.getUint16(at + 22, true),
      };
    }
    if (id === "data") return fmt ? { ...fmt, dataOffset: at + 8 } : null;
    at += 8 + size + (size % 2);
  }
  return null;
}

/** A standalone WAV file holding `pcm` with the format of `header`. */
export function wavFile(header: WavHeader, pcm: Uint8Array): Uint8Array {
  const out = new Uint8Array(44 + pcm.length);
  const view = new DataView(out.buffer);
  const put = (at: number, s: string) => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  put(0, "RIFF");
  view.setUint32(4, 36 + pcm.length, true);
  put(8, "WAVE");
  put(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, header.channels, true);
  view.setUint32(24, header.sampleRate, true);
  view.setUint32(28, header.byteRate, true);
  view.setUint16(32, header.blockAlign, true);
  view.setUint16(34, header.bitsPerSample, true);
  put(36, "data");
  view.setUint32(40, pcm.length, true);
  out.set(pcm, 44);
  return out;
}

/** What a window of PCM is turned into when it would be too big to send: 16 kHz mono 16-bit. */
export const SPEECH_RATE = 16_000;
export const SPEECH_HEADER: WavHeader = {
  channels: 1,
  sampleRate: SPEECH_RATE,
  bitsPerSample: 16,
  byteRate: SPEECH_RATE * 2,
  blockAlign: 2,
  dataOffset: 44,
};

/**
 * Turns PCM of `header`'s format, pushed in pieces of any size, into 16 kHz mono 16-bit PCM
 * written straight into a WAV file of `frames` input frames: channels are averaged, and each
 * output sample is the mean of the input frames it covers (a box filter, enough against
 * aliasing for speech recognition). Memory is the output only (about 10 MB per 5 minutes);
 * the input is never held.
 */
export class SpeechDownmix {
  readonly #in: WavHeader;
  readonly #out: Uint8Array;
  readonly #view: DataView;
  readonly #ratio: number;
  #carry = new Uint8Array(0);
  #frame = 0;
  #bucket = 0;
  #sum = 0;
  #count = 0;
  #written = 0;

  constructor(header: WavHeader, frames: number) {
    if (![8, 16, 24, 32].includes(header.bitsPerSample) || header.channels < 1) {
      throw new RangeError(`PCM of ${header.bitsPerSample} bits is not supported`);
    }
    this.#in = header;
    this.#ratio = SPEECH_RATE / header.sampleRate;
    const samples = Math.ceil(frames * this.#ratio) + 1;
    this.#out = wavFile(SPEECH_HEADER, new Uint8Array(samples * 2));
    this.#view = new DataView(this.#out.buffer);
  }

  push(piece: Uint8Array): void {
    const { blockAlign } = this.#in;
    let at = 0;
    if (this.#carry.length) {
      // Complete the frame split across the previous piece and this one.
      const need = blockAlign - this.#carry.length;
      const frame = new Uint8Array(blockAlign);
      frame.set(this.#carry);
      frame.set(piece.subarray(0, need), this.#carry.length);
      if (piece.length < need) {
        this.#carry = frame.slice(0, this.#carry.length + piece.length);
        return;
      }
      this.#frames(frame, blockAlign);
      at = need;
    }
    const rest = piece.subarray(at);
    const whole = rest.length - (rest.length % blockAlign);
    this.#frames(rest, whole);
    this.#carry = rest.slice(whole);
  }

  /** Consumes the first `length` bytes of `bytes` (whole frames). */
  #frames(bytes: Uint8Array, length: number): void {
    const { blockAlign, channels, bitsPerSample } = this.#in;
    if (bitsPerSample === 16 && bytes.byteOffset % 2 === 0) {
      // The common case, on typed arrays (little-endian like the file on every platform Deno
      // runs on): about 3 times faster than DataView reads.
      const samples = new Int16Array(bytes.buffer, bytes.byteOffset, length / 2);
      for (let at = 0; at < samples.length; at += channels) {
        let mono = 0;
        for (let c = 0; c < channels; c++) mono += samples[at + c];
        const bucket = Math.floor(this.#frame * this.#ratio);
        if (bucket !== this.#bucket && this.#count) this.#emit();
        this.#bucket = bucket;
        this.#sum += mono / channels;
        this.#count++;
        this.#frame++;
      }
      return;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const width = bitsPerSample / 8;
    for (let at = 0; at < length; at += blockAlign) {
      let mono = 0;
      for (let c = 0; c < channels; c++) {
        const s = at + c * width;
        mono += width === 2
          ? view.getInt16(s, true)
          : width === 1
          ? (bytes[s] - 128) << 8
          : width === 3
          ? ((bytes[s + 2] << 24) | (bytes[s + 1] << 16) | (bytes[s] << 8)) >> 16
          : view.getInt32(s, true) >> 16;
      }
      const bucket = Math.floor(this.#frame * this.#ratio);
      if (bucket !== this.#bucket && this.#count) this.#emit();
      this.#bucket = bucket;
      this.#sum += mono / channels;
      this.#count++;
      this.#frame++;
    }
  }

  #emit(): void {
    const at = 44 + this.#written * 2;
    if (at + 2 <= this.#out.length) {
      this.#view.setInt16(
        at,
        Math.max(-32768, Math.min(32767, Math.round(this.#sum / this.#count))),
        true,
      );
      this.#written++;
    }
    this.#sum = 0;
    this.#count = 0;
  }

  /** The WAV file of what was pushed, and how many seconds of the input it holds. */
  finish(): { bytes: Uint8Array; seconds: number } {
    if (this.#count) this.#emit();
    const length = this.#written * 2;
    this.#view.setUint32(4, 36 + length, true);
    this.#view.setUint32(40, length, true);
    return {
      bytes: this.#out.subarray(0, 44 + length),
      seconds: this.#frame / this.#in.sampleRate,
    };
  }
}
