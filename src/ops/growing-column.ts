type NumberArray = Float64Array | Uint8Array | Uint16Array | Uint32Array;
type BigArray = BigInt64Array | BigUint64Array;
type ValueOf<A> = A extends BigArray ? bigint : number;

/**
 * A typed array that grows by doubling: what a command keeps per file of a large tree or pool
 * (walked-tree.ts, pack-members.ts) without an object per file. Every value is checked to survive
 * the round trip, so a value that does not fit its column is refused, never stored cut.
 */
export class GrowingColumn<A extends NumberArray | BigArray> {
  private values: A;
  private count = 0;

  constructor(private readonly make: new (length: number) => A, initialLength = 1024) {
    this.values = new make(initialLength);
  }

  get length(): number {
    return this.count;
  }

  push(value: ValueOf<A>): void {
    if (this.count === this.values.length) {
      const bigger = new this.make(Math.max(16, this.values.length * 2));
      (bigger as { set(from: A): void }).set(this.values);
      this.values = bigger;
    }
    const values = this.values as unknown as Array<ValueOf<A>>;
    values[this.count] = value;
    if (values[this.count] !== value) throw new RangeError(`${String(value)} does not fit its column`);
    this.count++;
  }

  get(index: number): ValueOf<A> {
    if (!(Number.isInteger(index) && index >= 0 && index < this.count)) throw new RangeError(`column index ${index} of ${this.count}`);
    return (this.values as unknown as Array<ValueOf<A>>)[index];
  }
}
