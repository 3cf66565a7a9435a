// Test-only: conformance-echo with verify_jwt = false (scripts/tests/conformance/functions/config.toml),
// to see what reaches a function the gateway does not JWT-check.
import "../_shared/echo.ts";
