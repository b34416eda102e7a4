/**
 * Which events of an app are enabled, into which channels: a pure function of the sessions and
 * the app, so that it can be tested exhaustively (LTTng's event-rule semantics).
 */
import { tstrace } from '@tstrace/comm';
import { globMatch } from '../registry';
import { ChannelState, Domain, EventRuleState, EventType, LoglevelType, SessionState } from '../model';

/** What the route computation needs to know of an app. */
export interface RouteApp {
  pid: number;
  uid: number;
  events: readonly tstrace.app.EventDecl.$Properties[];
}

/** Event `event` (index in the app's registration order) goes into `channel` of `session`. */
export interface EventRoute {
  event: number;
  session: SessionState;
  channel: ChannelState;
  /** The channel's index among the session's userspace channels: its CTF stream class id. */
  channelIndex: number;
  /** JSON ASTs, OR-ed; empty: no filter (always recorded). */
  filters: string[];
}

/** A session concerns an app when root owns the session, or the app runs as the session's owner. */
export function sessionConcernsApp(session: SessionState, app: { uid: number }): boolean {
  return session.ownerUid === 0 || session.ownerUid === app.uid;
}

/** The userspace PID tracker lets the app through: "all", or the app's pid is listed. */
export function sessionTracksApp(session: SessionState, app: { pid: number }): boolean {
  const t = session.trackers.userspace;
  return t.all || t.pids.includes(app.pid);
}

/**
 * LTTng's log level conditions; levels are 0 (EMERG, most severe) .. 14 (DEBUG).
 * ALL: any level; RANGE (`--loglevel X`): X or more severe (level <= X); SINGLE (`--loglevel-only X`): exactly X.
 */
export function loglevelMatches(rule: Pick<EventRuleState, 'loglevelType' | 'loglevel'>, level: number): boolean {
  switch (rule.loglevelType) {
    case LoglevelType.LOGLEVEL_RANGE:
      return level <= rule.loglevel;
    case LoglevelType.LOGLEVEL_SINGLE:
      return level === rule.loglevel;
    default:
      return true;
  }
}

/** Does an enabled rule select the event `fullName` (provider:name) of this log level? */
export function ruleMatches(rule: EventRuleState, fullName: string, level: number): boolean {
  return (
    rule.enabled &&
    rule.type === EventType.TRACEPOINT &&
    globMatch(rule.name, fullName) &&
    !rule.exclusions.some((x) => globMatch(x, fullName)) &&
    loglevelMatches(rule, level)
  );
}

/**
 * Every route of an app's events: for each event, each active session that concerns and tracks
 * the app, each enabled userspace channel, the enabled rules that match. One route per
 * (event, channel); its filters are the OR of the matching rules' filters, and a matching rule
 * without a filter makes the route unfiltered. Ordered by event, then session, then channel.
 */
export function computeRoutes(app: RouteApp, sessions: readonly SessionState[]): EventRoute[] {
  const targets: { session: SessionState; channel: ChannelState; channelIndex: number }[] = [];
  for (const session of sessions) {
    if (!session.active || !sessionConcernsApp(session, app) || !sessionTracksApp(session, app)) continue;
    session.channels
      .filter((c) => c.domain === Domain.USERSPACE)
      .forEach((channel, channelIndex) => {
        if (channel.enabled) targets.push({ session, channel, channelIndex });
      });
  }
  const routes: EventRoute[] = [];
  if (targets.length === 0) return routes;
  app.events.forEach((e, event) => {
    const fullName = `${e.provider ?? ''}:${e.name ?? ''}`;
    const level = e.loglevel ?? 0;
    for (const t of targets) {
      const matching = t.channel.events.filter((rule) => ruleMatches(rule, fullName, level));
      if (matching.length === 0) continue;
      const unfiltered = matching.some((rule) => !rule.filterAst);
      const filters = unfiltered ? [] : [...new Set(matching.map((rule) => rule.filterAst))];
      routes.push({ event, ...t, filters });
    }
  });
  return routes;
}
