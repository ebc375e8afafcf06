import fs from 'node:fs/promises';
import path from 'node:path';
import {
  decodeManifest, decodeStoreIdentity, encodeManifest, encodeStoreIdentity, type Manifest, type StoreIdentity,
} from '../format/manifest.js';
import { errnoCode } from '../rain-error.js';
import { writeSmallFileDurably } from './durable-file.js';
import { MANIFEST_FILE, STORE_IDENTITY_FILE } from './store-layout.js';

export type MetadataRead<T> =
  | { readonly status: 'ok'; readonly value: T }
  | { readonly status: 'absent' }
  | { readonly status: 'corrupt'; readonly reason: string }
  | { readonly status: 'unreachable'; readonly reason: string };

async function readText(file: string): Promise<{ text: string } | { absent: true } | { error: string }> {
  try {
    return { text: await fs.readFile(file, 'utf8') };
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return { absent: true };
    return { error: code ?? String(error) };
  }
}

export async function readManifest(storePath: string): Promise<MetadataRead<Manifest>> {
  const r = await readText(path.join(storePath, MANIFEST_FILE));
  if ('absent' in r) return { status: 'absent' };
  if ('error' in r) return { status: 'unreachable', reason: r.error };
  const decoded = decodeManifest(r.text);
  return decoded.ok ? { status: 'ok', value: decoded.manifest } : { status: 'corrupt', reason: decoded.reason };
}

export async function readStoreIdentity(storePath: string): Promise<MetadataRead<StoreIdentity>> {
  const r = await readText(path.join(storePath, STORE_IDENTITY_FILE));
  if ('absent' in r) return { status: 'absent' };
  if ('error' in r) return { status: 'unreachable', reason: r.error };
  const decoded = decodeStoreIdentity(r.text);
  return decoded.ok ? { status: 'ok', value: decoded.identity } : { status: 'corrupt', reason: decoded.reason };
}

export async function writeManifest(storePath: string, manifest: Manifest): Promise<void> {
  await writeSmallFileDurably(storePath, path.join(storePath, MANIFEST_FILE), encodeManifest(manifest));
}

export async function writeStoreIdentity(storePath: string, identity: StoreIdentity): Promise<void> {
  await writeSmallFileDurably(storePath, path.join(storePath, STORE_IDENTITY_FILE), encodeStoreIdentity(identity));
}
