-- A failure whose friendly message has a `{detail}` slot (private.error_codes: invalid_manifest)
-- is shown with the failed task's own message in it, so a script author reads which manifest
-- rule broke and on which chunk ("chunk 3 is 31.0 s long but its window says 600 s (rule
-- "probed duration")") instead of a generic text. Only codes whose message asks for it: the
-- other task messages are technical and stay in private.events.
create function private.fill_failure_detail() returns trigger
language plpgsql security definer set search_path = ''
as $$
declare
  detail text;
begin
  if coalesce(new.error_message, '') not like '%{detail}%'
     and coalesce(new.stage_message, '') not like '%{detail}%' then
    return new;
  end if;
  select left(t.error_message, 300) into detail from private.tasks t
   where t.job_id = new.id and t.error_code = new.error_code
   order by t.updated_at desc limit 1;
  new.error_message := replace(new.error_message, '{detail}', coalesce(detail, 'see the manifest rules'));
  new.stage_message := replace(new.stage_message, '{detail}', coalesce(detail, 'see the manifest rules'));
  return new;
end;
$$;

create trigger jobs_failure_detail before update of error_message, stage_message on public.jobs
  for each row execute function private.fill_failure_detail();
