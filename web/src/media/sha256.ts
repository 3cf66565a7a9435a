/**
 * Streaming SHA-256 (FIPS 180-4) over the WebAssembly compression function of sha256_wasm.ts:
 * `update` as often as needed with any number of bytes, then `digestHex` once.
 * Memory stays at 128 KiB of WebAssembly memory and one partial block, whatever is hashed.
 */
import { INPUT_BYTES, INPUT_OFFSET, sha256ModuleBytes, STATE_OFFSET } from "./sha256_wasm.ts";

/** FIPS 180-4 section 5.3.3. */
const INITIAL_HASH = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

let compiled: Promise<WebAssembly.Module> | null = null;

export class Sha256 {
  readonly #memory: Uint8Array;
  readonly #state: Int32Array;
  readonly #blocks: (pointer: number, count: number) => void;
  /** Bytes of an incomplete block carried over between updates. */
  readonly #partial = new Uint8Array(64);
  #partialLength = 0;
  #length = 0;
  #finished = false;

  private constructor(instance: WebAssembly.Instance) {
    const exports = instance.exports as {
      memory: WebAssembly.Memory;
      blocks: (pointer: number, count: number) => void;
    };
    // The module's memory never grows, so these views stay valid.
    this.#memory = new Uint8Array(exports.memory.buffer);
    this.#state = new Int32Array(exports.memory.buffer, STATE_OFFSET, 8);
    this.#blocks = exports.blocks;
    this.#state.set(INITIAL_HASH);
  }

  /** A hasher with nothing hashed yet. The module is compiled once per thread. */
  static async create(): Promise<Sha256> {
    compiled ??= WebAssembly.compile(sha256ModuleBytes());
    return new Sha256(await WebAssembly.instantiate(await compiled));
  }

  update(bytes: Uint8Array): void {
    if (this.#finished) throw new Error("update() after digestHex()");
    this.#length += bytes.length;
    let offset = 0;
    if (this.#partialLength > 0) {
      offset = Math.min(64 - this.#partialLength, bytes.length);
      this.#partial.set(bytes.subarray(0, offset), this.#partialLength);
      this.#partialLength += offset;
      if (this.#partialLength < 64) return;
      this.#compress(this.#partial);
      this.#partialLength = 0;
    }
    while (bytes.length - offset >= 64) {
      const size = Math.min(INPUT_BYTES, (bytes.length - offset) & ~63);
      this.#compress(bytes.subarray(offset, offset + size));
      offset += size;
    }
    this.#partial.set(bytes.subarray(offset));
    this.#partialLength = bytes.length - offset;
  }

  /** Lowercase hex digest of everything passed to `update`; the hasher is done after this. */
  digestHex(): string {
    if (this.#finished) throw new Error("digestHex() called twice");
    this.#finished = true;
    // Padding: 0x80, zeros up to 8 bytes short of a block boundary, the length in bits (64-bit BE).
    const tail = new Uint8Array(this.#partialLength < 56 ? 64 : 128);
    tail.set(this.#partial.subarray(0, this.#partialLength));
    tail[this.#partialLength] = 0x80;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(this.#length / 0x20000000)); // length × 8 / 2^32
    view.setUint32(tail.length - 4, (this.#length * 8) >>> 0);
    this.#compress(tail);
    return Array.from(this.#state, (word) => (word >>> 0).toString(16).padStart(8, "0")).join("");
  }

  /** Whole blocks, at most INPUT_BYTES of them, through the module's input area. */
  #compress(blocks: Uint8Array): void {
    this.#memory.set(blocks, INPUT_OFFSET);
    this.#blocks(INPUT_OFFSET, blocks.length / 64);
  }
}
