/**
 * A local HTTP server that answers Range requests as Storage does (206 with Content-Range), for
 * tests of the steps' readers without a stack. Serves files held in memory and synthetic PCM
 * WAV files of any length, generated for the requested range only (a 3-hour 44.1 kHz stereo
 * recording is 1.9 GB and never exists anywhere).
 */
export interface SyntheticWav {
  seconds: number;
  sampleRate: number;
  channels: number;
}

export interface RangeServer {
  /** URL of an object served from `bytes`. */
  file(name: string, bytes: Uint8Array): string;
  /** URL of a 16-bit PCM WAV of a 440 Hz tone. */
  wav(name: string, spec: SyntheticWav): string;
  close(): Promise<void>;
}

const HEADER = 44;

function wavHeader(spec: SyntheticWav, dataBytes: number): Uint8Array {
  const out = new Uint8Array(HEADER);
  const view = new DataView(out.buffer);
  const put = (at: number, s: string) => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  put(0, "RIFF");
  view.setUint32(4, Math.min(0xffffffff, 36 + dataBytes), true);
  put(8, "WAVE");
  put(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, spec.channels, true);
  view.setUint32(24, spec.sampleRate, true);
  view.setUint32(28, spec.sampleRate * spec.channels * 2, true);
  view.setUint16(32, spec.channels * 2, true);
  view.setUint16(34, 16, true);
  put(36, "data");
  view.setUint32(40, Math.min(0xffffffff, dataBytes), true);
  return out;
}

/** Bytes `from`..`to` (exclusive) of the synthetic file, in pieces of at most 1 MiB. */
function* wavBytes(spec: SyntheticWav, from: number, to: number): Generator<Uint8Array> {
  const block = spec.channels * 2;
  const data = Math.floor(spec.seconds * spec.sampleRate) * block;
  const header = wavHeader(spec, data);
  if (from < HEADER) {
    yield header.slice(from, Math.min(HEADER, to));
    from = HEADER;
  }
  const omega = 2 * Math.PI * 440 / spec.sampleRate;
  while (from < to) {
    const end = Math.min(to, from + (1 << 20));
    // Whole frames covering from..end, as little-endian 16-bit samples (the machine's order).
    const first = Math.floor((from - HEADER) / block);
    const last = Math.ceil((end - HEADER) / block);
    const samples = new Int16Array((last - first) * spec.channels);
    for (let f = first; f < last; f++) {
      const v = Math.round(8000 * Math.sin(omega * f));
      for (let c = 0; c < spec.channels; c++) samples[(f - first) * spec.channels + c] = v;
    }
    const skip = from - HEADER - first * block;
    const out = new Uint8Array(samples.buffer, skip, end - from).slice();
    yield out;
    from = end;
  }
}

export function startRangeServer(): RangeServer {
  const files = new Map<string, { size: number; read: (from: number, to: number) => BodyInit }>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const name = new URL(req.url).pathname.slice(1);
    const file = files.get(name);
    if (!file) return new Response("not found", { status: 404 });
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.get("range") ?? "");
    if (!m) {
      return new Response(file.read(0, file.size), {
        headers: { "content-length": `${file.size}` },
      });
    }
    const from = Number(m[1]);
    if (from >= file.size) return new Response(null, { status: 416 });
    const to = Math.min(file.size - 1, m[2] ? Number(m[2]) : file.size - 1);
    return new Response(file.read(from, to + 1), {
      status: 206,
      headers: {
        "content-range": `bytes ${from}-${to}/${file.size}`,
        "content-length": `${to + 1 - from}`,
      },
    });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    file(name, bytes) {
      files.set(name, { size: bytes.length, read: (from, to) => bytes.slice(from, to) });
      return `${base}/${name}`;
    },
    wav(name, spec) {
      const size = HEADER + Math.floor(spec.seconds * spec.sampleRate) * spec.channels * 2;
      files.set(name, {
        size,
        read: (from, to) => {
          const pieces = wavBytes(spec, from, to);
          return new ReadableStream<Uint8Array>({
            pull(controller) {
              const next = pieces.next();
              if (next.done) controller.close();
              else controller.enqueue(next.value);
            },
          });
        },
      });
      return `${base}/${name}`;
    },
    close: () => server.shutdown(),
  };
}

/**
 * The same server in a Web Worker, so that what a test measures in its own isolate (heap and
 * array buffers) is the reader's only. Synthetic WAV files only.
 */
export async function startRangeWorker(): Promise<Omit<RangeServer, "file">> {
  const worker = new Worker(import.meta.url, { type: "module" });
  const base = await new Promise<string>((resolve) => {
    worker.onmessage = (e) => resolve(e.data as string);
    worker.postMessage({ start: true });
  });
  return {
    wav(name, spec) {
      worker.postMessage({ name, spec });
      return `${base}/${name}?${new URLSearchParams(
        Object.entries(spec).map(([k, v]) => [k, `${v}`]),
      )}`;
    },
    close() {
      worker.terminate();
      return Promise.resolve();
    },
  };
}

// Inside the worker: serve synthetic WAVs described by their URL's query.
if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined") {
  const self = globalThis as unknown as {
    onmessage: (e: MessageEvent) => void;
    postMessage: (m: unknown) => void;
  };
  const server = startRangeServer();
  const names = new Set<string>();
  self.onmessage = (e) => {
    const data = e.data as { start?: boolean; name?: string; spec?: SyntheticWav };
    if (data.start) {
      self.postMessage(
        server.wav("probe", { seconds: 0, sampleRate: 8000, channels: 1 }).replace(/\/probe$/, ""),
      );
    }
    if (data.name && data.spec && !names.has(data.name)) {
      names.add(data.name);
      server.wav(data.name, data.spec);
    }
  };
}

/**
 * `deno run -A scripts/tests/support/range_server.ts --serve <dir>`: prints its URL, then serves the
 * files of `<dir>` by range straight from disk, and `synthetic-<seconds>-<rate>-<channels>.wav`
 * as generated 16-bit PCM (the bench's stand-in for Storage objects over 50 MB).
 */
if (import.meta.main && Deno.args[0] === "--serve") {
  const dir = Deno.args[1];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const name = decodeURIComponent(new URL(req.url).pathname.slice(1));
    if (name.includes("/") || name.startsWith(".")) return new Response(null, { status: 400 });
    const synthetic = /^synthetic-(\d+)-(\d+)-(\d+)\.wav$/.exec(name);
    let size: number;
    let read: (from: number, to: number) => Promise<BodyInit> | BodyInit;
    if (synthetic) {
      const spec = {
        seconds: Number(synthetic[1]),
        sampleRate: Number(synthetic[2]),
        channels: Number(synthetic[3]),
      };
      size = HEADER + Math.floor(spec.seconds * spec.sampleRate) * spec.channels * 2;
      read = (from, to) => {
        const pieces = wavBytes(spec, from, to);
        return new ReadableStream<Uint8Array>({
          pull(c) {
            const next = pieces.next();
            if (next.done) c.close();
            else c.enqueue(next.value);
          },
        });
      };
    } else {
      const stat = await Deno.stat(`${dir}/${name}`).catch(() => null);
      if (!stat?.isFile) return new Response("not found", { status: 404 });
      size = stat.size;
      read = async (from, to) => {
        const file = await Deno.open(`${dir}/${name}`);
        await file.seek(from, Deno.SeekMode.Start);
        let left = to - from;
        return new ReadableStream<Uint8Array>({
          async pull(c) {
            if (left <= 0) {
              file.close();
              return c.close();
            }
            const buffer = new Uint8Array(Math.min(left, 1 << 20));
            const n = await file.read(buffer);
            if (n === null) {
              file.close();
              return c.close();
            }
            left -= n;
            c.enqueue(buffer.subarray(0, n));
          },
          cancel() {
            file.close();
          },
        });
      };
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.get("range") ?? "");
    const from = m ? Number(m[1]) : 0;
    if (from >= size) return new Response(null, { status: 416 });
    const to = Math.min(size - 1, m?.[2] ? Number(m[2]) : size - 1);
    return new Response(await read(from, to + 1), {
      status: m ? 206 : 200,
      headers: {
        "content-length": `${to + 1 - from}`,
        ...(m ? { "content-range": `bytes ${from}-${to}/${size}` } : {}),
      },
    });
  });
  console.log(`http://127.0.0.1:${server.addr.port}`);
}
