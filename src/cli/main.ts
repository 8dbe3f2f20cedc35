#!/usr/bin/env node
/**
 * The `rtcmesh` command: `rtcmesh --help` lists the commands and exit codes.
 * @module
 */
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2));
