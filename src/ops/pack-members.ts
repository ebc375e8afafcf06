import type { CatalogRecord } from '../format/catalog-record.js';

/** What a pack's verdict needs of each file packed in it. */
export type PackMember = Pick<CatalogRecord, 'name' | 'fileId' | 'fileSizeBytes'>;

const FILE_ID = /^[0-9a-f]{32}$/;
const FILE_ID_BYTES = 16;

/**
 * The live files packed in one pack, held in columns for the length of a check: the name string,
 * 16 bytes of file id and 8 of size each, where an object per member with its id as a string cost
 * about 150 bytes (a routine check of 1,000,000 packed files held them all until its report).
 * A file id not in rain's form (32 lowercase hex digits) is kept as it is, apart.
 */
export class PackMembers {
  private readonly names: string[] = [];
  private ids = Buffer.alloc(0);
  private sizes = new Float64Array(0);
  private readonly oddIds = new Map<number, string>();

  get length(): number {
    return this.names.length;
  }

  add(member: PackMember): void {
    const i = this.names.length;
    if (i === this.sizes.length) this.grow(Math.max(16, i * 2));
    if (!Number.isSafeInteger(member.fileSizeBytes) || member.fileSizeBytes < 0) throw new RangeError(`pack members: ${member.name} has size ${member.fileSizeBytes}`);
    this.names.push(member.name);
    if (FILE_ID.test(member.fileId)) this.ids.write(member.fileId, i * FILE_ID_BYTES, FILE_ID_BYTES, 'hex');
    else this.oddIds.set(i, member.fileId);
    this.sizes[i] = member.fileSizeBytes;
  }

  name(i: number): string {
    this.assertIndex(i);
    return this.names[i];
  }

  fileId(i: number): string {
    this.assertIndex(i);
    return this.oddIds.get(i) ?? this.ids.toString('hex', i * FILE_ID_BYTES, (i + 1) * FILE_ID_BYTES);
  }

  sizeBytes(i: number): number {
    this.assertIndex(i);
    return this.sizes[i];
  }

  private grow(capacity: number): void {
    const ids = Buffer.alloc(capacity * FILE_ID_BYTES);
    this.ids.copy(ids);
    this.ids = ids;
    const sizes = new Float64Array(capacity);
    sizes.set(this.sizes);
    this.sizes = sizes;
  }

  private assertIndex(i: number): void {
    if (!(Number.isInteger(i) && i >= 0 && i < this.names.length)) throw new RangeError(`pack members: index ${i} of ${this.names.length}`);
  }
}
