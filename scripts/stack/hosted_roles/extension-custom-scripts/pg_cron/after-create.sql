-- Run as the superuser right after postgres creates pg_cron (hosted_roles.c), as a hosted
-- project's supautils extension custom scripts and its pg_cron event trigger do: postgres uses
-- the cron schema and its functions, reads cron.job (it changes jobs only through
-- cron.schedule / cron.unschedule) and owns none of it.
grant usage on schema cron to postgres with grant option;
grant all on all functions in schema cron to postgres with grant option;
grant select, insert, update, delete, truncate, references on all tables in schema cron
  to postgres with grant option;
revoke all on table cron.job from postgres;
grant select on table cron.job to postgres with grant option;
