-- Who may execute what. Postgres grants EXECUTE on every new function to PUBLIC, and
-- Supabase's defaults grant public-schema functions to anon and authenticated; the entry
-- points above narrow their own grants. Here: nothing in `private` is callable by API roles
-- except the helpers that row level security policies evaluate as the querying user.

revoke execute on all functions in schema private from public, anon, authenticated, service_role;
grant execute on function private.can_view_job(uuid), private.topic_job_id(text),
  private.can_join_job_topic(text), private.within_upload_quota(text, jsonb)
  to authenticated;
