// A traced app for the e2e tests with one event per field type, an enum, several log levels and an
// event defined at run time from a user_events format. `node types-app.js N` emits N rounds, then
// defines one more event while the session records (the trace's metadata grows) and emits it once.
import {
  array,
  bytes,
  chars,
  defineEventFromFormat,
  double,
  enumeration,
  float,
  LogLevel,
  provider,
  ready,
  s16,
  s32,
  s64,
  s8,
  sequence,
  string,
  u16,
  u32,
  u64,
  u8,
} from '@tstrace/ust';

const p = provider('types');
export const ints = p.event(
  'ints',
  [u8('a'), u16('b'), u32('c'), u64('d'), s8('e'), s16('f'), s32('g'), s64('h')],
  LogLevel.EMERG,
);
export const floats = p.event('floats', [float('f'), double('d')], LogLevel.WARNING);
export const texts = p.event('texts', [string('s'), chars('c', 8), string('utf8')], LogLevel.INFO);
export const arrays = p.event('arrays', [bytes('raw'), sequence('seq', 's16'), array('arr', 'u32', 3)], LogLevel.DEBUG);
export const enums = p.event(
  'enums',
  [enumeration('color', 'u8', { RED: 0, GREEN: 1, BLUE: 2 }), u32('n')],
  LogLevel.NOTICE,
);

async function main(): Promise<void> {
  const detailed = defineEventFromFormat('detailed char[20] msg;u32 count', LogLevel.INFO);
  await ready();
  for (const ev of [ints, floats, texts, arrays, enums, detailed]) {
    for (const until = Date.now() + 2000; !ev.enabled && Date.now() < until;)
      await new Promise((r) => setTimeout(r, 1));
  }
  const rounds = Number(process.argv[2] ?? 1);
  for (let i = 0; i < rounds; i++) {
    ints.emit(255, 65535, 4294967295, 18446744073709551615n, -128, -32768, -2147483648, -9223372036854775808n);
    floats.emit(1.5, -2.25e-300);
    texts.emit(`hello ${i}`, 'abc', 'héllo wörld ☃');
    arrays.emit(Uint8Array.of(1, 2, 255), [-1, 0, 32767], [7, 8, 9]);
    enums.emit(i % 3, i);
    detailed.emit(`msg ${i}`, i * 10);
  }
  const late = defineEventFromFormat('late u32 n;char[8] tag', LogLevel.ERR);
  await ready();
  for (const until = Date.now() + 2000; !late.enabled && Date.now() < until;)
    await new Promise((r) => setTimeout(r, 1));
  late.emit(rounds, 'last');
  console.log('done');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
