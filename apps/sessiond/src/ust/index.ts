export { UstManager } from './manager';
export type { AppPush, UstLog, UstManagerOptions } from './manager';
export { computeRoutes, loglevelMatches, ruleMatches, sessionConcernsApp, sessionTracksApp } from './routes';
export type { EventRoute, RouteApp } from './routes';
export { EventIdTable, eventSignature } from './event-ids';
export { defaultShmRoot, shmTag, ShmDirs } from './shm';
export { STATUS_PAGE_SIZE, StatusPage } from './status-page';
export { streamFileOwner } from './buffers';
export type { DaemonIdentity } from './buffers';
