#!/usr/bin/env node
'use strict'
// The roost command is built from lib/cli.ts into dist/cli.js by `npm run build`.
require('../dist/cli.js').main(process.argv.slice(2))
