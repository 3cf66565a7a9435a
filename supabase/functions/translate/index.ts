import { serveStep } from "../_shared/step_runtime.ts";
import { translateStep } from "../_shared/steps/translate.ts";

serveStep("translate", translateStep);
