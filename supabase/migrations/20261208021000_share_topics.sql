-- Issue 26, finding 7: a share link's viewers listen on a topic named by the share
-- (`job:<id>:<topic key>`), which gets nothing once the share is revoked; `job:<id>` is the
-- owner's only. Supabase Realtime re-checks a joined channel's policies only when the client
-- sends a new access token, so a revoked viewer that stayed joined kept hearing the job.

alter table private.job_shares
  add column topic_key text not null default encode(extensions.gen_random_bytes(16), 'hex');

create or replace function private.broadcast_job_change() returns trigger
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

create or replace function private.topic_job_id(topic text) returns uuid
language sql immutable set search_path = ''
as $$
  select case
    when topic ~ '^job:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(:[0-9a-f]{32})?$'
    then substr(topic, 5, 36)::uuid end
$$;

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

drop policy job_topics_receive on realtime.messages;
create policy job_topics_receive on realtime.messages
  for select to authenticated
  using (
    extension = 'broadcast'
    and (
      realtime.topic() = 'user:' || (select auth.uid()) || ':jobs'
      or private.can_join_job_topic(realtime.topic())
    )
  );

create or replace function public.shared_job(job_id uuid) returns jsonb
language plpgsql stable security definer set search_path = ''
as $$
declare
  job public.jobs;
begin
  if not private.can_view_job(shared_job.job_id) then
    perform private.raise_error('not_found', 'job_id');
  end if;
  select * into job from public.jobs j where j.id = shared_job.job_id;
  return private.shared_fields(job) || jsonb_build_object('topic', case
    when job.owner_id = auth.uid() then 'job:' || job.id
    else (select 'job:' || job.id || ':' || s.topic_key from private.job_shares s
          where s.job_id = job.id) end);
end;
$$;

revoke execute on function private.can_join_job_topic(text)
  from public, anon, authenticated, service_role;
grant execute on function private.can_join_job_topic(text) to authenticated;
