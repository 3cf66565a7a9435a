/**
 * Webhooks as a hostile user would aim them (issue 26, findings 1 and 2), through supabase-js:
 * URLs whose host a WHATWG URL parser (the stack's pg_net worker is Deno's fetch) decodes into a
 * loopback, link-local or metadata address are refused at submission, and deduplicated inserts —
 * answered at once from the owner's earlier result, outside the active limits — cannot multiply
 * deliveries past the per-user cap of webhook events per hour. SQL sets the scene only (hosted
 * URL rules, a finished job to deduplicate against) and counts what was queued.
 */
import assert from "node:assert/strict";
import { adminSql, signedInUser } from "../support/stack_env.ts";
import { assertEngineError, randomSha256, submit, submitAccepted } from "../support/submissions.ts";

Deno.test({
  name: "webhooks: hosts that decode to private addresses are refused; events are capped per user",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const sql = adminSql();
    const [saved] = await sql`select * from private.webhook_settings`;
    try {
      // Hosted rules, whatever another suite left behind.
      await sql`update private.webhook_settings set allow_private_urls = false`;
      const user = await signedInUser();

      await t.step(
        "URL forms that reach loopback, link-local or metadata are refused",
        async () => {
          for (
            const url of [
              "https://%31%32%37.0.0.%31:18443/",
              "https://127.0.0.1%2e/",
              "https://１２７.０.０.１/",
              "https://169.254.169.254%2e/latest/meta-data",
              "https://169.254.169.254./latest/meta-data",
              "https://a.l%6fcalhost/",
              "https://localhost./",
              "https://127.0.0.1\\.example.com/",
              "https://[fe80::1%25eth0]/",
              "https://ｌｏｃａｌｈｏｓｔ/",
            ]
          ) {
            const { job, error } = await submit(user.client, {
              filename: "talk.wav",
              media: {
                path: `${user.id}/${crypto.randomUUID()}/talk.wav`,
                bytes: 1000,
                sha256: randomSha256(),
              },
              options: { webhook_url: url },
            });
            assert.equal(job, null, `${url} accepted`);
            assertEngineError(error, "invalid_webhook_url", "PT400", url);
          }
          // Canonical public names still pass (an international name in its xn-- form).
          const ok = await submit(user.client, {
            filename: "talk.wav",
            media: {
              path: `${user.id}/${crypto.randomUUID()}/talk.wav`,
              bytes: 1000,
              sha256: randomSha256(),
            },
            options: { webhook_url: "https://xn--bcher-kva.example/hooks" },
          });
          assert.equal(ok.error, null, String(ok.error?.message));
          await sql`update public.jobs set status = 'cancelled' where id = ${ok.job!.id}`;
        },
      );

      await t.step(
        "deduplicated inserts cannot multiply deliveries past the hourly cap",
        async () => {
          const owner = await signedInUser();
          const sha256 = randomSha256();
          const path = `${owner.id}/${crypto.randomUUID()}/talk.wav`;
          const first = await submitAccepted(owner.client, {
            filename: "talk.wav",
            media: { path, bytes: 1000, sha256 },
          });
          await sql`update public.jobs set status = 'completed', progress = 100, completed_at = now()
                  where id = ${first.id}`;
          await sql`update private.tasks set status = 'cancelled' where job_id = ${first.id}`;
          await sql`insert into public.job_outputs (job_id, language, format, content)
                  values (${first.id}, 'en', 'srt', 'cached words')`;
          const [{ cap }] =
            await sql`select max_events_per_hour as cap from private.webhook_settings`;
          const attempts = Number(cap) + 10;
          const answers = await Promise.all(
            Array.from({ length: attempts }, (_, i) =>
              submit(owner.client, {
                filename: "talk.wav",
                media: { path, bytes: 1000, sha256 },
                options: { webhook_url: `https://hooks.example.com/${i}` },
              })),
          );
          assert.ok(
            answers.every((a) => a.error === null),
            JSON.stringify(answers.find((a) => a.error)),
          );
          const [counted] = await sql`
          select count(*) filter (where last_error is distinct from 'rate_limited')::int as sent,
                 count(*) filter (where last_error = 'rate_limited' and status = 'failed')::int as held
          from public.webhook_deliveries where owner_id = ${owner.id}`;
          assert.equal(counted.sent, Number(cap), `deliveries sent: ${JSON.stringify(counted)}`);
          assert.equal(counted.held, attempts - Number(cap), "rate-limited events are recorded");
          const [queued] = await sql`
          select count(*)::int as n from net.http_request_queue q
          join public.webhook_deliveries d on d.request_id = q.id where d.owner_id = ${owner.id}`;
          assert.ok(queued.n <= Number(cap), `requests queued: ${queued.n}`);
        },
      );
    } finally {
      await sql`update private.webhook_settings set allow_private_urls = ${saved.allow_private_urls}`;
      await sql.end();
    }
  },
});
