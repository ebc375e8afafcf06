import fs from 'node:fs/promises';
import path from 'node:path';
import {
  decodeManifest, decodeStoreIdentity, encodeManifest, encodeStoreIdentity, type Manifest, type StoreIdentity,
} from '../format/manifest.js';
import { errnoCode } from '../rain-error.js';
import { publishExclusively, writeSmallFileDurably } from './durable-file.js';
import { MANIFEST_FILE, STORE_IDENTITY_FILE } from './store-layout.js';
import { remotable } from './store-router.js';

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

async function readManifestHere(storePath: string): Promise<MetadataRead<Manifest>> {
  const r = await readText(path.join(storePath, MANIFEST_FILE));
  if ('absent' in r) return { status: 'absent' };
  if ('error' in r) return { status: 'unreachable', reason: r.error };
  const decoded = decodeManifest(r.text);
  return decoded.ok ? { status: 'ok', value: decoded.manifest } : { status: 'corrupt', reason: decoded.reason };
}

async function readStoreIdentityHere(storePath: string): Promise<MetadataRead<StoreIdentity>> {
  const r = await readText(path.join(storePath, STORE_IDENTITY_FILE));
  if ('absent' in r) return { status: 'absent' };
  if ('error' in r) return { status: 'unreachable', reason: r.error };
  const decoded = decodeStoreIdentity(r.text);
  return decoded.ok ? { status: 'ok', value: decoded.identity } : { status: 'corrupt', reason: decoded.reason };
}

async function writeManifestHere(storePath: string, manifest: Manifest): Promise<void> {
  await writeSmallFileDurably(storePath, path.join(storePath, MANIFEST_FILE), encodeManifest(manifest));
}

async function writeStoreIdentityHere(storePath: string, identity: StoreIdentity): Promise<void> {
  await writeSmallFileDurably(storePath, path.join(storePath, STORE_IDENTITY_FILE), encodeStoreIdentity(identity));
}

/** Claims a directory for a new store: fails with EEXIST if one already holds an identity (init races). */
async function publishStoreIdentityHere(storePath: string, identity: StoreIdentity): Promise<void> {
  await publishExclusively(storePath, path.join(storePath, STORE_IDENTITY_FILE), encodeStoreIdentity(identity));
}

// Reachable from any process and host (store-router.ts); the implementations above run where the store is.
export const readManifest = remotable('readManifest', readManifestHere);
export const readStoreIdentity = remotable('readStoreIdentity', readStoreIdentityHere);
export const writeManifest = remotable('writeManifest', writeManifestHere);
export const publishStoreIdentity = remotable('publishStoreIdentity', publishStoreIdentityHere);
export const writeStoreIdentity = remotable('writeStoreIdentity', writeStoreIdentityHere);
