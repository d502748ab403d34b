// Entry point of `roost pub`, `roost sub` and `roost rr`: runs the tool on the process's streams
// and sets its exit code. Output is flushed before the process ends, so a pipe gets every byte.
import type { ToolStreams } from './connect'
import { runPub } from './pub'
import { runRr } from './rr'
import { runSub } from './sub'

const TOOLS: Record<string, (argv: readonly string[], streams: ToolStreams) => Promise<number>> = { pub: runPub, sub: runSub, rr: runRr }

/** True when `name` is one of the client tools. */
export function isClientTool (name: string | undefined): boolean {
  return name !== undefined && Object.hasOwn(TOOLS, name)
}

export function clientToolMain (name: string, argv: readonly string[]): void {
  const run = TOOLS[name]
  if (run === undefined) return
  // A closed stdout (`roost sub | head -1`) ends the tool through its own write check, not a crash.
  process.stdout.on('error', () => {})
  run(argv, process).then((code) => {
    process.exitCode = code
    // stdin held open by nobody's reading (pub -m from a terminal) must not keep the process up.
    process.stdin.unref?.()
    process.stdout.write('', () => process.exit(code))
  }, (error: unknown) => {
    process.stderr.write(`roost ${name}: unexpected error: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
    process.exit(1)
  })
}
