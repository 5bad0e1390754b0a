#!/usr/bin/env bun
import '../dist/cli.js'
