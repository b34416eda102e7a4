/** LTTng's 15 log levels, most severe first; the index is the numeric level. */
export const LOGLEVELS = [
  'TRACE_EMERG',
  'TRACE_ALERT',
  'TRACE_CRIT',
  'TRACE_ERR',
  'TRACE_WARNING',
  'TRACE_NOTICE',
  'TRACE_INFO',
  'TRACE_DEBUG_SYSTEM',
  'TRACE_DEBUG_PROGRAM',
  'TRACE_DEBUG_PROCESS',
  'TRACE_DEBUG_MODULE',
  'TRACE_DEBUG_UNIT',
  'TRACE_DEBUG_FUNCTION',
  'TRACE_DEBUG_LINE',
  'TRACE_DEBUG',
] as const;

export type LoglevelName = (typeof LOGLEVELS)[number];

/** Numeric level of a name, with or without the TRACE_ prefix, any case; undefined if unknown. */
export function parseLoglevel(text: string): number | undefined {
  const upper = text.toUpperCase();
  const name = upper.startsWith('TRACE_') ? upper : `TRACE_${upper}`;
  const index = (LOGLEVELS as readonly string[]).indexOf(name);
  if (index >= 0) return index;
  return /^\d+$/.test(text) && Number(text) < LOGLEVELS.length ? Number(text) : undefined;
}

export function loglevelName(level: number): string {
  return LOGLEVELS[level] ?? `LEVEL_${level}`;
}
