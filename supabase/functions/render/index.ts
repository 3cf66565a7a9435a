import { serveStep } from "../_shared/engine/step_runtime.ts";
import { renderStep } from "../_shared/subtitles/render.ts";

serveStep("render", renderStep);
