/**
 * The TSDL (CTF 1.8) metadata of a userspace trace, as LTTng-UST lays out its packets: packed
 * little-endian (every type byte-aligned), the 84-byte packet preamble, event_header_large, the
 * channel's contexts as the stream event context, and the fields of each event with LTTng's
 * leading `_`. The text is regenerated whole; what apps add later comes after what was there.
 */

export interface MetadataEvent {
  id: number;
  name: string;
  loglevel: number;
  /** Field types in libs/ust's grammar (docs/USERSPACE.md). */
  fields: { name: string; type: string }[];
}

export interface MetadataStream {
  id: number;
  contexts: string[];
  events: MetadataEvent[];
}

export interface TraceDescription {
  uuid: string;
  env: Record<string, string | number>;
  clock: { name: string; description?: string; offsetNs: bigint; uuid?: string };
  streams: MetadataStream[];
}

const INT: Record<string, { size: number; signed: boolean }> = {
  u8: { size: 8, signed: false },
  u16: { size: 16, signed: false },
  u32: { size: 32, signed: false },
  u64: { size: 64, signed: false },
  s8: { size: 8, signed: true },
  s16: { size: 16, signed: true },
  s32: { size: 32, signed: true },
  s64: { size: 64, signed: true },
};

function integer(type: string, encoding = 'none', base = 10): string {
  const t = INT[type];
  if (!t) throw new TypeError(`${JSON.stringify(type)} is not an integer type`);
  return `integer { size = ${t.size}; align = 8; signed = ${t.signed ? 1 : 0}; encoding = ${encoding}; base = ${base}; byte_order = le; }`;
}

/** A TSDL string literal. */
export function quote(text: string): string {
  // eslint-disable-next-line no-control-regex
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/[\u0000-\u001f]/g, ' ')}"`;
}

/** A field name as a TSDL identifier: LTTng's leading `_`, and `_` for anything not [A-Za-z0-9_]. */
export function identifier(name: string): string {
  return `_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** The TSDL declaration(s) of one field (a sequence has its length field before it). */
export function fieldDeclaration(name: string, type: string): string[] {
  const id = identifier(name);
  if (INT[type]) return [`${integer(type)} ${id};`];
  if (type === 'float') return [`floating_point { exp_dig = 8; mant_dig = 24; align = 8; byte_order = le; } ${id};`];
  if (type === 'double') return [`floating_point { exp_dig = 11; mant_dig = 53; align = 8; byte_order = le; } ${id};`];
  if (type === 'string') return [`string { encoding = UTF8; } ${id};`];
  if (type === 'bytes') return [`${integer('u32')} _${id}_length;`, `${integer('u8', 'none', 16)} ${id}[ _${id}_length ];`];
  let m = /^char\[([1-9][0-9]*)\]$/.exec(type);
  if (m) return [`${integer('u8', 'UTF8')} ${id}[${m[1]}];`];
  m = /^([us](?:8|16|32|64))\[([1-9][0-9]*)\]$/.exec(type);
  if (m) return [`${integer(m[1])} ${id}[${m[2]}];`];
  m = /^seq:([us](?:8|16|32|64))$/.exec(type);
  if (m) return [`${integer('u32')} _${id}_length;`, `${integer(m[1])} ${id}[ _${id}_length ];`];
  m = /^enum:([us](?:8|16|32|64)):(\{.*\})$/s.exec(type);
  if (m) {
    const labels = Object.entries(JSON.parse(m[2]) as Record<string, number>);
    if (labels.length === 0) return [`${integer(m[1])} ${id};`];
    return [`enum : ${integer(m[1])} { ${labels.map(([label, value]) => `${quote(label)} = ${value}`).join(', ')} } ${id};`];
  }
  throw new TypeError(`unknown field type ${JSON.stringify(type)}`);
}

const CONTEXT_FIELDS: Record<string, string> = {
  vpid: `${integer('s32')} _vpid;`,
  vtid: `${integer('s32')} _vtid;`,
  vuid: `${integer('u32')} _vuid;`,
  vgid: `${integer('u32')} _vgid;`,
  procname: `${integer('u8', 'UTF8')} _procname[17];`,
};

function struct(lines: string[], indent: string): string {
  return `struct {\n${lines.map((l) => `${indent}\t${l}`).join('\n')}\n${indent}}`;
}

function streamText(s: MetadataStream): string {
  const lines = [`stream {`, `\tid = ${s.id};`, `\tevent.header := struct event_header_large;`, `\tpacket.context := struct packet_context;`];
  if (s.contexts.length) {
    lines.push(`\tevent.context := ${struct(s.contexts.map((c) => {
      const decl = CONTEXT_FIELDS[c];
      if (!decl) throw new TypeError(`unknown context ${JSON.stringify(c)}`);
      return decl;
    }), '\t')};`);
  }
  lines.push('};', '');
  return lines.join('\n');
}

/** The declaration of one event class of a stream. */
export function eventText(streamId: number, e: MetadataEvent): string {
  const lines = [`event {`, `\tname = ${quote(e.name)};`, `\tid = ${e.id};`, `\tstream_id = ${streamId};`, `\tloglevel = ${e.loglevel};`];
  const fields = e.fields.flatMap((f) => fieldDeclaration(f.name, f.type));
  lines.push(fields.length ? `\tfields := ${struct(fields, '\t')};` : '\tfields := struct { };', '};', '');
  return lines.join('\n');
}

/** The whole metadata file. */
export function metadataText(d: TraceDescription): string {
  const offsetS = d.clock.offsetNs / 1_000_000_000n;
  const offset = d.clock.offsetNs % 1_000_000_000n;
  const env = Object.entries(d.env).map(([k, v]) => `\t${k.replace(/[^A-Za-z0-9_]/g, '_')} = ${typeof v === 'number' ? String(Math.trunc(v)) : quote(v)};`);
  const parts = [
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
    `\tuuid = "${d.uuid}";`,
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
    `\tname = ${quote(d.clock.name)};`,
    ...(d.clock.uuid ? [`\tuuid = "${d.clock.uuid}";`] : []),
    `\tdescription = ${quote(d.clock.description ?? d.clock.name)};`,
    '\tfreq = 1000000000;',
    '\tprecision = 1;',
    `\toffset_s = ${offsetS};`,
    `\toffset = ${offset};`,
    '\tabsolute = FALSE;',
    '};',
    '',
    `typealias integer { size = 32; align = 8; signed = false; map = clock.${d.clock.name}.value; } := uint32_clock_monotonic_t;`,
    `typealias integer { size = 64; align = 8; signed = false; map = clock.${d.clock.name}.value; } := uint64_clock_monotonic_t;`,
    '',
    'struct packet_context {',
    '\tuint64_clock_monotonic_t timestamp_begin;',
    '\tuint64_clock_monotonic_t timestamp_end;',
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
    '\t\t\tuint32_clock_monotonic_t timestamp;',
    '\t\t} compact;',
    '\t\tstruct {',
    '\t\t\tuint32_t id;',
    '\t\t\tuint64_clock_monotonic_t timestamp;',
    '\t\t} extended;',
    '\t} v;',
    '} align(8);',
    '',
  ];
  let text = parts.join('\n');
  for (const s of d.streams) text += streamText(s);
  for (const s of d.streams) for (const e of s.events) text += eventText(s.id, e);
  return text;
}
