-- Realtime: every change of a job row is broadcast from the database to two private topics,
-- `user:<owner id>:jobs` and `job:<job id>`. RLS on realtime.messages lets the owner join both
-- and the job's viewers join the job topic. Progress writes are throttled at the source
-- (heartbeat_task), so broadcasts are too.

-- Security definer: a change made by a user's RPC must be able to broadcast.
create function private.broadcast_job_change() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  job public.jobs := coalesce(new, old);
begin
  perform realtime.broadcast_changes(
    'user:' || job.owner_id || ':jobs', tg_op, tg_op, tg_table_name, tg_table_schema, new, old);
  perform realtime.broadcast_changes(
    'job:' || job.id, tg_op, tg_op, tg_table_name, tg_table_schema, new, old);
  return null;
end;
$$;

create trigger jobs_broadcast after insert or update or delete on public.jobs
  for each row execute function private.broadcast_job_change();

-- The job id of a `job:<uuid>` topic (null for any other topic).
create function private.topic_job_id(topic text) returns uuid
language sql immutable set search_path = ''
as $$
  select case when topic ~ '^job:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    then substr(topic, 5)::uuid end
$$;

create policy job_topics_receive on realtime.messages
  for select to authenticated
  using (
    extension = 'broadcast'
    and (
      realtime.topic() = 'user:' || (select auth.uid()) || ':jobs'
      or private.can_view_job(private.topic_job_id(realtime.topic()))
    )
  );
