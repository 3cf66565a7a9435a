// Test-only function (served by the test stack): tries what the Edge Runtime does not grant a
// function, and what it does, and reports each outcome as `{ ok, error }` (the error's class
// name: NotCapable or PermissionDenied where the sandbox refused). The paths to try come from
// the test, so this function knows nothing of where the stack keeps its files.
//   GET ?probe=spawn                 run a process (Deno.Command; by absolute path, as there is no
//                                    PATH to find one by)
//   GET ?probe=ffi                   load a native library (Deno.dlopen)
//   GET ?probe=write&path=P          write a file at P
//   GET ?probe=read&path=P           read the file at P
//   GET ?probe=write_bundle          write a file beside this module (into its own bundle)
//   GET ?probe=read_bundle           read this module's own source
//   GET ?probe=tmp                   write, read and remove a file in /tmp and a temp file
//   GET ?probe=env                   the names of the env vars it was given, and PATH
type Outcome = { ok: boolean; error?: string; detail?: unknown };

async function attempt(work: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, detail: await work() };
  } catch (e) {
    return { ok: false, error: (e as Error).constructor.name, detail: (e as Error).message };
  }
}

const here = new URL(".", import.meta.url);

const probes: Record<string, (q: URLSearchParams) => Promise<unknown>> = {
  spawn: async () => (await new Deno.Command("/bin/sh", { args: ["-c", "true"] }).output()).code,
  // deno-lint-ignore require-await
  ffi: async () => Deno.dlopen("libc.so.6", {}).close(),
  write: (q) => Deno.writeTextFile(q.get("path")!, "written by conformance-sandbox\n"),
  read: (q) => Deno.readTextFile(q.get("path")!).then((text) => text.length),
  write_bundle: () => Deno.writeTextFile(new URL("written.txt", here), "into the bundle\n"),
  read_bundle: () => Deno.readTextFile(new URL("index.ts", import.meta.url)).then((t) => t.length),
  tmp: async () => {
    const path = `${Deno.env.get("TMPDIR")}/conformance-sandbox-${crypto.randomUUID()}`;
    await Deno.writeTextFile(path, "tmp");
    const back = await Deno.readTextFile(path);
    await Deno.remove(path);
    const temp = await Deno.makeTempFile();
    await Deno.writeTextFile(temp, "temp");
    await Deno.remove(temp);
    return { back, temp };
  },
  // deno-lint-ignore require-await
  env: async () => ({ names: Object.keys(Deno.env.toObject()).sort(), path: Deno.env.get("PATH") }),
};

Deno.serve(async (req) => {
  const q = new URL(req.url).searchParams;
  const probe = probes[q.get("probe") ?? ""];
  if (!probe) return Response.json({ error: "unknown probe" }, { status: 400 });
  return Response.json(await attempt(() => probe(q)));
});
