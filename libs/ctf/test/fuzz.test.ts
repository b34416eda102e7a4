// Corrupted traces: reading ends, with events or a CtfError, never another exception or a hang.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CtfError, MetadataEvent, metadataText, readEvents } from '../src';
import { body, StreamBuilder, tmpDir, UUID } from './helpers';

/** A small deterministic generator (mulberry32), so that a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS: MetadataEvent[] = [
  {
    id: 0,
    name: 'f:a',
    loglevel: 13,
    fields: [
      { name: 's', type: 'string' },
      { name: 'q', type: 'seq:u16' },
      { name: 'e', type: 'enum:u8:{"X":1}' },
    ],
  },
  {
    id: 1,
    name: 'f:b',
    loglevel: 13,
    fields: [
      { name: 'c', type: 'char[5]' },
      { name: 'd', type: 'double' },
      { name: 'b', type: 'bytes' },
    ],
  },
];

function readAll(dir: string): { count: number; error?: unknown } {
  let count = 0;
  try {
    for (const e of readEvents([dir])) {
      count++;
      void e;
    }
    return { count };
  } catch (error) {
    return { count, error };
  }
}

describe('CTF reader on corrupted traces', function () {
  this.timeout(60000);
  let dir: string;
  let stream: Buffer;
  let metadata: string;
  before(() => {
    dir = tmpDir('fuzz');
    metadata = metadataText({
      uuid: UUID,
      env: {},
      clock: { name: 'monotonic', offsetNs: 0n },
      streams: [{ id: 0, contexts: ['vtid', 'procname'], events: EVENTS }],
    });
    const s = new StreamBuilder({ streamId: 0, instanceId: 0n, cpuId: 0, packetSize: 1024 });
    for (let i = 0; i < 60; i++) {
      const ctx = { vtid: i, procname: 'fuzz' };
      if (i % 2)
        s.event(
          1,
          BigInt(1000 + i),
          body(EVENTS[1], ['abcde', i / 3, Uint8Array.from([i, i + 1])], ['vtid', 'procname'], ctx),
        );
      else s.event(0, BigInt(1000 + i), body(EVENTS[0], [`s${i}`, [i, i * 2], 1], ['vtid', 'procname'], ctx));
    }
    stream = s.bytes();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the intact trace', () => {
    fs.writeFileSync(path.join(dir, 'metadata'), metadata);
    fs.writeFileSync(path.join(dir, 'chan_0'), stream);
    expect(readAll(dir)).to.deep.equal({ count: 60 });
  });

  it('ends on flipped and overwritten stream bytes and on truncations', () => {
    fs.writeFileSync(path.join(dir, 'metadata'), metadata);
    const rand = rng(7);
    for (let round = 0; round < 400; round++) {
      const b = Buffer.from(stream);
      const changes = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < changes; k++) {
        const at = Math.floor(rand() * b.length);
        if (rand() < 0.5) b[at] ^= 1 << Math.floor(rand() * 8);
        else b.writeUInt32LE(Math.floor(rand() * 0xffffffff), Math.min(at, b.length - 4));
      }
      const cut = rand() < 0.2 ? Math.floor(rand() * b.length) : b.length;
      fs.writeFileSync(path.join(dir, 'chan_0'), b.subarray(0, cut));
      const r = readAll(dir);
      if (r.error !== undefined && !(r.error instanceof CtfError))
        throw new Error(`round ${round}: ${(r.error as Error).stack}`);
      expect(r.count).to.be.at.most(60);
    }
  });

  it('ends on corrupted metadata text', () => {
    fs.writeFileSync(path.join(dir, 'chan_0'), stream);
    const rand = rng(11);
    const text = Buffer.from(metadata);
    for (let round = 0; round < 300; round++) {
      const b = Buffer.from(text);
      for (let k = 0; k < 3; k++) b[Math.floor(rand() * b.length)] = 0x20 + Math.floor(rand() * 0x5f);
      fs.writeFileSync(
        path.join(dir, 'metadata'),
        b.subarray(0, rand() < 0.2 ? Math.floor(rand() * b.length) : b.length),
      );
      const r = readAll(dir);
      if (r.error !== undefined && !(r.error instanceof CtfError))
        throw new Error(`round ${round}: ${(r.error as Error).stack}`);
    }
  });
});
