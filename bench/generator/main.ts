// The load generator's process: runs one scenario per request from the bench runner (IPC) and
// answers with what it measured. Kept apart from the brokers so neither steals the other's CPU
// time from the figures.
import { type Job, runScenario } from './scenarios'

process.on('message', (job: Job) => {
  runScenario(job).then(
    (result) => process.send?.({ ok: true, result }),
    (error: unknown) => process.send?.({ ok: false, error: error instanceof Error ? error.message : String(error) })
  )
})
process.on('disconnect', () => process.exit(0))
