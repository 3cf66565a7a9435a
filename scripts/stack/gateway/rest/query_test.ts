import assert from "node:assert/strict";
import { HttpError } from "../http.ts";
import {
  parseField,
  parseFilter,
  parseLogicTree,
  parseOrder,
  parseReadRequest,
  parseSelect,
} from "./query.ts";

Deno.test("select: columns, aliases, casts, JSON paths and *", () => {
  assert.deepEqual(parseSelect("id,label:name,created_at::text,data->a->>b,*"), [
    { kind: "column", field: { name: "id", json: [] }, alias: undefined, cast: undefined },
    { kind: "column", field: { name: "name", json: [] }, alias: "label", cast: undefined },
    { kind: "column", field: { name: "created_at", json: [] }, alias: undefined, cast: "text" },
    {
      kind: "column",
      field: { name: "data", json: [{ arrow: "->", key: "a" }, { arrow: "->>", key: "b" }] },
      alias: undefined,
      cast: undefined,
    },
    { kind: "star" },
  ]);
});

Deno.test("select: embedded resources are refused with a PGRST200", () => {
  assert.throws(
    () => parseSelect("id,owner:users(name)"),
    (e) => e instanceof HttpError && e.body.code === "PGRST200",
  );
});

Deno.test("filters: in-lists keep quoted commas, like keeps its pattern, not. negates", () => {
  const f = parseField("title");
  assert.deepEqual(parseFilter(f, 'in.(a,"b,c",d)'), {
    kind: "in",
    field: f,
    negate: false,
    values: ["a", "b,c", "d"],
  });
  assert.deepEqual(parseFilter(f, "not.like.*x*"), {
    kind: "op",
    field: f,
    negate: true,
    op: "like",
    value: "*x*",
  });
  assert.deepEqual(parseFilter(f, "is.NULL"), {
    kind: "is",
    field: f,
    negate: false,
    value: "null",
  });
  assert.deepEqual(parseFilter(f, "wfts(english).cat dog"), {
    kind: "fts",
    field: f,
    negate: false,
    fn: "websearch_to_tsquery",
    config: "english",
    value: "cat dog",
  });
  assert.throws(() => parseFilter(f, "between.1"), (e) => e instanceof HttpError);
  assert.throws(() => parseFilter(f, "is.maybe"), (e) => e instanceof HttpError);
});

Deno.test("logic trees nest and unquote their values", () => {
  const tree = parseLogicTree(
    "or",
    false,
    '(a.eq."x,y",and(b.gt.1,c.in.(1,2)),not.and(d.is.null))',
  );
  assert.equal(tree.children.length, 3);
  assert.deepEqual(tree.children[0], {
    kind: "op",
    field: { name: "a", json: [] },
    negate: false,
    op: "eq",
    value: "x,y",
  });
  const and = tree.children[1];
  assert.ok(and.kind === "and" && and.children.length === 2);
  assert.ok(tree.children[2].kind === "and" && tree.children[2].negate);
});

Deno.test("order terms and the read request", () => {
  assert.deepEqual(parseOrder("created_at.desc.nullslast,id"), [
    { field: { name: "created_at", json: [] }, direction: "desc", nulls: "last" },
    { field: { name: "id", json: [] } },
  ]);
  const req = parseReadRequest(
    new URLSearchParams("select=id&id=gt.5&limit=10&offset=20&or=(a.eq.1)"),
  );
  assert.equal(req.limit, 10);
  assert.equal(req.offset, 20);
  assert.equal(req.where.length, 2);
  assert.throws(
    () => parseReadRequest(new URLSearchParams("limit=-1")),
    (e) => e instanceof HttpError && e.body.code === "PGRST100",
  );
});
