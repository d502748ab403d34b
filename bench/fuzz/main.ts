// npm run fuzz: the mutation fuzzer (see options.ts for what it does, or `npm run fuzz -- --help`).
import { parseFuzzOptions, USAGE, UsageError } from './options'
import { runFuzz, summaryText } from './run'

function print (line: string): void {
  process.stdout.write(`${line}\n`)
}

async function main (): Promise<number> {
  let options
  try {
    options = parseFuzzOptions(process.argv.slice(2))
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`fuzz: ${error.message}\n${USAGE}\n`)
    return 2
  }
  if (options === 'help') {
    print(USAGE)
    return 0
  }
  const summary = await runFuzz(options, print)
  print(summaryText(summary))
  return summary.findings.length === 0 ? 0 : 1
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`fuzz: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
