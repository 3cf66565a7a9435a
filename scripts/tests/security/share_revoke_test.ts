/**
 * Revoking a share link ends a hostile viewer's live updates (issue 26, finding 7). Supabase
 * Realtime checks a private channel's RLS policies when it is joined and again only when the
 * client sends a new access token (supabase/realtime lib/realtime_web/channels/
 * realtime_channel.ex: handle_in("access_token") re-runs the policies and shuts the channel
 * with "You no longer have permission to read…"; the periodic confirm_token only checks the
 * token's expiry; https://supabase.com/docs/guides/realtime/authorization). A viewer who keeps
 * one token and never leaves kept receiving the job's broadcasts. Viewers therefore listen on a
 * topic named by the share (`job:<id>:<topic key>`, from `shared_job`), which gets nothing once
 * the share is revoked; `job:<id>` is the owner's only.
 */
import assert from "node:assert/strict";
import { subscribeStatus } from "../support/realtime.ts";
import { adminSql, signedInUser } from "../support/stack_env.ts";

Deno.test({
  name: "share revoke: a viewer who stays joined hears nothing more, on any job topic",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const sql = adminSql();
    const owner = await signedInUser();
    const viewer = await signedInUser();
    let jobId: string | undefined;
    try {
      const [job] = await sql.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        return await tx`insert into public.jobs (owner_id, filename, media, options, status)
          values (${owner.id}, 'secret-plans.mp4', ${
          sql.json({ path: `${owner.id}/x/y.wav`, bytes: 1, sha256: "3" })
        }, ${sql.json({})}, 'processing') returning id`;
      });
      jobId = job.id;
      const token = (await owner.client.rpc("share_job", { job_id: job.id })).data as string;
      assert.equal((await viewer.client.rpc("open_shared_job", { token })).data, job.id);
      const shared = (await viewer.client.rpc("shared_job", { job_id: job.id })).data as {
        topic?: string;
      };
      const viewerTopic = shared.topic ?? `job:${job.id}`;

      // The hostile viewer joins every job topic it can name, keeps its token and never leaves.
      const heard: string[] = [];
      const joined: string[] = [];
      for (const topic of new Set([viewerTopic, `job:${job.id}`])) {
        const channel = viewer.client.channel(topic, { config: { private: true } });
        channel.on("broadcast", { event: "*" }, (m) => {
          heard.push(String(
            (m.payload as { record?: { stage_message?: string } }).record
              ?.stage_message,
          ));
        });
        if ((await subscribeStatus(channel)) === "SUBSCRIBED") joined.push(topic);
      }
      assert.ok(joined.includes(viewerTopic), `the viewer cannot join ${viewerTopic}`);
      await sql`update public.jobs set stage_message = 'before revoke' where id = ${job.id}`;
      for (let i = 0; i < 50 && !heard.includes("before revoke"); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(heard.includes("before revoke"), "the viewer never heard the job");

      assert.equal((await owner.client.rpc("revoke_share", { job_id: job.id })).error, null);
      await sql`update public.jobs set stage_message = 'after revoke', progress = 50
                where id = ${job.id}`;
      await new Promise((r) => setTimeout(r, 3000));
      assert.ok(
        !heard.includes("after revoke"),
        `a revoked viewer still hears the job on ${joined.join(", ")}`,
      );

      // Sharing again makes a new topic the revoked viewer cannot learn or join.
      const fresh = (await owner.client.rpc("share_job", { job_id: job.id })).data as string;
      assert.ok(fresh && fresh !== token);
      const ownerView = (await owner.client.rpc("shared_job", { job_id: job.id })).data as {
        topic?: string;
      };
      assert.equal(ownerView.topic, `job:${job.id}`, "the owner's topic");
      const again = viewer.client.channel(viewerTopic + "x", { config: { private: true } });
      assert.equal(await subscribeStatus(again), "CHANNEL_ERROR");
    } finally {
      // Not left active: the queue's global limit counts it.
      if (jobId) await sql`update public.jobs set status = 'cancelled' where id = ${jobId}`;
      await owner.client.removeAllChannels();
      await viewer.client.removeAllChannels();
      viewer.client.realtime.disconnect();
      owner.client.realtime.disconnect();
      await sql.end();
    }
  },
});
