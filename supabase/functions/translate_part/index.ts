import { serveStep } from "../_shared/engine/step_runtime.ts";
import { translatePartStep } from "./step.ts";

serveStep("translate_part", translatePartStep);
