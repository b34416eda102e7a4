import { expect } from 'chai';
import { encodeFrame, FrameDecoder, StatusCode, StatusError } from '../src';

describe('FrameDecoder', () => {
  it('splits a stream into frames whatever the chunking', () => {
    const payloads = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('hello world'), Buffer.alloc(3000, 7)];
    const stream = Buffer.concat(payloads.map(encodeFrame));
    for (const chunkSize of [1, 2, 3, 5, 64, stream.length]) {
      const decoder = new FrameDecoder(4096);
      const got: Buffer[] = [];
      for (let i = 0; i < stream.length; i += chunkSize) got.push(...decoder.push(stream.subarray(i, i + chunkSize)));
      expect(got.map((b) => b.toString('hex'))).to.deep.equal(payloads.map((b) => b.toString('hex')));
      expect(decoder.bufferedBytes).to.equal(0);
    }
  });

  it('keeps a truncated frame pending', () => {
    const decoder = new FrameDecoder(1024);
    const frame = encodeFrame(Buffer.from('abcdef'));
    expect(decoder.push(frame.subarray(0, 7))).to.have.length(0);
    expect(decoder.bufferedBytes).to.equal(7);
    expect(decoder.push(frame.subarray(7)).map(String)).to.deep.equal(['abcdef']);
  });

  it('refuses an oversized frame from its header alone, before buffering it', () => {
    const decoder = new FrameDecoder(1024);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025);
    const before = encodeFrame(Buffer.from('ok'));
    expect(decoder.push(Buffer.concat([before, header])).map(String)).to.deep.equal(['ok']);
    expect(decoder.error).to.be.instanceOf(StatusError);
    expect(decoder.error?.code).to.equal(StatusCode.FRAME_TOO_LARGE);
    expect(decoder.error?.message).to.equal('frame of 1025 bytes is larger than the maximum of 1024 bytes');
    expect(decoder.bufferedBytes).to.equal(0);
    expect(decoder.push(encodeFrame(Buffer.from('after')))).to.have.length(0);
  });

  it('accepts a frame of exactly the maximum size', () => {
    const decoder = new FrameDecoder(16);
    expect(decoder.push(encodeFrame(Buffer.alloc(16, 1)))).to.have.length(1);
  });
});
