import { BlockListings, checkDataset } from '../../dataset/check.js';
import { makeDatasetRef, type DatasetRef } from '../../dataset/dataset-ref.js';
import { emptyHealth, foldCheckResult, type FileHealth } from '../../dataset/file-health.js';
import type { VersionReport } from '../../dataset/results.js';
import { newestCommittedRecord, resolveVersion, type VersionPlan } from '../../dataset/resolve-version.js';
import { toConfirm, type ToConfirm } from '../../dataset/verdicts.js';
import { WritersAhead } from '../../dataset/writers-ahead.js';
import { datasetExtent } from '../../format/dataset-geometry.js';
import { placeDataset } from '../../format/placement.js';
import { describeStoreError } from '../../rain-error.js';
import type { WorkerPhase } from '../../store/epoch-files.js';
import { faultPoint } from '../fault-points.js';
import type { CheckPlan, PlannedFile, WorkerCheckReport } from '../protocol.js';
import type { WorkerContext } from '../worker-context.js';
import { responsibleSlot, responsibleSlotForVersion } from './responsibility.js';
import { ProgressThrottle, type CheckProgressCounts } from '../check-progress.js';

/** Data sets checked at once by one worker: overlaps the reads of one with the coding of another. */
const CHECKS_IN_FLIGHT = 3;

type Unit =
  | { kind: 'dataset'; record: PlannedFile; datasetIndex: number }
  | { kind: 'version'; index: number }
  | { kind: 'deleted'; index: number }
  | { kind: 'sweep'; record: PlannedFile };

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
  private filesToSweep = new Set<string>();
  private readNames: Set<string> | 'all' = new Set();
  /** Files a live writer is writing a newer version of: none of their blocks is removed (writers-ahead.ts). */
  private writersAhead = new WritersAhead([]);
  private lostSlots: ReadonlySet<number> = new Set();
  private readonly listings = new BlockListings();
  private versionLookups: VersionPlan | undefined;
  /** What went wrong writing this worker's own records (its store full, read-only...): reported, not fatal. */
  private storeFaults: string[] = [];
  private readonly progress: ProgressThrottle;

  /** `sendProgress`: the running totals of data sets checked, for the coordinator's progress bar. */
  constructor(sendProgress: (counts: CheckProgressCounts) => void = () => undefined) {
    this.progress = new ProgressThrottle(sendProgress);
  }

  get active(): boolean {
    return this.epoch !== 0;
  }

  /** Agree to enter epoch e's initialization: only if this store has not committed e or later. */
  async enter(ctx: WorkerContext, epoch: number, membership: readonly number[]): Promise<{ agreed: boolean; reason?: string }> {
    if (!membership.includes(ctx.slot)) return { agreed: false, reason: `slot ${ctx.slot} is not in the proposed membership` };
    const own = await ctx.storeOf(ctx.slot).store.readManifest().catch(() => undefined);
    if (own?.status === 'ok' && own.value.epoch >= epoch) {
      return { agreed: false, reason: `store ${ctx.slot} already committed epoch ${own.value.epoch}` };
    }
    if (this.active && this.epoch > epoch) return { agreed: false, reason: `already in initialization for epoch ${this.epoch}` };
    this.epoch = epoch;
    this.membership = [...membership];
    this.storeFaults = [];
    this.progress.reset();
    await this.record(ctx, 'enter', { pid: process.pid });
    return { agreed: true };
  }

  /** Register responsibility by the common function; every worker computes the same partition. */
  async register(ctx: WorkerContext, plan: CheckPlan): Promise<{ datasets: number; versions: number }> {
    if (plan.epoch !== this.epoch) throw new Error(`register for epoch ${plan.epoch}, but in epoch ${this.epoch}`);
    this.plan = plan;
    this.versionLookups = undefined;
    this.filesToList = plan.filesToList ? new Set(plan.filesToList) : undefined;
    this.filesToSweep = new Set(plan.filesToSweep);
    this.readNames = plan.readNames === 'all' ? 'all' : new Set(plan.readNames);
    this.writersAhead = new WritersAhead(plan.liveVersions);
    this.lostSlots = new Set(plan.lostSlots ?? []);
    this.membership = [...plan.membership];
    let datasets = 0;
    let versions = 0;
    for (const unit of this.unitsOf(ctx.slot, this.membership)) {
      if (unit.kind === 'dataset') datasets++;
      else versions++;
    }
    await this.record(ctx, 'register', { datasets, versions });
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
    await this.record(ctx, 'confirm', summary);
  }

  leave(): void {
    this.epoch = 0;
    this.plan = undefined;
    this.filesToList = undefined;
    this.filesToSweep = new Set();
    this.readNames = new Set();
    this.writersAhead = new WritersAhead([]);
    this.lostSlots = new Set();
    this.versionLookups = undefined;
    this.listings.forget();
  }

  /**
   * A worker's durable statement on its own store. A store that cannot take it (full, read-only)
   * does not stop the worker: the record is what the coordinator reads only if the worker dies,
   * and the worker goes on checking the data sets it is responsible for on every other store.
   */
  private async record(ctx: WorkerContext, phase: WorkerPhase, body: object): Promise<void> {
    try {
      await ctx.storeOf(ctx.slot).store.writeWorkerRecord(this.epoch, phase, ctx.slot, body);
    } catch (error) {
      this.storeFaults.push(`store ${ctx.slot}: its ${phase} record for epoch ${this.epoch} could not be written: ${describeStoreError(error)}`);
    }
  }

  private requirePlan(): CheckPlan {
    if (!this.plan) throw new Error('initialization mode: check before register');
    return this.plan;
  }

  private *unitsOf(slot: number, membership: readonly number[]): Generator<Unit> {
    const plan = this.requirePlan();
    for (const record of plan.committed) {
      for (const [first, count] of record.datasetsToCheck ?? [[0, record.datasetCount]]) {
        for (let d = first; d < Math.min(first + count, record.datasetCount); d++) {
          const unit: Unit = { kind: 'dataset', record, datasetIndex: d };
          if (this.ownerOf(unit, membership) === slot) yield unit;
        }
      }
      if (this.filesToSweep.has(record.fileId)) {
        const unit: Unit = { kind: 'sweep', record };
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
    if (unit.kind === 'sweep') return responsibleSlotForVersion(unit.record.fileId, unit.record.sequence, membership);
    const v = unit.kind === 'version' ? plan.uncommitted[unit.index] : plan.deleted[unit.index];
    return responsibleSlotForVersion(v.fileId, v.sequence, membership);
  }

  private isRead(name: string): boolean {
    return this.readNames === 'all' || this.readNames.has(name);
  }

  private async run(ctx: WorkerContext, units: Unit[]): Promise<WorkerCheckReport> {
    const plan = this.requirePlan();
    const started = Date.now();
    const files = new Map<string, FileHealth>();
    const versionReports: VersionReport[] = [];
    let garbageBlocksRemoved = 0;
    const deletedCleaned: string[] = [];
    let datasets = 0;
    let next = 0;
    const confirming: ToConfirm[] = [];
    await faultPoint('worker-checking', ctx.slot);
    const lane = async (): Promise<void> => {
      while (next < units.length) {
        const unit = units[next++];
        if (unit.kind === 'dataset') {
          datasets++;
          const collectOlder = plan.repair && !this.writersAhead.isAhead(unit.record.fileId, unit.record.sequence);
          const options = { repair: plan.repair, collectOlder, beingRead: this.isRead(unit.record.name), lostSlots: this.lostSlots };
          const ref = this.refOf(ctx, unit.record, unit.datasetIndex);
          const result = await checkDataset(ctx, ref, options, this.listings);
          let health = files.get(unit.record.fileId);
          if (!health) files.set(unit.record.fileId, (health = emptyHealth(unit.record)));
          foldCheckResult(health, result);
          if (result.toConfirm) confirming.push(toConfirm(ref, result.repaired));
          this.progress.add(1, datasetExtent(unit.record, unit.datasetIndex).dataBytes);
        } else if (unit.kind === 'version') {
          versionReports.push(await resolveVersion(ctx, this.versionPlan(ctx), plan.uncommitted[unit.index], this.listings));
        } else if (unit.kind === 'sweep') {
          if (plan.repair && !this.writersAhead.isAhead(unit.record.fileId, unit.record.sequence)) garbageBlocksRemoved += await this.sweep(ctx, unit.record);
        } else if (plan.repair && !this.writersAhead.isAhead(plan.deleted[unit.index].fileId, plan.deleted[unit.index].sequence)) {
          // (A deleted file a live writer is writing again keeps its blocks and its tombstone this time.)
          const gone = plan.deleted[unit.index];
          let everywhere = true;
          for (const slot of plan.poolSlots) {
            const target = ctx.storeOf(slot);
            if (!target.writable) {
              everywhere = false;
              continue;
            }
            garbageBlocksRemoved += await target.store.removeFileBlocks(gone.fileId, gone.sequence, 'older').catch(() => {
              everywhere = false;
              return 0;
            });
          }
          if (everywhere) deletedCleaned.push(gone.fileId);
        }
      }
    };
    await Promise.all(Array.from({ length: CHECKS_IN_FLIGHT }, lane));
    this.progress.flush();
    for (const failure of await ctx.flush()) this.storeFaults.push(`store ${failure.slot}: repairs could not be made durable: ${failure.reason}`);
    return {
      slot: ctx.slot, datasets, versions: versionReports.length, files: [...files.values()], versionReports,
      garbageBlocksRemoved, deletedCleaned, toConfirm: confirming, storeFaults: [...this.storeFaults], elapsedMs: Date.now() - started,
    };
  }

  /** Removes, on every store, block files of the file that no reader could ever ask that store for. */
  private async sweep(ctx: WorkerContext, record: PlannedFile): Promise<number> {
    const plan = this.requirePlan();
    const placements = Array.from({ length: record.datasetCount }, (_, d) => placeDataset(record.fileId, d, plan.poolSlots, record.k + record.m));
    let removed = 0;
    for (const slot of plan.poolSlots) {
      const target = ctx.storeOf(slot);
      if (!target.writable) continue;
      const placedHere = placements.map((placement) => placement.indexOf(slot));
      removed += await target.store.sweepMisplacedBlocks(record.fileId, record.sequence, placedHere).catch(() => 0);
    }
    return removed;
  }

  /** The plan as deciding unfinished versions needs it, with its lists made lookups once. */
  private versionPlan(ctx: WorkerContext): VersionPlan {
    if (!this.versionLookups) {
      const plan = this.requirePlan();
      const live = new Set(plan.liveVersions);
      const newest = new Map(plan.newestByName);
      this.versionLookups = {
        poolSlots: plan.poolSlots, repair: plan.repair,
        isLive: (fileId, sequence) => live.has(`${fileId}@${sequence}`),
        isWriterAhead: (fileId, sequence) => this.writersAhead.isAhead(fileId, sequence),
        newestSequenceOf: async (name) => {
          const planned = newest.get(name);
          if (planned !== undefined) return planned < 0n ? undefined : planned;
          return (await newestCommittedRecord(ctx, name)).newest?.sequence;
        },
        isRead: (name) => this.isRead(name),
      };
    }
    return this.versionLookups;
  }

  private refOf(ctx: WorkerContext, record: PlannedFile, datasetIndex: number): DatasetRef {
    const plan = this.requirePlan();
    return makeDatasetRef(ctx.poolId, record, datasetIndex, plan.poolSlots, this.filesToList !== undefined && !this.filesToList.has(record.fileId));
  }
}
