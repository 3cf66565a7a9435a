/**
 * Conformance: /rest/v1 through the real supabase-js — reads, filters, ranges and counts,
 * singular responses, insert/upsert/update/delete, RPC, schema profiles, PostgREST's error
 * shapes and status codes, and RLS / column grants / EXECUTE grants deciding as on Supabase.
 *
 * Every object this creates carries a per-run suffix and is dropped at the end, so runs can
 * overlap. Against a hosted project the schema cache reloads through `NOTIFY pgrst`; the setup
 * waits until the API sees the new table.
 */
import assert from "node:assert/strict";
import type { SupabaseClient } from "@supabase/supabase-js";
import {
  adminSql,
  anonClient,
  apiKeys,
  serviceClient,
  signedInClient,
  signedInUser,
  stackEnv,
  untyped,
} from "../support/stack_env.ts";

const suffix = crypto.randomUUID().slice(0, 8);
const kv = `conformance_rest_kv_${suffix}`;
const items = `conformance_rest_items_${suffix}`;
const board = `conformance_rest_board_${suffix}`;
const fn = (name: string) => `conformance_rest_${name}_${suffix}`;

function setupSql(): string {
  return `
    create table public.${kv} (
      key text primary key,
      value int,
      note text,
      tags text[],
      meta jsonb,
      doc tsvector generated always as (to_tsvector('english', coalesce(note, ''))) stored,
      created_at timestamptz not null default now()
    );
    insert into public.${kv} (key, value, note, tags, meta) values
      ('a', 1, 'the quick brown fox', '{red,green}', '{"size": {"w": 1}}'),
      ('b', 2, 'lazy dogs sleep', '{green}', '{"size": {"w": 2}}'),
      ('c', 3, null, '{blue}', null),
      ('d,e', 4, 'comma key', '{}', '{"size": {"w": 4}}'),
      ('f', null, 'no value', null, null);

    create table public.${items} (
      id bigint generated always as identity primary key,
      owner_id uuid not null default auth.uid(),
      title text not null check (length(title) > 0),
      secret text,
      rank int not null default 7
    );
    alter table public.${items} enable row level security;
    revoke all on public.${items} from anon, authenticated;
    grant select, delete on public.${items} to authenticated;
    grant insert (title, rank) on public.${items} to authenticated;
    grant update (title, rank) on public.${items} to authenticated;
    create policy own_select on public.${items} for select to authenticated
      using (owner_id = auth.uid());
    create policy own_insert on public.${items} for insert to authenticated
      with check (owner_id = auth.uid());
    create policy own_update on public.${items} for update to authenticated
      using (owner_id = auth.uid());
    create policy own_delete on public.${items} for delete to authenticated
      using (owner_id = auth.uid());

    create table public.${board} (id int primary key, body text);
    alter table public.${board} enable row level security;
    create policy signed_in on public.${board} for select to authenticated using (true);
    insert into public.${board} values (1, 'hello');

    create function public.${fn("add")}(a int, b int default 10) returns int
      language sql immutable as 'select a + b';
    create function public.${fn("echo")}(a int) returns text
      language sql immutable as $$ select 'int ' || a $$;
    create function public.${fn("echo")}(a text, b text) returns text
      language sql immutable as $$ select 'text ' || a || b $$;
    create function public.${fn("above")}(min int) returns setof public.${kv}
      language sql stable as $$ select * from public.${kv} where value > min $$;
    create function public.${fn("squares")}(n int) returns table (i int, sq int)
      language sql immutable as $$ select g, g * g from generate_series(1, n) g $$;
    create function public.${fn("bump")}(k text) returns void
      language sql volatile as $$ update public.${kv} set value = value + 1 where key = k $$;
    create function public.${fn("conflict")}() returns void language plpgsql as $$
      begin raise sqlstate 'PT409' using message = 'job already cancelled'; end $$;
    create function public.${fn("fail")}() returns void language plpgsql as $$
      begin
        raise exception 'quota exceeded' using detail = 'three jobs are active', hint = 'wait';
      end $$;
    create function public.${fn("whoami")}() returns json language sql stable as $$
      select json_build_object(
        'uid', auth.uid(), 'role', current_user,
        'method', current_setting('request.method', true),
        'path', current_setting('request.path', true),
        'header', current_setting('request.headers', true)::json ->> 'x-conformance')
    $$;
    create function public.${fn("whole")}(json) returns json
      language sql immutable as $$ select json_build_object('got', $1) $$;
    create function public.${fn("private")}() returns int language sql as 'select 42';
    revoke execute on function public.${fn("private")}() from public, anon, authenticated;
    notify pgrst, 'reload schema';
  `;
}

async function teardown(sql: ReturnType<typeof adminSql>) {
  await sql.unsafe(`
    drop table if exists public.${kv}, public.${items}, public.${board} cascade;
    drop function if exists public.${fn("add")}, public.${fn("echo")}(int),
      public.${fn("echo")}(text, text), public.${fn("squares")}, public.${fn("bump")},
      public.${fn("conflict")}, public.${fn("fail")}, public.${fn("whoami")},
      public.${fn("whole")}, public.${fn("private")};
    notify pgrst, 'reload schema';
  `);
}

async function waitForSchema(client: SupabaseClient) {
  for (let i = 0; i < 50; i++) {
    const { error } = await client.from(kv).select("key").limit(1);
    if (!error) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the API never saw the test tables");
}

Deno.test({
  name: "rest /rest/v1 conformance through supabase-js",
  sanitizeOps: false,
  sanitizeResources: false,
}, async (t) => {
  const sql = adminSql();
  // Scratch tables of this suite, not the product's: no generated types for them.
  const service = untyped(serviceClient());
  const anon = untyped(anonClient());
  try {
    await sql.unsafe(setupSql());
    await waitForSchema(service);
    const alice = await signedInClient().then((u) => ({ ...u, client: untyped(u.client) }));
    const bob = await signedInClient().then((u) => ({ ...u, client: untyped(u.client) }));

    await t.step("select: column list, alias, cast, JSON path, order", async () => {
      const { data, error, status } = await service.from(kv)
        .select("key,v:value,created:created_at::text,w:meta->size->>w")
        .order("value", { ascending: false, nullsFirst: false });
      assert.equal(error, null);
      assert.equal(status, 200);
      assert.deepEqual(data!.map((r) => r.key), ["d,e", "c", "b", "a", "f"]);
      assert.deepEqual(Object.keys(data![0]).sort(), ["created", "key", "v", "w"]);
      assert.equal(data![0].w, "4");
      assert.equal(typeof data![0].created, "string");
    });

    await t.step("select casts: a type name only, never more SQL (issue 26)", async () => {
      // PostgREST reads a cast as identifier characters (letters, digits, "_", " ", "$") and
      // writes it as `CAST( field AS type )` (PostgREST/postgrest src/library/PostgREST/
      // ApiRequest/QueryParams.hs pIdentifier; Query/SqlFragment.hs pgFmtApplyCast), so what
      // follows "::" can only ever name a type: anything else is an error, 400. supabase-js
      // strips spaces from select(), so this speaks HTTP as any other client may.
      const { token } = await signedInUser();
      const select = async (columns: string) => {
        const url = new URL(`${stackEnv().SUPABASE_URL}/rest/v1/${kv}`);
        url.searchParams.set("select", columns);
        url.searchParams.set("key", "eq.b");
        const response = await fetch(url, {
          headers: { apikey: apiKeys().publishable, authorization: `Bearer ${token}` },
        });
        return { status: response.status, body: await response.json() };
      };
      const typed = await select(
        "key,v:value::double precision,t:created_at::timestamp with time zone,n:value::int8",
      );
      assert.equal(typed.status, 200, JSON.stringify(typed.body));
      assert.deepEqual(Object.keys(typed.body[0]).sort(), ["key", "n", "t", "v"]);
      assert.equal(typed.body[0].v, 2);
      for (
        const attack of [
          `key::text as x from ${kv} where false union all select rolname from pg_roles ` +
          `union all select key`,
          `key::text as x from pg_settings union all select key`,
          `key::text);select (1`,
          `key::text--`,
          `key::text[]`,
        ]
      ) {
        const { status, body } = await select(attack);
        assert.equal(status, 400, `${attack}: ${status} ${JSON.stringify(body).slice(0, 200)}`);
        assert.ok(!Array.isArray(body), attack);
      }
    });

    await t.step("filters: comparison, in with quoted commas, is, like/ilike, not", async () => {
      const keys = async (q: PromiseLike<{ data: { key: string }[] | null; error: unknown }>) => {
        const { data, error } = await q;
        assert.equal(error, null);
        return data!.map((r) => r.key).sort();
      };
      const base = () => service.from(kv).select("key");
      assert.deepEqual(await keys(base().eq("value", 2)), ["b"]);
      assert.deepEqual(await keys(base().neq("value", 2)), ["a", "c", "d,e"]);
      assert.deepEqual(await keys(base().gt("value", 2)), ["c", "d,e"]);
      assert.deepEqual(await keys(base().gte("value", 2).lt("value", 4)), ["b", "c"]);
      assert.deepEqual(await keys(base().lte("value", 1)), ["a"]);
      assert.deepEqual(await keys(base().in("key", ["a", "d,e", "zz"])), ["a", "d,e"]);
      assert.deepEqual(await keys(base().is("value", null)), ["f"]);
      assert.deepEqual(await keys(base().not("value", "is", null).is("note", null)), ["c"]);
      assert.deepEqual(await keys(base().like("note", "%quick%")), ["a"]);
      assert.deepEqual(await keys(base().ilike("note", "*LAZY*")), ["b"]);
      assert.deepEqual(await keys(base().not("key", "in", "(a,b)")), ["c", "d,e", "f"]);
    });

    await t.step("filters: or/and trees, arrays, jsonb containment, full-text search", async () => {
      const { data, error } = await service.from(kv).select("key")
        .or(`value.eq.1,and(value.gt.2,key.eq."d,e")`).order("key");
      assert.equal(error, null);
      assert.deepEqual(data!.map((r) => r.key), ["a", "d,e"]);
      const arrays = await service.from(kv).select("key").contains("tags", ["green"]).order("key");
      assert.deepEqual(arrays.data!.map((r) => r.key), ["a", "b"]);
      const within = await service.from(kv).select("key").containedBy("tags", ["green", "blue"])
        .order("key");
      assert.deepEqual(within.data!.map((r) => r.key), ["b", "c", "d,e"]);
      const overlap = await service.from(kv).select("key").overlaps("tags", ["red", "blue"])
        .order("key");
      assert.deepEqual(overlap.data!.map((r) => r.key), ["a", "c"]);
      const json = await service.from(kv).select("key").contains("meta", { size: { w: 2 } });
      assert.deepEqual(json.data!.map((r) => r.key), ["b"]);
      const fts = await service.from(kv).select("key").textSearch("doc", "quick & fox", {
        config: "english",
      });
      assert.equal(fts.error, null);
      assert.deepEqual(fts.data!.map((r) => r.key), ["a"]);
      const web = await service.from(kv).select("key").textSearch("doc", "lazy dog", {
        type: "websearch",
        config: "english",
      });
      assert.deepEqual(web.data!.map((r) => r.key), ["b"]);
    });

    await t.step("count=exact, range pagination, 206 and Content-Range, head", async () => {
      const page = await service.from(kv).select("key", { count: "exact" }).order("key")
        .range(1, 2);
      assert.equal(page.error, null);
      assert.equal(page.count, 5);
      assert.equal(page.status, 206);
      assert.deepEqual(page.data!.map((r) => r.key), ["b", "c"]);
      const all = await service.from(kv).select("key", { count: "exact" });
      assert.equal(all.status, 200);
      assert.equal(all.count, 5);
      const none = await service.from(kv).select("key", { count: "exact" }).eq("key", "zz");
      assert.equal(none.status, 200);
      assert.equal(none.count, 0);
      assert.deepEqual(none.data, []);
      const head = await service.from(kv).select("*", { count: "exact", head: true }).gt(
        "value",
        1,
      );
      assert.equal(head.count, 3);
      assert.equal(head.data, null);
      const limited = await service.from(kv).select("key").order("key").limit(2);
      assert.deepEqual(limited.data!.map((r) => r.key), ["a", "b"]);
    });

    await t.step("single() and maybeSingle(): one object, or 406 PGRST116", async () => {
      const one = await service.from(kv).select("key,value").eq("key", "b").single();
      assert.equal(one.error, null);
      assert.deepEqual(one.data, { key: "b", value: 2 });
      const none = await service.from(kv).select("key").eq("key", "zz").single();
      assert.equal(none.status, 406);
      assert.equal(none.error?.code, "PGRST116");
      assert.equal(none.error?.details, "The result contains 0 rows");
      const many = await service.from(kv).select("key").single();
      assert.equal(many.error?.code, "PGRST116");
      assert.equal(many.error?.details, "The result contains 5 rows");
      const maybe = await service.from(kv).select("key").eq("key", "zz").maybeSingle();
      assert.equal(maybe.error, null);
      assert.equal(maybe.data, null);
    });

    await t.step("insert: single, bulk with differing keys, representation, defaults", async () => {
      const single = await service.from(kv).insert({ key: "g", value: 7 }).select().single();
      assert.equal(single.status, 201);
      assert.equal(single.data?.key, "g");
      assert.equal(typeof single.data?.created_at, "string");
      const minimal = await service.from(kv).insert({ key: "h" });
      assert.equal(minimal.status, 201);
      assert.equal(minimal.data, null);
      const bulk = await service.from(kv).insert([{ key: "i", value: 9 }, { key: "j", note: "x" }])
        .select("key,value,note");
      assert.equal(bulk.error, null);
      assert.deepEqual(bulk.data, [
        { key: "i", value: 9, note: null },
        { key: "j", value: null, note: "x" },
      ]);
      // missing=default: a key absent from one object takes the column default, not null.
      const defaults = await service.from(kv)
        .insert([{ key: "k", created_at: "2001-01-01T00:00:00Z" }, { key: "l" }], {
          defaultToNull: false,
        }).select("key,created_at");
      assert.equal(defaults.error, null);
      assert.ok(defaults.data![1].created_at.startsWith(String(new Date().getUTCFullYear())));
      const dup = await service.from(kv).insert({ key: "a" });
      assert.equal(dup.status, 409);
      assert.equal(dup.error?.code, "23505");
      const unknown = await service.from(kv).insert({ key: "m", nope: 1 });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.error?.code, "PGRST204");
    });

    await t.step("upsert: merge on_conflict, ignore duplicates", async () => {
      const merged = await service.from(kv)
        .upsert([{ key: "a", value: 100 }, { key: "n", value: 5 }], { onConflict: "key" })
        .select("key,value,note").order("key");
      assert.equal(merged.error, null);
      assert.deepEqual(merged.data, [
        { key: "a", value: 100, note: "the quick brown fox" },
        { key: "n", value: 5, note: null },
      ]);
      const ignored = await service.from(kv)
        .upsert({ key: "a", value: 1 }, { onConflict: "key", ignoreDuplicates: true }).select();
      assert.deepEqual(ignored.data, []);
      const after = await service.from(kv).select("value").eq("key", "a").single();
      assert.equal(after.data?.value, 100);
    });

    await t.step("update and delete with filters and representation", async () => {
      const updated = await service.from(kv).update({ note: "changed" }).in("key", ["i", "j"])
        .select("key,note").order("key");
      assert.equal(updated.status, 200);
      assert.deepEqual(updated.data, [{ key: "i", note: "changed" }, {
        key: "j",
        note: "changed",
      }]);
      const quiet = await service.from(kv).update({ note: "again" }).eq("key", "i");
      assert.equal(quiet.status, 204);
      const deleted = await service.from(kv).delete().in("key", ["g", "h"]).select("key")
        .order("key");
      assert.deepEqual(deleted.data, [{ key: "g" }, { key: "h" }]);
      const gone = await service.from(kv).select("key").in("key", ["g", "h"]);
      assert.deepEqual(gone.data, []);
      const bad = await service.from(kv).update({ value: "not a number" }).eq("key", "i");
      assert.equal(bad.status, 400);
      assert.equal(bad.error?.code, "22P02");
    });

    await t.step("RLS: anon is refused, users see and change only their rows", async () => {
      const denied = await anon.from(items).select("*");
      assert.equal(denied.status, 401);
      assert.equal(denied.error?.code, "42501");
      const anonBoard = await anon.from(board).select("*");
      assert.equal(anonBoard.error, null);
      assert.deepEqual(anonBoard.data, []);
      const aliceBoard = await alice.client.from(board).select("body");
      assert.deepEqual(aliceBoard.data, [{ body: "hello" }]);

      const mine = await alice.client.from(items).insert({ title: "alice's" }).select().single();
      assert.equal(mine.error, null);
      assert.equal(mine.data?.owner_id, alice.userId);
      assert.equal(mine.data?.rank, 7);
      const id = mine.data!.id;

      const bobSees = await bob.client.from(items).select("*").eq("id", id);
      assert.deepEqual(bobSees.data, []);
      const bobUpdates = await bob.client.from(items).update({ title: "bob's now" }).eq("id", id)
        .select();
      assert.equal(bobUpdates.error, null);
      assert.deepEqual(bobUpdates.data, []);
      const bobDeletes = await bob.client.from(items).delete().eq("id", id).select();
      assert.deepEqual(bobDeletes.data, []);
      const [row] = await sql.unsafe(`select title from public.${items} where id = $1`, [id]);
      assert.equal(row.title, "alice's");

      const aliceUpdates = await alice.client.from(items).update({ rank: 1 }).eq("id", id)
        .select("rank").single();
      assert.equal(aliceUpdates.data?.rank, 1);
    });

    await t.step("column grants and policies: non-granted columns and foreign owners", async () => {
      const secret = await alice.client.from(items).insert({ title: "x", secret: "s" });
      assert.equal(secret.status, 403);
      assert.equal(secret.error?.code, "42501");
      const forged = await bob.client.from(items).insert({ title: "x", owner_id: alice.userId });
      assert.equal(forged.status, 403);
      assert.equal(forged.error?.code, "42501");
      const anonInsert = await anon.from(items).insert({ title: "x" });
      assert.equal(anonInsert.status, 401);
      const invalid = await alice.client.from(items).insert({ title: "" });
      assert.equal(invalid.status, 400);
      assert.equal(invalid.error?.code, "23514");
      const notNull = await alice.client.from(items).insert({ title: null });
      assert.equal(notNull.status, 400);
      assert.equal(notNull.error?.code, "23502");
    });

    await t.step("rpc: named arguments, defaults, overloads, GET for immutable", async () => {
      const sum = await anon.rpc(fn("add"), { a: 1, b: 2 });
      assert.equal(sum.error, null);
      assert.equal(sum.data, 3);
      const withDefault = await anon.rpc(fn("add"), { a: 1 });
      assert.equal(withDefault.data, 11);
      const viaGet = await anon.rpc(fn("add"), { a: 5, b: 5 }, { get: true });
      assert.equal(viaGet.data, 10);
      const intEcho = await anon.rpc(fn("echo"), { a: 4 });
      assert.equal(intEcho.data, "int 4");
      const textEcho = await anon.rpc(fn("echo"), { a: "x", b: "y" });
      assert.equal(textEcho.data, "text xy");
      const whole = await anon.rpc(fn("whole"), { any: [1, 2] });
      assert.deepEqual(whole.data, { got: { any: [1, 2] } });
      const missing = await anon.rpc(fn("add"), { zzz: 1 });
      assert.equal(missing.status, 404);
      assert.equal(missing.error?.code, "PGRST202");
    });

    await t.step("rpc: setof and table results take filters, order, limit and count", async () => {
      const rows = await service.rpc(fn("above"), { min: 1 }, { count: "exact" }).select("key")
        .neq("key", "n").order("value", { ascending: false }).limit(2);
      assert.equal(rows.error, null);
      assert.deepEqual(rows.data, [{ key: "a" }, { key: "i" }]);
      assert.equal(rows.count, 5);
      const one = await service.rpc(fn("above"), { min: 99 }).select("key,value").single();
      assert.deepEqual(one.data, { key: "a", value: 100 });
      const table = await anon.rpc(fn("squares"), { n: 3 }).gte("sq", 4);
      assert.deepEqual(table.data, [{ i: 2, sq: 4 }, { i: 3, sq: 9 }]);
    });

    await t.step("rpc: void, volatile over GET, request settings, EXECUTE grants", async () => {
      const bumped = await service.rpc(fn("bump"), { k: "b" });
      assert.equal(bumped.error, null);
      assert.equal(bumped.data, null);
      const [b] = await sql.unsafe(`select value from public.${kv} where key = 'b'`);
      assert.equal(b.value, 3);
      const overGet = await service.rpc(fn("bump"), { k: "b" }, { get: true });
      assert.equal(overGet.status, 405);
      assert.equal(overGet.error?.code, "25006");

      const who = await alice.client.rpc(fn("whoami")).setHeader("x-conformance", "yes");
      assert.deepEqual(who.data, {
        uid: alice.userId,
        role: "authenticated",
        method: "POST",
        path: `/rpc/${fn("whoami")}`,
        header: "yes",
      });
      const anonPrivate = await anon.rpc(fn("private"));
      assert.equal(anonPrivate.status, 401);
      assert.equal(anonPrivate.error?.code, "42501");
      const userPrivate = await alice.client.rpc(fn("private"));
      assert.equal(userPrivate.status, 403);
      // Supabase's default privileges grant EXECUTE to service_role explicitly: it keeps it.
      const servicePrivate = await service.rpc(fn("private"));
      assert.equal(servicePrivate.data, 42);
    });

    await t.step("rpc errors: PT409 → 409, P0001 → 400 with details and hint", async () => {
      const conflict = await anon.rpc(fn("conflict"));
      assert.equal(conflict.status, 409);
      assert.equal(conflict.error?.code, "PT409");
      assert.equal(conflict.error?.message, "job already cancelled");
      const failed = await anon.rpc(fn("fail"));
      assert.equal(failed.status, 400);
      assert.deepEqual(failed.error, {
        code: "P0001",
        message: "quota exceeded",
        details: "three jobs are active",
        hint: "wait",
      });
    });

    await t.step("schemas and unknown names: PGRST106, PGRST205, 42703", async () => {
      const hidden = await service.schema("auth").from("users").select("id");
      assert.equal(hidden.status, 406);
      assert.equal(hidden.error?.code, "PGRST106");
      const noTable = await service.from(`${kv}_nope`).select("*");
      assert.equal(noTable.status, 404);
      assert.equal(noTable.error?.code, "PGRST205");
      const noColumn = await service.from(kv).select("key").eq("nope", 1);
      assert.equal(noColumn.status, 400);
      assert.equal(noColumn.error?.code, "42703");
      const badJwt = await anon.from(kv).select("key").setHeader(
        "Authorization",
        "Bearer not.a.jwt",
      );
      assert.equal(badJwt.status, 401);
    });
  } finally {
    await teardown(sql).catch(() => {});
    await sql.end();
  }
});
