/**
 * Where to cut long audio before recognition. PocketSphinx decodes a 6-15 s piece whole far
 * better than it follows hours of audio, and a cut inside a word would break that word, so each
 * cut goes to the quietest moment the window allows, found from short-window RMS energy.
 */

/** A half-open range of samples, [start, end). */
export interface Piece {
  start: number;
  end: number;
}

export interface PieceLimits {
  /** Shortest piece in seconds (the last piece may be shorter when the audio is). */
  minSeconds: number;
  /** Longest piece in seconds. */
  maxSeconds: number;
}

/** The recognizer's working format: 16 kHz mono signed 16-bit PCM. */
export const SAMPLE_RATE = 16_000;

/** RMS is measured over 10 ms frames (the decoder's frame rate too)... */
const FRAME_SAMPLES = SAMPLE_RATE / 100;
/** ...and smoothed over ±150 ms, so a cut lands inside a pause rather than between two phones. */
const SMOOTHING_FRAMES = 15;
/**
 * Audio whose loudest 10 ms frame stays under this RMS (about -50 dBFS) holds no speech worth
 * decoding; skipping it keeps the decoder from inventing words in silence.
 */
const SILENCE_RMS = 100;

/** RMS energy of each 10 ms frame. */
export function frameRms(samples: Int16Array): Float64Array {
  const frames = new Float64Array(Math.ceil(samples.length / FRAME_SAMPLES));
  for (let f = 0; f < frames.length; f++) {
    const from = f * FRAME_SAMPLES;
    const to = Math.min(from + FRAME_SAMPLES, samples.length);
    let sum = 0;
    for (let i = from; i < to; i++) sum += samples[i] * samples[i];
    frames[f] = Math.sqrt(sum / (to - from));
  }
  return frames;
}

/** True when no 10 ms frame of `samples` rises above the silence threshold. */
export function isSilent(samples: Int16Array): boolean {
  return frameRms(samples).every((rms) => rms < SILENCE_RMS);
}

/**
 * Splits `samples` into consecutive pieces of `minSeconds`..`maxSeconds`, each cut at the
 * quietest point of its window. The pieces cover every sample exactly once.
 */
export function planPieces(
  samples: Int16Array,
  limits: PieceLimits = { minSeconds: 6, maxSeconds: 15 },
): Piece[] {
  const totalFrames = Math.ceil(samples.length / FRAME_SAMPLES);
  const minFrames = limits.minSeconds * 100;
  const maxFrames = limits.maxSeconds * 100;
  const energy = smooth(frameRms(samples));
  const pieces: Piece[] = [];
  let startFrame = 0;
  while (totalFrames - startFrame > maxFrames) {
    // Never leave a remainder shorter than the minimum: stop the window early if needed.
    const last = Math.max(
      startFrame + minFrames,
      Math.min(startFrame + maxFrames, totalFrames - minFrames),
    );
    const cut = quietestFrame(energy, startFrame + minFrames, last);
    pieces.push({ start: startFrame * FRAME_SAMPLES, end: cut * FRAME_SAMPLES });
    startFrame = cut;
  }
  if (samples.length > startFrame * FRAME_SAMPLES) {
    pieces.push({ start: startFrame * FRAME_SAMPLES, end: samples.length });
  }
  return pieces;
}

function smooth(rms: Float64Array): Float64Array {
  const out = new Float64Array(rms.length);
  for (let f = 0; f < rms.length; f++) {
    const from = Math.max(0, f - SMOOTHING_FRAMES);
    const to = Math.min(rms.length, f + SMOOTHING_FRAMES + 1);
    let sum = 0;
    for (let i = from; i < to; i++) sum += rms[i];
    out[f] = sum / (to - from);
  }
  return out;
}

/**
 * The frame in [first, last] with the least energy. In a long pause many frames tie at the
 * minimum; the middle of that run leaves breathing room on both sides of the cut.
 */
function quietestFrame(energy: Float64Array, first: number, last: number): number {
  let best = first;
  for (let f = first; f <= last; f++) if (energy[f] < energy[best]) best = f;
  let runEnd = best;
  while (runEnd + 1 <= last && energy[runEnd + 1] <= energy[best]) runEnd++;
  return Math.floor((best + runEnd) / 2);
}
