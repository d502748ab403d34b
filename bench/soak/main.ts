// npm run soak: the broker (the built roost command) under mixed load for a set time, bounded by
// duration and counts, checking that no acknowledged message is lost or duplicated and that
// memory, fds and the log stay bounded. Exits 0 when the run passed, 1 when it failed, 2 on a
// bad command line. `npm run soak -- --help` lists the options.
import { writeFileSync } from 'node:fs'
import { parseSoakOptions, USAGE, UsageError } from './options'
import { summaryText } from './report'
import { runSoak } from './run'

function print (line: string): void {
  process.stdout.write(`${line}\n`)
}

async function main (): Promise<number> {
  let options
  try {
    options = parseSoakOptions(process.argv.slice(2), process.env)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`soak: ${error.message}\n${USAGE}\n`)
    return 2
  }
  if (options === 'help') {
    print(USAGE)
    return 0
  }
  // A stray rejection in one client's step must not end the whole run; it is shown, not hidden.
  process.on('unhandledRejection', (reason) => print(`soak: unhandled rejection in the load generator: ${String(reason)}`))
  const summary = await runSoak(options, print)
  print(summaryText(summary))
  if (options.jsonFile !== '') writeFileSync(options.jsonFile, JSON.stringify(summary, null, 2) + '\n')
  return summary.passed ? 0 : 1
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`soak: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
