-- Issue 24: public.check_options(jsonb) (schemas/055_prechecks.sql).
-- What a client checks before it hashes or uploads anything, with the server's own rules:
-- whether a set of options would be accepted by the insert (the same private.normalize_options,
-- the same errors). The presets themselves are public.caption_presets (047_caption_presets.sql).

-- The options normalised as the insert would store them, or the insert's error (PT400 with the
-- field in the message and the stable code in the hint). Nothing is written.
create function public.check_options(options jsonb) returns jsonb
language sql stable security definer set search_path = ''
as $$
  select private.normalize_options(options)
$$;

revoke execute on function public.check_options(jsonb) from public;
grant execute on function public.check_options(jsonb) to anon, authenticated;
