/**
 * TSDL (CTF 1.8, plain text) describing exactly what tstrace's ring buffer and tracer write:
 * little-endian, packed (every type `align = 8`, as LTTng-UST declares on x86), the 84-byte
 * packet preamble of packet.ts, LTTng-UST's event_header_large, the channel's contexts as the
 * stream event context, and each event's fields in libs/ust's type grammar.
 *
 * Metadata grows while a session runs: `metadataText` writes the whole file, and the blocks of
 * `metadataEventsText` (events registered later) may be appended to it as they come.
 */

export interface MetadataEvent {
  id: number;
  name: string;
  loglevel: number;
  /** Field types in libs/ust's grammar: u8..s64, float, double, string, char[N], T[N], seq:T, bytes, enum:T:{json}. */
  fields: { name: string; type: string }[];
}

export interface MetadataStream {
  id: number;
  /** In the order the tracer writes them; a subset of vpid vtid vuid vgid procname. */
  contexts: string[];
  events: MetadataEvent[];
}

export interface TraceDescription {
  /** 8-4-4-4-12 hexadecimal. */
  uuid: string;
  env: Record<string, string | number>;
  clock: { name: string; description?: string; offsetNs: bigint; uuid?: string };
  streams: MetadataStream[];
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** TSDL's reserved words: a field called `Bool` must not become the keyword `_Bool`. */
const KEYWORDS = new Set([
  'align',
  'callsite',
  'const',
  'char',
  'clock',
  'double',
  'enum',
  'env',
  'event',
  'floating_point',
  'float',
  'integer',
  'int',
  'long',
  'short',
  'signed',
  'stream',
  'string',
  'struct',
  'trace',
  'typealias',
  'typedef',
  'unsigned',
  'variant',
  'void',
  '_Bool',
  '_Complex',
  '_Imaginary',
]);

interface IntSpec {
  size: number;
  signed: boolean;
}
const INTS: Record<string, IntSpec> = {
  u8: { size: 8, signed: false },
  u16: { size: 16, signed: false },
  u32: { size: 32, signed: false },
  u64: { size: 64, signed: false },
  s8: { size: 8, signed: true },
  s16: { size: 16, signed: true },
  s32: { size: 32, signed: true },
  s64: { size: 64, signed: true },
};

/** An integer type as LTTng-UST spells it in event fields. */
function integer(type: string, where: string, opts: { encoding?: 'UTF8'; base?: 10 | 16 } = {}): string {
  const t = INTS[type];
  if (!t) throw new TypeError(`${where}: ${JSON.stringify(type)} is not an integer type (u8..u64, s8..s64)`);
  return `integer { size = ${t.size}; align = 8; signed = ${t.signed ? 1 : 0}; encoding = ${opts.encoding ?? 'none'}; base = ${opts.base ?? 10}; }`;
}

/**
 * A TSDL string literal: backslash and quote escaped, control characters as C escapes
 * (babeltrace2 reads these back into the same characters).
 */
export function tsdlString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\' || ch === '"') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    // Octal, always 3 digits: a hexadecimal escape would swallow a following hex digit.
    else if (c < 0x20 || c === 0x7f) out += `\\${c.toString(8).padStart(3, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * A field name as a TSDL identifier, as LTTng does: a leading `_` (which readers strip), and `_`
 * for each character that cannot be in an identifier. The leading `_` also keeps names from
 * being keywords, but for `_Bool`, `_Complex` and `_Imaginary`, which get a second `_`.
 */
export function tsdlIdentifier(name: string): string {
  const id = `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  return KEYWORDS.has(id) ? `_${id}` : id;
}

/** Hands out identifiers unique within one struct (`a-b` and `a_b` would otherwise collide). */
class Names {
  private readonly used = new Set<string>();
  take(id: string): string {
    let unique = id;
    for (let n = 1; this.used.has(unique); n++) unique = `${id}_${n}`;
    this.used.add(unique);
    return unique;
  }
}

function enumBody(labelsJson: string, where: string): string {
  let raw: unknown;
  try {
    raw = JSON.parse(labelsJson);
  } catch {
    throw new TypeError(`${where}: the enumeration labels are not JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new TypeError(`${where}: the enumeration labels must be an object {LABEL: value}`);
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length === 0) throw new TypeError(`${where}: an enumeration needs at least one label`);
  return entries
    .map(([label, value]) => {
      if (typeof value !== 'number' || !Number.isSafeInteger(value))
        throw new TypeError(`${where}: the value of label ${JSON.stringify(label)} must be a safe integer`);
      return `${tsdlString(label)} = ${value}`;
    })
    .join(', ');
}

/** The TSDL declaration(s) of one field; a sequence's length field comes first, as on the wire. */
export function fieldDeclarations(
  name: string,
  type: string,
  names: { take(id: string): string } = new Names(),
): string[] {
  const where = `field ${JSON.stringify(name)}`;
  const id = names.take(tsdlIdentifier(name));
  if (INTS[type]) return [`${integer(type, where)} ${id};`];
  if (type === 'float') return [`floating_point { exp_dig = 8; mant_dig = 24; align = 8; } ${id};`];
  if (type === 'double') return [`floating_point { exp_dig = 11; mant_dig = 53; align = 8; } ${id};`];
  if (type === 'string') return [`string { encoding = UTF8; } ${id};`];
  // A sequence's length is named as LTTng names it: `_` + the field's identifier + `_length`.
  const lengthOf = () => names.take(`_${id}_length`);
  if (type === 'bytes') {
    const len = lengthOf();
    return [`${integer('u32', where)} ${len};`, `${integer('u8', where, { base: 16 })} ${id}[ ${len} ];`];
  }
  let m = /^char\[([1-9][0-9]*)\]$/.exec(type);
  if (m) return [`${integer('u8', where, { encoding: 'UTF8' })} ${id}[${m[1]}];`];
  m = /^([us](?:8|16|32|64))\[([1-9][0-9]*)\]$/.exec(type);
  if (m) return [`${integer(m[1], where)} ${id}[${m[2]}];`];
  m = /^seq:([us](?:8|16|32|64))$/.exec(type);
  if (m) {
    const elem = integer(m[1], where);
    const len = lengthOf();
    return [`${integer('u32', where)} ${len};`, `${elem} ${id}[ ${len} ];`];
  }
  m = /^enum:([us](?:8|16|32|64)):(\{.*\})$/s.exec(type);
  if (m) return [`enum : ${integer(m[1], where)} { ${enumBody(m[2], where)} } ${id};`];
  throw new TypeError(`${where}: unknown field type ${JSON.stringify(type)}`);
}

/** Layouts of the contexts the tracer writes before an event's fields (docs/USERSPACE.md). */
const CONTEXTS: Record<string, string> = {
  vpid: `${integer('s32', 'vpid')} _vpid;`,
  vtid: `${integer('s32', 'vtid')} _vtid;`,
  vuid: `${integer('u32', 'vuid')} _vuid;`,
  vgid: `${integer('u32', 'vgid')} _vgid;`,
  procname: `${integer('u8', 'procname', { encoding: 'UTF8' })} _procname[17];`,
};

function struct(lines: string[], indent: string): string {
  if (lines.length === 0) return 'struct {\n' + `${indent}}`;
  return `struct {\n${lines.map((l) => `${indent}\t${l}`).join('\n')}\n${indent}}`;
}

function checkId(what: string, id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff)
    throw new RangeError(`${what} must be an integer from 0 to 4294967295, not ${id}`);
}

function streamText(s: MetadataStream): string {
  checkId('a stream id', s.id);
  const lines = [
    'stream {',
    `\tid = ${s.id};`,
    '\tevent.header := struct event_header_large;',
    '\tpacket.context := struct packet_context;',
  ];
  if (s.contexts.length > 0) {
    const fields = s.contexts.map((c) => {
      const decl = Object.prototype.hasOwnProperty.call(CONTEXTS, c) ? CONTEXTS[c] : undefined;
      if (!decl)
        throw new TypeError(
          `stream ${s.id}: unknown context ${JSON.stringify(c)} (allowed: ${Object.keys(CONTEXTS).join(', ')})`,
        );
      return decl;
    });
    if (new Set(s.contexts).size !== s.contexts.length)
      throw new TypeError(`stream ${s.id}: a context is listed twice`);
    lines.push(`\tevent.context := ${struct(fields, '\t')};`);
  }
  lines.push('};', '', '');
  return lines.join('\n');
}

function eventText(streamId: number, e: MetadataEvent): string {
  checkId(`the id of event ${JSON.stringify(e.name)}`, e.id);
  if (!Number.isInteger(e.loglevel))
    throw new RangeError(`the log level of event ${JSON.stringify(e.name)} must be an integer, not ${e.loglevel}`);
  const names = new Names();
  const fields = e.fields.flatMap((f) => fieldDeclarations(f.name, f.type, names));
  return [
    'event {',
    `\tname = ${tsdlString(e.name)};`,
    `\tid = ${e.id};`,
    `\tstream_id = ${streamId};`,
    `\tloglevel = ${e.loglevel};`,
    `\tfields := ${struct(fields, '\t')};`,
    '};',
    '',
    '',
  ].join('\n');
}

/** The event declarations of one stream class, to append to a metadata file as events are registered. */
export function metadataEventsText(streamId: number, events: MetadataEvent[]): string {
  checkId('a stream id', streamId);
  return events.map((e) => eventText(streamId, e)).join('');
}

function envValue(key: string, v: string | number): string {
  // TSDL env values are integers or strings: other numbers are written as their text.
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : tsdlString(String(v));
  if (typeof v === 'string') return tsdlString(v);
  throw new TypeError(`env ${JSON.stringify(key)}: a value must be a string or a number`);
}

/** The whole metadata file of a trace. */
export function metadataText(d: TraceDescription): string {
  if (!UUID_RE.test(d.uuid)) throw new TypeError(`trace uuid ${JSON.stringify(d.uuid)} is not 8-4-4-4-12 hexadecimal`);
  if (d.clock.uuid !== undefined && !UUID_RE.test(d.clock.uuid))
    throw new TypeError(`clock uuid ${JSON.stringify(d.clock.uuid)} is not 8-4-4-4-12 hexadecimal`);
  const clock = d.clock.name;
  // The clock's name is part of `map = clock.NAME.value` and of type names.
  if (!IDENT_RE.test(clock) || KEYWORDS.has(clock))
    throw new TypeError(`clock name ${JSON.stringify(clock)} is not an identifier`);
  const envKeys = new Names();
  const env = Object.entries(d.env).map(([k, v]) => {
    let key = k.replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z_]/.test(key) || KEYWORDS.has(key)) key = `_${key}`;
    return `\t${envKeys.take(key)} = ${envValue(k, v)};`;
  });
  // Seconds and nanoseconds, both rounded down so that `offset` is within 0..1e9-1.
  let offsetS = d.clock.offsetNs / 1_000_000_000n;
  let offset = d.clock.offsetNs % 1_000_000_000n;
  if (offset < 0n) {
    offset += 1_000_000_000n;
    offsetS -= 1n;
  }
  const lines = [
    '/* CTF 1.8 */',
    '',
    'typealias integer { size = 8; align = 8; signed = false; } := uint8_t;',
    'typealias integer { size = 16; align = 8; signed = false; } := uint16_t;',
    'typealias integer { size = 32; align = 8; signed = false; } := uint32_t;',
    'typealias integer { size = 64; align = 8; signed = false; } := uint64_t;',
    'typealias integer { size = 64; align = 8; signed = false; } := unsigned long;',
    '',
    'trace {',
    '\tmajor = 1;',
    '\tminor = 8;',
    `\tuuid = "${d.uuid.toLowerCase()}";`,
    '\tbyte_order = le;',
    '\tpacket.header := struct {',
    '\t\tuint32_t magic;',
    '\t\tuint8_t  uuid[16];',
    '\t\tuint32_t stream_id;',
    '\t\tuint64_t stream_instance_id;',
    '\t};',
    '};',
    '',
    'env {',
    ...env,
    '};',
    '',
    'clock {',
    `\tname = "${clock}";`,
    ...(d.clock.uuid !== undefined ? [`\tuuid = "${d.clock.uuid.toLowerCase()}";`] : []),
    ...(d.clock.description !== undefined ? [`\tdescription = ${tsdlString(d.clock.description)};`] : []),
    '\tfreq = 1000000000;',
    '\tprecision = 1;',
    `\toffset_s = ${offsetS};`,
    `\toffset = ${offset};`,
    '\tabsolute = FALSE;',
    '};',
    '',
    `typealias integer { size = 32; align = 8; signed = false; map = clock.${clock}.value; } := uint32_clock_${clock}_t;`,
    `typealias integer { size = 64; align = 8; signed = false; map = clock.${clock}.value; } := uint64_clock_${clock}_t;`,
    '',
    // The packet preamble of packet.ts, field for field.
    'struct packet_context {',
    `\tuint64_clock_${clock}_t timestamp_begin;`,
    `\tuint64_clock_${clock}_t timestamp_end;`,
    '\tuint64_t content_size;',
    '\tuint64_t packet_size;',
    '\tuint64_t packet_seq_num;',
    '\tunsigned long events_discarded;',
    '\tuint32_t cpu_id;',
    '} align(8);',
    '',
    'struct event_header_large {',
    '\tenum : uint16_t { compact = 0 ... 65534, extended = 65535 } id;',
    '\tvariant <id> {',
    '\t\tstruct {',
    `\t\t\tuint32_clock_${clock}_t timestamp;`,
    '\t\t} align(8) compact;',
    '\t\tstruct {',
    '\t\t\tuint32_t id;',
    `\t\t\tuint64_clock_${clock}_t timestamp;`,
    '\t\t} align(8) extended;',
    '\t} v;',
    '} align(8);',
    '',
    '',
  ];
  const ids = new Set<number>();
  let text = lines.join('\n');
  for (const s of d.streams) {
    if (ids.has(s.id)) throw new TypeError(`stream id ${s.id} is described twice`);
    ids.add(s.id);
    text += streamText(s);
  }
  for (const s of d.streams) text += metadataEventsText(s.id, s.events);
  return text;
}
