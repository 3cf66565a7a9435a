/** Reading ffmpeg's report on an input: pure, so Deno unit tests cover it (chunk_plan_test.ts). */

/** Duration, audio codec and audio bitrate from ffmpeg's report on the input (`ffmpeg -i`). */
export function parseProbe(
  log: string,
): { duration: number | null; codec: string | null; kbps: number | null } {
  const d = /Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(log);
  const duration = d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : null;
  const a =
    /Stream #\d+:\d+[^:]*: Audio: ([a-z0-9_]+)[^\n]*?(?:, (\d+) kb\/s)?\s*(?:\(default\))?\s*$/m
      .exec(log);
  return { duration, codec: a ? a[1] : null, kbps: a?.[2] ? Number(a[2]) : null };
}
