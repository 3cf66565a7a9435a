/** Assertion for provider tests: the call fails with this `ProviderError` code and kind. */
import assert from "node:assert/strict";
import {
  ProviderError,
  type ProviderErrorCode,
  type ProviderErrorKind,
} from "../../../supabase/functions/_shared/providers/errors.ts";

export async function expectProviderError(
  call: Promise<unknown>,
  code: ProviderErrorCode,
  kind: ProviderErrorKind,
): Promise<ProviderError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) {
    assert.fail(`expected ProviderError ${code}, got ${JSON.stringify(outcome.value)}`);
  }
  const error = outcome.error;
  if (!(error instanceof ProviderError)) {
    assert.fail(`expected ProviderError ${code}, got ${String(error)}`);
  }
  assert.equal(error.code, code, `code (message: ${error.message})`);
  assert.equal(error.kind, kind);
  return error;
}
