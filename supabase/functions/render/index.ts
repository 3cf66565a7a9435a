import { serveStep } from "../_shared/step_runtime.ts";
import { renderStep } from "../_shared/steps/render.ts";

serveStep("render", renderStep);
