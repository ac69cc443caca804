export { assertProjectHub, normalizeProjectHubUrl } from "./assert-project-hub.js";
export {
  type ConnectionVariable,
  fillConnectionVariables,
  PROJECT_REACH_HOST,
  shiftPort,
} from "./fill-connection-variables.js";
export { findProjectFile, PROJECT_FILE_NAME, type ProjectFile, type ProjectService } from "./project-file.js";
export { MAX_PROJECT_FILE_BYTES, parseProjectText, readProjectFile } from "./read-project-file.js";
