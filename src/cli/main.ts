import v8 from 'node:v8';
import { Command, CommanderError } from 'commander';
import { closeRemoteStores, installCoordinatorRouting } from '../cluster/remote-stores.js';
import { HEAP_GROWING_FLAG } from '../cluster/worker-channel.js';
import { ExitCode } from './exit-codes.js';
import { EXIT_CODE_HELP } from './command-runner.js';
import { installInterruptHandlers, noteRunningCommand } from './interruption.js';
import { registerCheck } from './commands/check.js';
import { registerCompact } from './commands/compact.js';
import { registerDemo } from './commands/demo.js';
import { registerDiff } from './commands/diff.js';
import { registerGet } from './commands/get.js';
import { registerInit } from './commands/init.js';
import { registerPools } from './commands/pools.js';
import { registerLs } from './commands/ls.js';
import { registerPut } from './commands/put.js';
import { registerRebuild } from './commands/rebuild.js';
import { registerRm } from './commands/rm.js';
import { registerStatus } from './commands/status.js';
import { registerSync } from './commands/sync.js';
import { registerVerify } from './commands/verify.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('rain')
    .description('erasure-coded pools over plain directories: up to m stores may vanish and every file still reads back')
    .version(VERSION)
    // commander's own parse errors follow the house rule too: one line, "rain: ...", exit 64.
    .configureOutput({
      outputError: (text, write) => {
        const message = `${text.trim().replace(/^error: /, '')} (see 'rain --help')`;
        write(`rain: ${message}\n`);
        // --json promises one document on stdout, even when the command line itself is wrong.
        if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ ok: false, exitCode: ExitCode.usage, error: message }, null, 2)}\n`);
      },
    })
    .addHelpText('after', EXIT_CODE_HELP)
    .hook('preAction', (_program, command) => noteRunningCommand(command.name(), command.opts().recursive === true))
    .exitOverride();
  registerInit(program);
  registerPut(program);
  registerGet(program);
  registerSync(program);
  registerDiff(program);
  registerLs(program);
  registerRm(program);
  registerStatus(program);
  registerVerify(program);
  registerCheck(program);
  registerCompact(program);
  registerRebuild(program);
  registerPools(program);
  registerDemo(program);
  for (const command of program.commands) command.exitOverride().addHelpText('after', EXIT_CODE_HELP);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A reader that closes the pipe early (rain get x | head) ends the command quietly with 74:
  // the output is incomplete, which is an operational failure, never a statement about the data.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(ExitCode.ioFailure);
    throw error;
  });
  // Before any large allocation (why: worker-channel.ts). Workers get it on their command line.
  v8.setFlagsFromString(HEAP_GROWING_FLAG);
  installCoordinatorRouting();
  installInterruptHandlers();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; every other parse failure is a usage error (64).
      const benign = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help';
      process.exitCode = benign ? ExitCode.ok : ExitCode.usage;
      return;
    }
    throw error;
  } finally {
    await closeRemoteStores();
  }
}
