#!/usr/bin/env node
// Launcher: the bundle in dist/ when fresh, else the TypeScript sources through tsx (bin/launch.js).
import { launch } from './launch.js';
await launch('tendctl');
