import { serveStep } from "../_shared/step_runtime.ts";
import { translatePartStep } from "../_shared/steps/translate_part.ts";

serveStep("translate_part", translatePartStep);
