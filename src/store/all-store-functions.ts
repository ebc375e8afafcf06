/**
 * Loads every module that registers store functions (store-router.ts), so a process that serves
 * store calls for others (the coordinator, a remote worker) knows all of them by name.
 */
import './block-files.js';
import './catalog-files.js';
import './durable-file.js';
import './epoch-files.js';
import './store-metadata.js';
import './store-probe.js';
import './writer-intents.js';
import './block-housekeeping.js';
import './store-scan.js';
