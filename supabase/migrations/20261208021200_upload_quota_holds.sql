-- Issue 26, findings 3 and 4: the upload quota counts what a user holds in the media bucket,
-- whatever way it got there. Only a live job's exact inputs are left out (not a folder a job
-- names, nor a failed job's path), and a trigger checks every write with its size, signed
-- uploads included (hosted Storage writes those as a superuser, past RLS).

create function private.held_by_live_job(object_name text) returns boolean
language sql stable security definer set search_path = ''
as $$
  select exists (
    select 1 from public.jobs j
    where j.owner_id = private.folder_owner(object_name)
      and j.status not in ('failed', 'cancelled') and j.deleted_at is null
      and (j.media ->> 'path' = object_name
        or exists (
          select 1 from private.tasks t, jsonb_array_elements(t.output -> 'chunks') c
          where t.job_id = j.id and t.step = 'prepare' and t.status = 'completed'
            and c ->> 'path' = object_name)))
$$;

create or replace function private.within_upload_quota(object_name text, metadata jsonb) returns boolean
language plpgsql stable security definer set search_path = ''
as $$
declare
  cap bigint := (select s.pending_upload_bytes from private.settings s);
  uploader uuid := private.folder_owner(object_name);
  pending bigint;
begin
  if uploader is null or private.held_by_live_job(object_name) then
    return true;
  end if;
  select coalesce(sum((o.metadata ->> 'size')::bigint), 0) into pending
  from storage.objects o
  where o.bucket_id = 'media' and o.name like uploader::text || '/%' and o.name <> object_name
    and not private.held_by_live_job(o.name);
  if pending + coalesce((metadata ->> 'size')::bigint, 0) > cap then
    perform private.raise_error('upload_quota_exceeded', 'size',
      format('Your unfinished uploads would hold %s MB, more than the %s MB allowed. Submit or delete them first; unused uploads are removed after a day.',
        ceil((pending + coalesce((metadata ->> 'size')::bigint, 0)) / 1048576.0), floor(cap / 1048576.0)));
  end if;
  return true;
end;
$$;

create function private.enforce_upload_quota() returns trigger
language plpgsql security definer set search_path = ''
as $$
begin
  perform private.within_upload_quota(new.name, new.metadata);
  return new;
end;
$$;

create trigger media_upload_quota before insert or update of name, metadata on storage.objects
  for each row when (new.bucket_id = 'media')
  execute function private.enforce_upload_quota();

revoke execute on function private.held_by_live_job(text), private.enforce_upload_quota()
  from public, anon, authenticated, service_role;
