import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Sha256 } from "./sha256.ts";
import { INPUT_BYTES } from "./sha256_wasm.ts";

async function sha256(...parts: Uint8Array[]): Promise<string> {
  const hasher = await Sha256.create();
  for (const part of parts) hasher.update(part);
  return hasher.digestHex();
}

function reference(...parts: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

/** Deterministic bytes (a xorshift), so a failure reproduces. */
function bytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("sha256: the FIPS 180-2 / NIST example digests", async () => {
  assert.equal(
    await sha256(text("")),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(
    await sha256(text("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    await sha256(text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
  assert.equal(
    await sha256(new Uint8Array(1_000_000).fill(0x61)), // one million "a"
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
});

Deno.test("sha256: every length around the padding boundaries and the input area", async () => {
  const lengths = [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000];
  lengths.push(INPUT_BYTES - 1, INPUT_BYTES, INPUT_BYTES + 1, INPUT_BYTES + 63, 3 * INPUT_BYTES + 17);
  for (const length of lengths) {
    const data = bytes(length, length);
    assert.equal(await sha256(data), reference(data), `length ${length}`);
  }
});

Deno.test("sha256: splitting the input anywhere gives the same digest", async () => {
  const data = bytes(300_000, 7);
  const expected = reference(data);
  for (const cuts of [[1], [63], [64, 65], [3, 5, 7, 11, 200_000], [131_071, 131_072, 131_073]]) {
    const parts: Uint8Array[] = [];
    let from = 0;
    for (const cut of cuts) {
      parts.push(data.subarray(from, cut));
      from = cut;
    }
    parts.push(data.subarray(from));
    assert.equal(await sha256(...parts), expected, `cut at ${cuts}`);
  }
  // Many tiny updates, including empty ones.
  const hasher = await Sha256.create();
  for (let i = 0; i < 4096; i += 3) {
    hasher.update(data.subarray(i, i + 3));
    hasher.update(new Uint8Array(0));
  }
  assert.equal(hasher.digestHex(), reference(data.subarray(0, 4098)));
});

Deno.test("sha256: a file over 512 MiB (its bit length needs more than 32 bits)", async () => {
  // 2^32 bits = 512 MiB; recordings are often bigger. 600 MiB of one repeated 1 MiB buffer.
  const block = bytes(1 << 20, 3);
  const parts = Array.from({ length: 600 }, () => block);
  parts.push(block.subarray(0, 12_345));
  assert.equal(await sha256(...parts), reference(...parts));
});

Deno.test("sha256: a finished hasher refuses more input", async () => {
  const hasher = await Sha256.create();
  hasher.update(text("abc"));
  hasher.digestHex();
  assert.throws(() => hasher.update(text("d")), /after digestHex/);
  assert.throws(() => hasher.digestHex(), /twice/);
});

Deno.test("sha256: two hashers in one thread do not share state", async () => {
  const [one, two] = await Promise.all([Sha256.create(), Sha256.create()]);
  one.update(text("ab"));
  two.update(text("xyz"));
  one.update(text("c"));
  assert.equal(one.digestHex(), reference(text("abc")));
  assert.equal(two.digestHex(), reference(text("xyz")));
});
