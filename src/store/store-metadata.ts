import path from 'node:path';
import {
  decodeManifest, decodeStoreIdentity, encodeManifest, encodeStoreIdentity, type Manifest, type StoreIdentity,
} from '../format/manifest.js';
import { describeStoreError, errnoCode, StoreError } from '../rain-error.js';
import { publishExclusively, writeSmallFileDurably } from './durable-file.js';
import { readSmallFile } from './guarded-fs.js';
import { MANIFEST_FILE, STORE_IDENTITY_FILE } from './store-layout.js';

export type MetadataRead<T> =
  | { readonly status: 'ok'; readonly value: T }
  | { readonly status: 'absent' }
  | { readonly status: 'corrupt'; readonly reason: string }
  | { readonly status: 'unreachable'; readonly reason: string };

/** Manifests and identities are a few KiB (a manifest lists every store); anything larger is not one. */
const MAX_METADATA_BYTES = 16 * 1024 * 1024;

/**
 * Reads one of the store's own metadata files as guarded-fs.ts reads everything in a store: a
 * FIFO, device, link or directory in its place, or an oversized file, is 'corrupt' with the
 * reason in words (the check rewrites it); an errno (EACCES, EIO) means the store cannot be read.
 */
function readText(storePath: string, file: string): { text: string } | { absent: true } | { corrupt: string } | { error: string } {
  try {
    const bytes = readSmallFile(storePath, file, MAX_METADATA_BYTES);
    return bytes === undefined ? { absent: true } : { text: bytes.toString('utf8') };
  } catch (error) {
    if (error instanceof StoreError) return { corrupt: error.message };
    const code = errnoCode(error);
    if (code === 'EISDIR') return { corrupt: `${path.basename(file)} is a directory, not a file` };
    return { error: describeStoreError(error) };
  }
}

async function readMetadata<T>(storePath: string, fileName: string, decode: (text: string) => { ok: true; value: T } | { ok: false; reason: string }): Promise<MetadataRead<T>> {
  const r = readText(storePath, path.join(storePath, fileName));
  if ('absent' in r) return { status: 'absent' };
  if ('corrupt' in r) return { status: 'corrupt', reason: r.corrupt };
  if ('error' in r) return { status: 'unreachable', reason: r.error };
  const decoded = decode(r.text);
  return decoded.ok ? { status: 'ok', value: decoded.value } : { status: 'corrupt', reason: decoded.reason };
}

export async function readManifest(storePath: string): Promise<MetadataRead<Manifest>> {
  return readMetadata(storePath, MANIFEST_FILE, (text) => {
    const decoded = decodeManifest(text);
    return decoded.ok ? { ok: true, value: decoded.manifest } : decoded;
  });
}

export async function readStoreIdentity(storePath: string): Promise<MetadataRead<StoreIdentity>> {
  return readMetadata(storePath, STORE_IDENTITY_FILE, (text) => {
    const decoded = decodeStoreIdentity(text);
    return decoded.ok ? { ok: true, value: decoded.identity } : decoded;
  });
}

export async function writeManifest(storePath: string, manifest: Manifest): Promise<void> {
  await writeSmallFileDurably(storePath, path.join(storePath, MANIFEST_FILE), encodeManifest(manifest));
}

export async function writeStoreIdentity(storePath: string, identity: StoreIdentity): Promise<void> {
  await writeSmallFileDurably(storePath, path.join(storePath, STORE_IDENTITY_FILE), encodeStoreIdentity(identity));
}

/** Claims a directory for a new store: fails with EEXIST if one already holds an identity (init races). */
export async function publishStoreIdentity(storePath: string, identity: StoreIdentity): Promise<void> {
  await publishExclusively(storePath, path.join(storePath, STORE_IDENTITY_FILE), encodeStoreIdentity(identity));
}

