import { datasetSequence } from '../../format/catalog-record.js';
import { placeDataset } from '../../format/placement.js';
import { writeWorkerRecord } from '../../store/epoch-files.js';
import { readManifest } from '../../store/store-metadata.js';
import { emptyHealth, foldCheckResult, type FileHealth } from '../file-health.js';
import { faultPoint } from '../fault-points.js';
import type { CheckPlan, DatasetRef, PlannedFile, VersionReport, WorkerCheckReport } from '../protocol.js';
import { responsibleSlot, responsibleSlotForVersion } from '../responsibility.js';
import type { WorkerContext } from '../worker-context.js';
import { BlockListings, checkDataset } from './check-dataset.js';
import { resolveVersion } from './resolve-version.js';
import { removeFileBlocks } from './store-housekeeping.js';

/** Data sets checked at once by one worker: overlaps the reads of one with the coding of another. */
const CHECKS_IN_FLIGHT = 3;

type Unit =
  | { kind: 'dataset'; record: PlannedFile; datasetIndex: number }
  | { kind: 'version'; index: number }
  | { kind: 'deleted'; index: number };

/**
 * A worker's side of initialization mode (M4, M5, M6, M9). Entering it suspends regular work:
 * encode/decode requests are refused until the coordinator says the pool is active again.
 */
export class InitMode {
  epoch = 0;
  private membership: number[] = [];
  private plan: CheckPlan | undefined;
  /** The plan's filesToList; undefined: list every file. */
  private filesToList: Set<string> | undefined;
  private readonly listings = new BlockListings();

  get active(): boolean {
    return this.epoch !== 0;
  }

  /** Agree to enter epoch e's initialization: only if this store has not committed e or later. */
  async enter(ctx: WorkerContext, epoch: number, membership: readonly number[]): Promise<{ agreed: boolean; reason?: string }> {
    if (!membership.includes(ctx.slot)) return { agreed: false, reason: `slot ${ctx.slot} is not in the proposed membership` };
    const own = await readManifest(ctx.store(ctx.slot).path);
    if (own.status === 'ok' && own.value.epoch >= epoch) {
      return { agreed: false, reason: `store ${ctx.slot} already committed epoch ${own.value.epoch}` };
    }
    if (this.active && this.epoch > epoch) return { agreed: false, reason: `already in initialization for epoch ${this.epoch}` };
    this.epoch = epoch;
    this.membership = [...membership];
    await writeWorkerRecord(ctx.store(ctx.slot).path, epoch, 'enter', ctx.slot, { pid: process.pid }).catch(() => undefined);
    return { agreed: true };
  }

  /** Register responsibility by the common function; every worker computes the same partition. */
  async register(ctx: WorkerContext, plan: CheckPlan): Promise<{ datasets: number; versions: number }> {
    if (plan.epoch !== this.epoch) throw new Error(`register for epoch ${plan.epoch}, but in epoch ${this.epoch}`);
    this.plan = plan;
    this.filesToList = plan.filesToList ? new Set(plan.filesToList) : undefined;
    this.membership = [...plan.membership];
    let datasets = 0;
    let versions = 0;
    for (const unit of this.unitsOf(ctx.slot, this.membership)) {
      if (unit.kind === 'dataset') datasets++;
      else versions++;
    }
    await writeWorkerRecord(ctx.store(ctx.slot).path, this.epoch, 'register', ctx.slot, { datasets, versions });
    await faultPoint('worker-registered', ctx.slot);
    return { datasets, versions };
  }

  /** Check (and with plan.repair, recover) every unit this worker is responsible for. */
  async check(ctx: WorkerContext): Promise<WorkerCheckReport> {
    return this.run(ctx, [...this.unitsOf(ctx.slot, this.membership)]);
  }

  /** A worker died: the survivors recompute responsibility without it and take over its units only. */
  async takeover(ctx: WorkerContext, deadSlot: number, membership: readonly number[]): Promise<WorkerCheckReport> {
    const before = this.membership;
    this.membership = [...membership];
    const mine = [...this.unitsOf(deadSlot, before)].filter((unit) => this.ownerOf(unit, this.membership) === ctx.slot);
    return this.run(ctx, mine);
  }

  async confirm(ctx: WorkerContext, summary: object): Promise<void> {
    await writeWorkerRecord(ctx.store(ctx.slot).path, this.epoch, 'confirm', ctx.slot, summary);
  }

  leave(): void {
    this.epoch = 0;
    this.plan = undefined;
    this.filesToList = undefined;
    this.listings.forget();
  }

  private requirePlan(): CheckPlan {
    if (!this.plan) throw new Error('initialization mode: check before register');
    return this.plan;
  }

  private *unitsOf(slot: number, membership: readonly number[]): Generator<Unit> {
    const plan = this.requirePlan();
    for (const record of plan.committed) {
      for (let d = 0; d < record.datasetCount; d++) {
        const unit: Unit = { kind: 'dataset', record, datasetIndex: d };
        if (this.ownerOf(unit, membership) === slot) yield unit;
      }
    }
    for (let i = 0; i < plan.uncommitted.length; i++) {
      const unit: Unit = { kind: 'version', index: i };
      if (this.ownerOf(unit, membership) === slot) yield unit;
    }
    for (let i = 0; i < plan.deleted.length; i++) {
      const unit: Unit = { kind: 'deleted', index: i };
      if (this.ownerOf(unit, membership) === slot) yield unit;
    }
  }

  private ownerOf(unit: Unit, membership: readonly number[]): number {
    const plan = this.requirePlan();
    if (unit.kind === 'dataset') return responsibleSlot(unit.record.fileId, unit.datasetIndex, membership);
    const v = unit.kind === 'version' ? plan.uncommitted[unit.index] : plan.deleted[unit.index];
    return responsibleSlotForVersion(v.fileId, v.sequence, membership);
  }

  private async run(ctx: WorkerContext, units: Unit[]): Promise<WorkerCheckReport> {
    const plan = this.requirePlan();
    const started = Date.now();
    const files = new Map<string, FileHealth>();
    const versionReports: VersionReport[] = [];
    let garbageBlocksRemoved = 0;
    let datasets = 0;
    let next = 0;
    await faultPoint('worker-checking', ctx.slot);
    const lane = async (): Promise<void> => {
      while (next < units.length) {
        const unit = units[next++];
        if (unit.kind === 'dataset') {
          datasets++;
          const result = await checkDataset(ctx, this.refOf(ctx, unit.record, unit.datasetIndex), { repair: plan.repair, collectOlder: plan.repair }, this.listings);
          let health = files.get(unit.record.fileId);
          if (!health) files.set(unit.record.fileId, (health = emptyHealth(unit.record)));
          foldCheckResult(health, result);
        } else if (unit.kind === 'version') {
          versionReports.push(await resolveVersion(ctx, plan, plan.uncommitted[unit.index], this.listings));
        } else if (plan.repair) {
          const gone = plan.deleted[unit.index];
          for (const slot of plan.poolSlots) {
            const store = ctx.store(slot);
            if (store.writable) garbageBlocksRemoved += await removeFileBlocks(store.path, gone.fileId, gone.sequence, 'older').catch(() => 0);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CHECKS_IN_FLIGHT }, lane));
    await ctx.directorySync.flush();
    return {
      slot: ctx.slot, datasets, versions: versionReports.length, files: [...files.values()], versionReports,
      garbageBlocksRemoved, elapsedMs: Date.now() - started,
    };
  }

  private refOf(ctx: WorkerContext, record: PlannedFile, datasetIndex: number): DatasetRef {
    const plan = this.requirePlan();
    return {
      poolId: ctx.poolId, name: record.name, fileId: record.fileId, sequence: datasetSequence(record, datasetIndex),
      fileSizeBytes: record.fileSizeBytes, k: record.k, m: record.m, blockSizeBytes: record.blockSizeBytes, datasetIndex,
      datasetCount: record.datasetCount, placement: placeDataset(record.fileId, datasetIndex, plan.poolSlots, record.k + record.m),
      soleSequence: this.filesToList !== undefined && !this.filesToList.has(record.fileId),
    };
  }
}
