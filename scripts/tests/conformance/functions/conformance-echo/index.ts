// Test-only function (served by the test stack, never deployed): reports what the runtime
// gives a function (../_shared/echo.ts), behind the gateway's verify_jwt.
import "../_shared/echo.ts";
