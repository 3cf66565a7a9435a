-- index_user_foreign_keys
-- Written by `deno task db:diff index_user_foreign_keys` (@supabase/pg-delta 1.0.0-alpha.34): what takes a database from
-- the migrations before it to supabase/schemas. Review it; data changes are written by hand.

CREATE INDEX job_revisions_created_by_idx ON public.job_revisions USING btree (created_by) WHERE (created_by IS NOT NULL);

CREATE INDEX jobs_owner_idx ON public.jobs USING btree (owner_id);

CREATE INDEX webhook_deliveries_owner_idx ON public.webhook_deliveries USING btree (owner_id);
