#!/usr/bin/env -S deno run --allow-net --allow-env --allow-read --allow-write --unstable-no-legacy-abort
import '../dist/cli.js'
