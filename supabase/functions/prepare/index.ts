import { serveStep } from "../_shared/step_runtime.ts";
import { prepareStep } from "../_shared/steps/prepare.ts";

serveStep("prepare", prepareStep);
