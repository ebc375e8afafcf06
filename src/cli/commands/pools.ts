import type { Command } from 'commander';
import { forgetPool, registeredPoolsHealth, registryPath, renamePool } from '../../ops/registered-pools.js';
import { ExitCode } from '../exit-codes.js';
import { runCommand, withCommonOptions } from '../command-runner.js';
import type { Output } from '../output.js';

type Flags = { json?: boolean; quiet?: boolean };

export function registerPools(program: Command): void {
  const pools = withCommonOptions(program.command('pools')
    .description('list the registered pools (this user\'s registry) with their stores and health; rename or forget one'), false)
    .action(async (flags: Flags) => {
      await runCommand(flags, async (out) => {
        const list = await registeredPoolsHealth();
        out.document({ ok: true, registry: registryPath(), pools: list, exitCode: ExitCode.ok });
        if (list.length === 0) {
          out.line(`no pools registered (${registryPath()}); 'rain init --name NAME' registers one`);
          return ExitCode.ok;
        }
        const rows: string[][] = [];
        for (const pool of list) {
          const geometry = pool.k === undefined ? '-' : `${pool.k}+${pool.m}`;
          for (const store of pool.stores) {
            rows.push([pool.name, pool.poolId.slice(0, 8), geometry, pool.health, String(store.slot), store.state, store.path, store.detail ?? '']);
          }
          if (pool.stores.length === 0) rows.push([pool.name, pool.poolId.slice(0, 8), geometry, pool.health, '-', '-', '-', '']);
        }
        printColumns(out, ['name', 'pool', 'k+m', 'health', 'slot', 'state', 'path', 'detail'], rows);
        for (const pool of list.filter((p) => p.detail)) out.line(`${pool.name}: ${pool.detail}`);
        // Listing is not a health check: a pool that is down is shown, and `rain status -p NAME` judges it.
        return ExitCode.ok;
      });
    });

  withCommonOptions(pools.command('rename')
    .description('give a registered pool another name (the registry entry only; the stores\' manifests take it at the next check)')
    .argument('<OLD>', 'the registered name')
    .argument('<NEW>', 'the new name (must not be in use)'), false)
    .action(async (oldName: string, newName: string, _flags: Flags, command: Command) => {
      // `rain pools rename A B --json`: commander hands --json to `pools`, so it is read from both.
      await runCommand(command.optsWithGlobals<Flags>(), async (out) => {
        const entry = await renamePool(oldName, newName);
        out.document({ ok: true, renamed: { from: oldName, to: newName, poolId: entry.poolId }, exitCode: ExitCode.ok });
        out.line(`renamed pool ${oldName} to ${newName} (${entry.poolId.slice(0, 8)}); use -p ${newName}`);
        return ExitCode.ok;
      });
    });

  withCommonOptions(pools.command('forget')
    .description('remove a pool from the registry; its stores and data are not touched')
    .argument('<NAME>', 'the registered name'), false)
    .action(async (name: string, _flags: Flags, command: Command) => {
      await runCommand(command.optsWithGlobals<Flags>(), async (out) => {
        const entry = await forgetPool(name);
        out.document({ ok: true, forgotten: { name, poolId: entry.poolId, storePaths: entry.storePaths }, exitCode: ExitCode.ok });
        out.line(`forgot pool ${name} (${entry.poolId.slice(0, 8)}): only the registry entry is removed, its stores are untouched (${entry.storePaths.join(', ')}); -p ${entry.storePaths[0] ?? 'STORE_DIR'} still opens it`);
        return ExitCode.ok;
      });
    });
}

/** Whitespace-aligned columns, no box characters: the same on a terminal, in a pipe and in cron mail. */
function printColumns(out: Output, head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const format = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  out.line(out.color.bold(format(head)));
  for (const row of rows) out.line(format(row));
}
