import { LONE_SURROGATE } from '../format/name-bytes.js';

/**
 * Strings in a fixed order kept as one UTF-8 buffer and their end offsets, outside V8's heap: what
 * a walk of a large tree keeps of its names while a put -r or sync works through it. A million
 * names of ~25 bytes cost ~45 MB as strings in the heap (and V8 keeps room to grow it by half
 * again); packed, 25 MB plus 4 MB of offsets, in memory the collector neither moves nor scans.
 *
 * Lookups by name search a sample of every SAMPLE_EVERY-th name kept as strings first, then decode
 * at most log2(SAMPLE_EVERY) names: the order is JavaScript string order, which the UTF-8 bytes
 * alone do not keep (U+E000..U+FFFF sorts after a surrogate pair in it, before one in bytes).
 */
const SAMPLE_EVERY = 64;

export class PackedNames {
  private constructor(
    private readonly bytes: Buffer,
    /** ends[i] is where name i ends; it starts where name i - 1 ends. */
    private readonly ends: Uint32Array,
    /** Names 0, SAMPLE_EVERY, 2 x SAMPLE_EVERY, ... */
    private readonly sample: readonly string[],
  ) {}

  /**
   * The names taken in `order` (positions -> indexes into `names`), which must be ascending in
   * JavaScript string order; undefined when they cannot be packed as they are (a lone surrogate
   * would not survive UTF-8, or together they pass what one Buffer holds): the caller keeps the strings.
   */
  static pack(names: readonly string[], order: Uint32Array): PackedNames | undefined {
    let totalBytes = 0;
    for (let p = 0; p < order.length; p++) {
      const name = names[order[p]];
      if (LONE_SURROGATE.test(name)) return undefined;
      totalBytes += Buffer.byteLength(name, 'utf8');
    }
    if (totalBytes > 0xffff_ffff) return undefined;
    const bytes = Buffer.allocUnsafeSlow(totalBytes);
    const ends = new Uint32Array(order.length);
    const sample: string[] = [];
    let at = 0;
    for (let p = 0; p < order.length; p++) {
      const name = names[order[p]];
      at += bytes.write(name, at, 'utf8');
      ends[p] = at;
      if (p % SAMPLE_EVERY === 0) sample.push(name);
    }
    if (at !== totalBytes) throw new Error(`packed names: ${at} bytes written of ${totalBytes}`);
    return new PackedNames(bytes, ends, sample);
  }

  get length(): number {
    return this.ends.length;
  }

  at(position: number): string {
    if (!(position >= 0 && position < this.ends.length)) throw new RangeError(`packed names: position ${position} of ${this.ends.length}`);
    return this.bytes.toString('utf8', position === 0 ? 0 : this.ends[position - 1], this.ends[position]);
  }

  /** The position of `name`, or -1. */
  positionOf(name: string): number {
    // The last sampled name at or before `name`: the name, if here, is in its stretch.
    let low = 0;
    let high = this.sample.length - 1;
    let stretch = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const here = this.sample[middle];
      if (here === name) return middle * SAMPLE_EVERY;
      if (here < name) {
        stretch = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    if (stretch < 0) return -1;
    low = stretch * SAMPLE_EVERY + 1;
    high = Math.min(this.ends.length, (stretch + 1) * SAMPLE_EVERY) - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const here = this.at(middle);
      if (here === name) return middle;
      if (here < name) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  }
}
