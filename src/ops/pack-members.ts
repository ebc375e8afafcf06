import type { CatalogRecord } from '../format/catalog-record.js';
import { GrowingColumn } from './growing-column.js';

/** What a pack's verdict needs of each file packed in it. */
export type PackMember = Pick<CatalogRecord, 'name' | 'fileId' | 'fileSizeBytes'>;

const FILE_ID = /^[0-9a-f]{32}$/;
const FILE_ID_BYTES = 16;
const INITIAL_MEMBERS = 16;

/**
 * The live files packed in one pack, held in columns for the length of a check: the name string,
 * 16 bytes of file id and 8 of size each, where an object per member with its id as a string cost
 * about 150 bytes (a routine check of 1,000,000 packed files held them all until its report).
 * A file id not in rain's form (32 lowercase hex digits) is kept as it is, apart.
 */
export class PackMembers {
  private readonly names: string[] = [];
  /** A file id's first and last 8 bytes. */
  private readonly idHigh = new GrowingColumn(BigUint64Array, INITIAL_MEMBERS);
  private readonly idLow = new GrowingColumn(BigUint64Array, INITIAL_MEMBERS);
  private readonly sizes = new GrowingColumn(Float64Array, INITIAL_MEMBERS);
  private readonly oddIds = new Map<number, string>();

  get length(): number {
    return this.names.length;
  }

  add(member: PackMember): void {
    if (!Number.isSafeInteger(member.fileSizeBytes) || member.fileSizeBytes < 0) throw new RangeError(`pack members: ${member.name} has size ${member.fileSizeBytes}`);
    const i = this.names.length;
    const id = FILE_ID.test(member.fileId) ? Buffer.from(member.fileId, 'hex') : undefined;
    if (!id) this.oddIds.set(i, member.fileId);
    this.names.push(member.name);
    this.idHigh.push(id ? id.readBigUInt64BE(0) : 0n);
    this.idLow.push(id ? id.readBigUInt64BE(8) : 0n);
    this.sizes.push(member.fileSizeBytes);
  }

  name(i: number): string {
    this.assertIndex(i);
    return this.names[i];
  }

  fileId(i: number): string {
    this.assertIndex(i);
    const odd = this.oddIds.get(i);
    if (odd !== undefined) return odd;
    const id = Buffer.allocUnsafe(FILE_ID_BYTES);
    id.writeBigUInt64BE(this.idHigh.get(i), 0);
    id.writeBigUInt64BE(this.idLow.get(i), 8);
    return id.toString('hex');
  }

  sizeBytes(i: number): number {
    return this.sizes.get(i);
  }

  private assertIndex(i: number): void {
    if (!(Number.isInteger(i) && i >= 0 && i < this.names.length)) throw new RangeError(`pack members: index ${i} of ${this.names.length}`);
  }
}
