export { SessiondClient } from './client';
export type { SessionInfo, SessiondClientOptions } from './client';
export {
  clientRunDir,
  globalRunDir,
  runDirPaths,
  tracingGroupId,
  tstraceHome,
  userRunDir,
  TRACING_GROUP,
} from './paths';
export type { RunDirPaths } from './paths';
export { LOGLEVELS, loglevelName, parseLoglevel } from './loglevels';
export { appToJson, sessionToJson, toNumber } from './json';
