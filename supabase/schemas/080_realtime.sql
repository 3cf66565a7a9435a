-- Realtime: every change of a job row is broadcast from the database to private topics:
-- `user:<owner id>:jobs` gets the row; `job:<job id>` (the owner's) and, while the job is shared,
-- `job:<job id>:<share topic key>` (the link's viewers') only what the shared page shows
-- (private.shared_fields: no media description, options or owner). RLS on realtime.messages lets
-- the owner join the first two and the job's viewers the share's topic. Supabase Realtime checks
-- those policies when a channel is joined and again only when the client sends a new access
-- token, so revoking a share could not reach a viewer still joined to a topic it keeps being sent
-- to: revoke_share deletes the share, its topic gets nothing more, and sharing again makes a new
-- one. Progress writes are throttled at the source (heartbeat_task), so broadcasts are too.

-- Security definer: a change made by a user's RPC must be able to broadcast.
create function private.broadcast_job_change() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  job public.jobs := coalesce(new, old);
  shared jsonb;
begin
  perform realtime.broadcast_changes(
    'user:' || job.owner_id || ':jobs', tg_op, tg_op, tg_table_name, tg_table_schema, new, old);
  shared := jsonb_build_object(
    'schema', tg_table_schema, 'table', tg_table_name, 'operation', tg_op,
    'record', case when tg_op = 'DELETE' then null else private.shared_fields(new) end,
    'old_record', case when tg_op = 'INSERT' then null else jsonb_build_object('id', old.id) end);
  perform realtime.send(shared, tg_op, 'job:' || job.id, true);
  perform realtime.send(shared, tg_op, 'job:' || job.id || ':' || s.topic_key, true)
    from private.job_shares s where s.job_id = job.id;
  return null;
end;
$$;

create trigger jobs_broadcast after insert or update or delete on public.jobs
  for each row execute function private.broadcast_job_change();

-- The job id of a `job:<uuid>` or `job:<uuid>:<share topic key>` topic (null for any other).
create function private.topic_job_id(topic text) returns uuid
language sql immutable set search_path = ''
as $$
  select case
    when topic ~ '^job:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(:[0-9a-f]{32})?$'
    then substr(topic, 5, 36)::uuid end
$$;

-- Whether the caller may listen on a job topic: `job:<id>` is its owner's, `job:<id>:<key>` the
-- viewers' of the job's current share link; nobody's once the job is deleted or expired.
create function private.can_join_job_topic(topic text) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (
    select 1 from public.jobs j
    where j.id = private.topic_job_id(topic) and j.deleted_at is null and j.expires_at > now()
      and ((topic = 'job:' || j.id and j.owner_id = auth.uid())
        or exists (
          select 1 from private.job_shares s join private.viewers v on v.job_id = s.job_id
          where s.job_id = j.id and v.user_id = auth.uid()
            and topic = 'job:' || j.id || ':' || s.topic_key))
  )
$$;

create policy job_topics_receive on realtime.messages
  for select to authenticated
  using (
    extension = 'broadcast'
    and (
      realtime.topic() = 'user:' || (select auth.uid()) || ':jobs'
      or private.can_join_job_topic(realtime.topic())
    )
  );
