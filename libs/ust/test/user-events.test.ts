import { expect } from 'chai';
import { FormatError, parseFormat } from '../src/user-events';

const types = (format: string) => {
  const p = parseFormat(format);
  return [p.name, ...p.fields.map((f) => `${f.name}:${f.type}`)];
};

/** The column of the FormatError a format raises. */
function errorAt(format: string): { column: number; message: string } {
  try {
    parseFormat(format);
  } catch (err) {
    expect(err).to.be.instanceOf(FormatError);
    return { column: (err as FormatError).column, message: (err as Error).message };
  }
  throw new Error(`"${format}" was accepted`);
}

describe('user_events format strings', () => {
  it('reads the kernel examples and every integer spelling', () => {
    expect(types('detailed char[20] msg;u32 count')).to.deep.equal(['detailed', 'msg:char[20]', 'count:u32']);
    expect(types('test')).to.deep.equal(['test']);
    expect(types('  test  ')).to.deep.equal(['test']);
    expect(types('test u32 count')).to.deep.equal(['test', 'count:u32']);
    expect(types('e u8 a;s8 b;u16 c;s16 d;u32 e;s32 f;u64 g;s64 h')).to.deep.equal([
      'e',
      'a:u8',
      'b:s8',
      'c:u16',
      'd:s16',
      'e:u32',
      'f:s32',
      'g:u64',
      'h:s64',
    ]);
    expect(
      types(
        'e char a;unsigned char b;short c;unsigned short d;int e;unsigned int f;long g;unsigned long h;long long i;unsigned long long j;unsigned k',
      ),
    ).to.deep.equal([
      'e',
      'a:s8',
      'b:u8',
      'c:s16',
      'd:u16',
      'e:s32',
      'f:u32',
      'g:s64',
      'h:u64',
      'i:s64',
      'j:u64',
      'k:u32',
    ]);
    expect(types('e  unsigned   int   spaced ; u8 x;')).to.deep.equal(['e', 'spaced:u32', 'x:u8']);
  });

  it('reads arrays, strings, bytes and sequences', () => {
    expect(types('e char name[16];u8 mac[6];u32[4] words;s64 big[2]')).to.deep.equal([
      'e',
      'name:char[16]',
      'mac:u8[6]',
      'words:u32[4]',
      'big:s64[2]',
    ]);
    expect(
      types(
        'e __data_loc char[] msg;__data_loc u8[] blob;__rel_loc unsigned char[] b2;__data_loc u16[] seq;__rel_loc char[] m2',
      ),
    ).to.deep.equal(['e', 'msg:string', 'blob:bytes', 'b2:bytes', 'seq:seq:u16', 'm2:string']);
    expect(types('e __data_loc char msg[]')).to.deep.equal(['e', 'msg:string']);
  });

  it('names the column of each error', () => {
    expect(errorAt('')).to.include({ column: 1 });
    expect(errorAt('   ')).to.include({ column: 4 });
    expect(errorAt('my:event u32 a')).to.include({ column: 3 });
    expect(errorAt('9bad u32 a').column).to.equal(1);
    expect(errorAt('e float x')).to.deep.equal({
      column: 3,
      message:
        'user_events format error at column 3: unknown type "float" for field "x": expected u8, s8, u16, s16, u32, s32, u64, s64, char, short, int, long, long long (optionally unsigned)',
    });
    expect(errorAt('e u32 a;u32 1x').column).to.equal(13);
    expect(errorAt('e u32 a;;u32 b').column).to.equal(9);
    expect(errorAt('e ;u32 b').column).to.equal(2);
    expect(errorAt('e u32').column).to.equal(3);
    expect(errorAt('e u32 a;u32 a')).to.include({ column: 9 });
    expect(errorAt('e u32 a;u32 a').message).to.match(/defined twice/);
    expect(errorAt('e char name[0]').column).to.equal(13);
    expect(errorAt('e char name[65536]').column).to.equal(13);
    expect(errorAt('e char name[x]').column).to.equal(13);
    expect(errorAt('e char name[]').message).to.match(/needs __data_loc/);
    expect(errorAt('e char[4] name[4]').message).to.match(/length once/);
    expect(errorAt('e __data_loc char[4] msg').message).to.match(/declared with \[\]/);
    expect(errorAt('e __data_loc char msg').message).to.match(/declared with \[\]/);
    expect(errorAt('e __data_loc').message).to.match(/a type and a name must follow/);
    expect(errorAt('e struct foo bar 20')).to.include({ column: 3 });
    expect(errorAt('e char na]me').column).to.equal(8);
    expect(errorAt('e u32 count;  float x').column).to.equal(15);
  });

  it('refuses a non-string format', () => {
    expect(() => parseFormat(42 as unknown as string)).to.throw(FormatError, /must be a string/);
  });
});
