#!/usr/bin/env node
// Launcher: runs the TypeScript entry point through tsx, so that tend needs no build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/tendctl.ts');
